import CLoomShims
import Glibc
import Synchronization

/// One waiting thread's wake-up flag: a sleeper parks on it, a notifier sets it once.
/// 0 waiting (still spinning), 1 notified, 2 asleep in the kernel: a notifier only makes the
/// wake-up system call when the waiter has really gone to sleep.
package final class Parker: @unchecked Sendable {
    // @unchecked Sendable: the only state is the atomic futex word.
    package let word = FutexWord(0)

    package init() {}

    /// Sleeps until notified or until `deadline`. Returns whether it was notified.
    package func park(deadline: Deadline?) -> Bool {
        for _ in 0..<spinLimit {
            if word.cell.pointee.load(ordering: .acquiring) == 1 { return true }
        }
        if !word.cell.pointee.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing).exchanged {
            return true  // notified meanwhile
        }
        while word.cell.pointee.load(ordering: .acquiring) == 2 {
            if !word.wait(expected: 2, deadline: deadline) {
                return word.cell.pointee.load(ordering: .acquiring) == 1
            }
        }
        return true
    }

    package var isNotified: Bool { word.cell.pointee.load(ordering: .acquiring) == 1 }

    /// Makes the parker reusable; only once no notifier can still reach it.
    package func reset() { word.cell.pointee.store(0, ordering: .relaxed) }

    package func unpark() {
        if word.cell.pointee.exchange(1, ordering: .acquiringAndReleasing) == 2 {
            word.wake(1)
        }
    }
}
