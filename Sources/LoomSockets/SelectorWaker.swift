#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import Synchronization

/// Wakes a ``Selector`` blocked in ``Selector/select(timeout:)`` from any thread.
///
/// Get it from ``Selector/waker`` and hand it to other threads; the selector itself is not
/// thread-safe (neither is Python's). Wake-ups coalesce: many calls before the selector
/// notices cost one `write(2)`. The eventfd lives as long as the waker, so a waker outliving
/// its selector never writes to a reused descriptor.
public final class SelectorWaker: Sendable {
    let fd: Int32
    // True from the first wakeup() until the selector drains the eventfd: later calls skip the syscall.
    private let pending = Atomic<Bool>(false)

    init() throws(SocketError) {
        fd = try systemCall("eventfd") { cloom_eventfd(0) }
    }

    deinit {
        _ = Glibc.close(fd)
    }

    /// Makes the selector's current or next ``Selector/select(timeout:)`` return (possibly with
    /// no events). Safe from any thread and from signal-free contexts; never blocks.
    public func wakeup() {
        if pending.exchange(true, ordering: .acquiringAndReleasing) { return }
        var one: UInt64 = 1
        while Glibc.write(fd, &one, 8) < 0 && errno == EINTR {}
    }

    /// Called by the selector when the eventfd is readable.
    @usableFromInline
    func drain() {
        var value: UInt64 = 0
        while Glibc.read(fd, &value, 8) < 0 && errno == EINTR {}
        // Cleared after the read: a wakeup() racing with this either finds the flag set and relies on
        // the select that is returning now, or writes again and wakes the next one. An exchange (a
        // read-modify-write) rather than a store: a wakeup() that skipped its write because the flag
        // was set then happens-before this, so what it published before waking is visible to the loop.
        _ = pending.exchange(false, ordering: .acquiringAndReleasing)
    }
}
