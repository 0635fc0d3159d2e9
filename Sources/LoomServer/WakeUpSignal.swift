#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import LoomSockets

/// An `eventfd` the serve loop polls beside its socket, so `shutdown()` (or a freed connection
/// slot) wakes it at once: no polling interval, unlike Python's `serve_forever(poll_interval=0.5)`.
// @unchecked Sendable: the descriptor is written once at init; eventfd reads and writes are atomic in the kernel.
final class WakeUpSignal: @unchecked Sendable {
    let descriptor: Int32

    init() throws(ServerError) {
        let fd = cloom_eventfd(0)
        guard fd >= 0 else {
            throw ServerError.socket(SocketError("eventfd", errno: cloom_errno()))
        }
        descriptor = fd
    }

    deinit {
        _ = Glibc.close(descriptor)
    }

    /// Makes the descriptor readable. Never blocks (the counter saturates long before overflow).
    func signal() {
        var one: UInt64 = 1
        while Glibc.write(descriptor, &one, 8) < 0 && errno == EINTR {}
    }

    /// Resets the descriptor to not readable.
    func drain() {
        var value: UInt64 = 0
        while Glibc.read(descriptor, &value, 8) < 0 && errno == EINTR {}
    }
}
