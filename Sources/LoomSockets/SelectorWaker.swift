#if canImport(Glibc)
import Glibc
#endif
import LoomSystem

/// Wakes a ``Selector`` blocked in ``Selector/select(timeout:)`` from any thread.
///
/// Get it from ``Selector/waker`` and hand it to other threads; the selector itself is not
/// thread-safe (neither is Python's). Wake-ups coalesce: many calls before the selector
/// notices cost one `write(2)`. The eventfd lives as long as the waker, so a waker outliving
/// its selector never writes to a reused descriptor.
public final class SelectorWaker: Sendable {
    /// Loom's one eventfd waker (LoomSystem's `EventWaker`), which this gives a public face.
    @usableFromInline let waker: EventWaker

    var fd: Int32 { waker.fileDescriptor }

    init() throws(SocketError) {
        do throws(SystemCallError) {
            waker = try EventWaker()
        } catch {
            throw SocketError(error)
        }
    }

    /// Makes the selector's current or next ``Selector/select(timeout:)`` return (possibly with
    /// no events). Safe from any thread and from signal-free contexts; never blocks.
    public func wakeup() {
        waker.wakeup()
    }

    /// Called by the selector when the eventfd is readable.
    @usableFromInline
    func drain() {
        waker.drain()
    }
}
