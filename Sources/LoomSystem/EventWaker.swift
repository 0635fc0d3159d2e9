import CLoomShims
import Glibc
import Synchronization

/// Loom's one cross-thread wake-up: an `eventfd` that a selector or a `poll` watches beside its
/// sockets, so another thread can interrupt the wait at once (a shutdown, a freed connection slot,
/// work posted to an event loop).
///
/// Wake-ups coalesce: many ``wakeup()`` calls before the waiter ``drain()``s cost one `write(2)`.
/// The descriptor lives as long as the waker, so a waker that outlives its selector never writes
/// to a reused descriptor.
@usableFromInline
package final class EventWaker: Sendable {
    /// The eventfd (close-on-exec, non-blocking); readable while a wake-up is pending.
    package let fileDescriptor: Int32
    // True from the first wakeup() until drain(): later calls skip the system call.
    private let pending = Atomic<Bool>(false)

    package init() throws(SystemCallError) {
        fileDescriptor = try systemCall(.eventfd) { _ in cloom_eventfd(0) }.get(.eventfd)
    }

    deinit {
        closeDescriptor(fileDescriptor)
    }

    /// Makes the descriptor readable. Safe from any thread; never blocks (the counter saturates
    /// long before it could overflow).
    @usableFromInline
    package func wakeup() {
        if pending.exchange(true, ordering: .acquiringAndReleasing) { return }
        var one: UInt64 = 1
        _ = systemCall(.write, on: fileDescriptor) { _ in Glibc.write(fileDescriptor, &one, 8) }
    }

    /// Makes the descriptor unreadable again; the waiter calls it when it saw it readable.
    @usableFromInline
    package func drain() {
        var value: UInt64 = 0
        _ = systemCall(.read, on: fileDescriptor) { _ in Glibc.read(fileDescriptor, &value, 8) }
        // Cleared after the read: a wakeup() racing with this either finds the flag set and relies on
        // the wait that is returning now, or writes again and wakes the next one. An exchange (a
        // read-modify-write) rather than a store: a wakeup() that skipped its write because the flag
        // was set then happens-before this, so what it published before waking is visible to the waiter.
        _ = pending.exchange(false, ordering: .acquiringAndReleasing)
    }
}
