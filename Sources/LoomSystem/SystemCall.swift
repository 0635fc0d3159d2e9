import CLoomShims
import Glibc

/// The system calls Loom makes: each names its call in errors and is what a test's ``FaultPlan``
/// matches on.
@usableFromInline
package enum SystemCall: String, Sendable, CaseIterable {
    case socket, socketpair, bind, listen, accept, connect, recv, recvfrom, send, sendto, shutdown, close
    case getsockopt, setsockopt, getsockname, getpeername, fcntl, poll, unlink
    case epollCreate = "epoll_create", epollCtl = "epoll_ctl", epollWait = "epoll_wait"
    case eventfd, read, write
}

/// A failed system call: which call, and its `errno`. The layers above turn it into their typed
/// error (`SocketError`, `ServerError`, `ThreadingError`).
@usableFromInline
package struct SystemCallError: Error, Sendable, Equatable {
    package let call: SystemCall
    package let errno: Int32

    @usableFromInline
    package init(_ call: SystemCall, errno: Int32) {
        self.call = call
        self.errno = errno
    }
}

/// What one system call returned once `EINTR` has been dealt with: its result, or its `errno`.
/// A value, not a thrown error, so the event loop's hot path allocates nothing when a call fails.
@usableFromInline
package enum SystemCallResult<Value: FixedWidthInteger> {
    case success(Value)
    case failure(Int32)

    /// The result, or ``SystemCallError`` naming `call`.
    @inlinable @inline(__always)
    package func get(_ call: SystemCall) throws(SystemCallError) -> Value {
        switch self {
        case .success(let value): return value
        case .failure(let code): throw SystemCallError(call, errno: code)
        }
    }
}

/// The one path by which Loom calls the kernel (sockets, epoll, eventfd, poll, close).
///
/// - Retries `EINTR` (PEP 475), so no caller ever sees it; `body` runs again, so a call whose
///   argument is a remaining time (`poll`, `epoll_wait`) recomputes it from its deadline. Calls
///   that must not be repeated after an interruption (`connect`, which goes on in the kernel, and
///   `close`, which has already released the descriptor) pass `retryingInterrupts: false` and get
///   `EINTR` back.
/// - `body` receives the byte count to transfer: `length`, or less when a test's ``FaultPlan``
///   asks for a short read or write.
/// - Consults the fault-injection seam first; in a process without a plan that costs one relaxed
///   atomic load and a branch predicted not taken.
@inlinable @inline(__always)
package func systemCall<Value: FixedWidthInteger>(
    _ call: SystemCall, on fd: Int32 = -1, length: Int = 0, retryingInterrupts: Bool = true,
    _ body: (_ length: Int) -> Value
) -> SystemCallResult<Value> {
    while true {
        var length = length
        if _slowPath(FaultInjection.isArmed) {
            switch FaultInjection.fault(for: call, on: fd) {
            case .error(let code)?:
                if code == EINTR && retryingInterrupts { continue }
                return .failure(code)
            case .transferAtMost(let most)?:
                length = min(length, max(1, most))
            case nil:
                break
            }
        }
        let result = body(length)
        if result != -1 {
            if _slowPath(FaultInjection.isArmed), call == .accept { FaultInjection.inherit(from: fd, to: Int32(truncatingIfNeeded: result)) }
            return .success(result)
        }
        let code = errno
        if code == EINTR && retryingInterrupts { continue }
        return .failure(code)
    }
}

/// Closes a descriptor through the seam. `EINTR` is not retried (Linux has released the
/// descriptor already, and a retry could close one another thread just opened).
package func closeDescriptor(_ fd: Int32) {
    if _slowPath(FaultInjection.isArmed) { FaultInjection.forget(fd) }
    _ = Glibc.close(fd)
}

/// Writes all of `buffer` to `fd` (a terminal, a pipe, a log file), through the one path; returns
/// false if the descriptor refused (closed, full disk). For the few writes that are not to sockets:
/// the command line's output and the default `excepthook`'s message.
@discardableResult
package func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < buffer.count {
        let result = systemCall(.write, on: fd, length: buffer.count - offset) { length in
            Glibc.write(fd, buffer.baseAddress! + offset, length)
        }
        guard case .success(let written) = result, written > 0 else { return false }
        offset += written
    }
    return true
}
