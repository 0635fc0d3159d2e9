import CLoomShims
import Glibc
import Synchronization

/// A FIFO list of parked threads: the waiting half of a condition variable. Its owner guards it
/// with a mutex; every method must be called with that mutex held. Notifications are not
/// remembered and wake-ups are never spurious, as in Python's `Condition`.
package final class WaitList: @unchecked Sendable {
    // @unchecked Sendable: every access happens under the owner's mutex (documented contract).
    private var waiters: [Parker] = []
    private var head = 0
    /// Parkers whose wait is over, reused so a wait allocates nothing in the steady state.
    private var spare: [Parker] = []

    package init() {}

    package var count: Int { waiters.count - head }

    /// Enqueues the caller, runs `unlock` (which releases the owner's lock), parks, runs `relock`,
    /// and returns whether the caller was notified before `deadline`.
    package func wait(deadline: Deadline?, unlock: () -> Void, relock: () -> Void) -> Bool {
        let parker = spare.popLast() ?? Parker()
        waiters.append(parker)
        unlock()
        _ = parker.park(deadline: deadline)
        relock()
        // Back under the lock: any notifier that picked this parker has finished with it.
        let notified = parker.isNotified
        if !notified { remove(parker) }
        if spare.count < 8 {
            parker.reset()
            spare.append(parker)
        }
        return notified
    }

    /// `wait` for an internal `FutexMutex` owner.
    package func wait(releasing mutex: borrowing FutexMutex, deadline: Deadline?) -> Bool {
        wait(deadline: deadline, unlock: { mutex.unlock() }, relock: { mutex.lock() })
    }

    /// Wakes up to `n` waiters, oldest first.
    package func notify(_ n: Int = 1) {
        var left = n
        while left > 0, head < waiters.count {
            let parker = waiters[head]
            head += 1
            parker.unpark()
            left -= 1
        }
        compact()
    }

    package func notifyAll() { notify(count) }

    private func remove(_ parker: Parker) {
        if let index = waiters[head...].firstIndex(where: { $0 === parker }) {
            waiters.remove(at: index)
        }
    }

    private func compact() {
        if head == waiters.count {
            waiters.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 32, head * 2 > waiters.count {
            waiters.removeFirst(head)
            head = 0
        }
    }
}
