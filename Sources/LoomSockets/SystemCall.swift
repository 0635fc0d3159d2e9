#if canImport(Glibc)
import Glibc
#endif

/// The one place where Loom's socket layer calls the kernel and reads `errno`.
///
/// Retries `EINTR` (PEP 475), so no caller ever sees it, and turns every other failure into a
/// ``SocketError`` naming `operation`. Blocking calls with a deadline go through ``waitUntilReady``,
/// which recomputes the remaining time after each interruption.
@inline(__always)
func systemCall<Result: FixedWidthInteger>(
    _ operation: @autoclosure () -> String,
    address: SocketAddress? = nil,
    _ body: () -> Result
) throws(SocketError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SocketError(operation(), errno: code, address: address)
    }
}

/// Like ``systemCall(_:address:_:)`` but reports `EAGAIN` as `nil` instead of throwing, for the
/// callers that wait for readiness and try again.
@inline(__always)
func systemCallOrWouldBlock<Result: FixedWidthInteger>(
    _ operation: @autoclosure () -> String,
    address: SocketAddress? = nil,
    _ body: () -> Result
) throws(SocketError) -> Result? {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return nil }
        throw SocketError(operation(), errno: code, address: address)
    }
}

/// A point on the monotonic clock by which a socket call must finish.
struct Deadline {
    let instant: ContinuousClock.Instant

    init(after duration: Duration) {
        instant = ContinuousClock.now.advanced(by: duration)
    }

    /// Whole milliseconds left for `poll`, rounded up so a wait never ends before the deadline.
    var remainingMilliseconds: Int32 {
        let left = ContinuousClock.now.duration(to: instant)
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }

    var hasPassed: Bool { ContinuousClock.now >= instant }
}

/// Waits with `poll` until `fd` is ready for `events` or the deadline passes.
/// Returns false on timeout; `EINTR` shortens nothing, since the remaining time is recomputed.
func waitUntilReady(
    _ fd: Int32, events: Int16, deadline: Deadline?, operation: @autoclosure () -> String
) throws(SocketError) -> Bool {
    while true {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        let timeout: Int32
        if let deadline {
            timeout = deadline.remainingMilliseconds
            if timeout == 0 && deadline.hasPassed { return false }
        } else {
            timeout = -1
        }
        let result = poll(&pfd, 1, timeout)
        if result > 0 {
            if pfd.revents & Int16(POLLNVAL) != 0 {
                throw SocketError(operation(), errno: EBADF)
            }
            return true
        }
        if result == 0 {
            // poll may wake a hair early on coarse clocks; loop until the deadline truly passed.
            if let deadline, !deadline.hasPassed { continue }
            return false
        }
        let code = errno
        if code == EINTR { continue }
        throw SocketError(operation(), errno: code)
    }
}
