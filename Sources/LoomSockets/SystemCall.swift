#if canImport(Glibc)
import Glibc
#endif
import LoomSystem

// The socket layer's side of Loom's one system-call path (LoomSystem's `systemCall`, which retries
// EINTR and holds the fault-injection seam): the same calls, their errno turned into ``SocketError``.

/// One system call on `fd`; a failure throws ``SocketError`` naming `operation` (by default the call).
@inline(__always)
func socketCall<Result: FixedWidthInteger>(
    _ call: SystemCall, on fd: Int32 = -1, operation: @autoclosure () -> String? = nil,
    address: SocketAddress? = nil, length: Int = 0, _ body: (_ length: Int) -> Result
) throws(SocketError) -> Result {
    switch systemCall(call, on: fd, length: length, body) {
    case .success(let value): return value
    case .failure(let code): throw SocketError(operation() ?? call.rawValue, errno: code, address: address)
    }
}

/// Like ``socketCall(_:on:operation:address:length:_:)`` but reports `EAGAIN` as `nil` instead of
/// throwing, for the callers that wait for readiness and try again.
@inline(__always)
func socketCallOrWouldBlock<Result: FixedWidthInteger>(
    _ call: SystemCall, on fd: Int32, operation: @autoclosure () -> String? = nil,
    address: SocketAddress? = nil, length: Int = 0, _ body: (_ length: Int) -> Result
) throws(SocketError) -> Result? {
    switch systemCall(call, on: fd, length: length, body) {
    case .success(let value): return value
    case .failure(let code) where code == EAGAIN || code == EWOULDBLOCK: return nil
    case .failure(let code): throw SocketError(operation() ?? call.rawValue, errno: code, address: address)
    }
}

/// One non-blocking transfer as a value (the event loop's hot path): bytes, would-block, end of
/// file or the errno; never throws, never allocates.
@inline(__always)
func ioCall(_ call: SystemCall, on fd: Int32, length: Int, _ body: (_ length: Int) -> Int) -> IOResult {
    switch systemCall(call, on: fd, length: length, body) {
    case .success(let n): return n == 0 && length > 0 && (call == .recv || call == .read) ? .endOfFile : .bytes(n)
    case .failure(let code): return code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(code)
    }
}

/// Waits with `poll` until `fd` is ready for `events` or the deadline passes.
/// Returns false on timeout; `EINTR` shortens nothing, since the remaining time is recomputed.
func waitUntilReady(
    _ fd: Int32, events: Int16, deadline: Deadline?, operation: @autoclosure () -> String
) throws(SocketError) -> Bool {
    while true {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        if let deadline, deadline.hasPassed { return false }
        let ready = try socketCall(.poll, on: fd, operation: operation()) { _ in
            poll(&pfd, 1, deadline?.remainingPollMilliseconds ?? -1)
        }
        if ready > 0 {
            if pfd.revents & Int16(POLLNVAL) != 0 { throw SocketError(operation(), errno: EBADF) }
            return true
        }
        // poll may wake a hair early on coarse clocks: loop until the deadline truly passed.
    }
}

extension SocketError {
    /// The socket layer's error for a failed call of the foundation (an eventfd, a thread start…).
    package init(_ failure: SystemCallError) {
        self.init(failure.call.rawValue, errno: failure.errno)
    }
}
