import CLoomShims
import Glibc
import Synchronization

/// How many times a waiter re-checks before going to sleep: a sleep costs two system calls and a
/// context switch, while the thread it waits for is often about to finish on another core.
package let spinLimit = 200

/// The mutex under `Lock` and every internal structure: Drepper's three-state futex mutex
/// ("Futexes Are Tricky", mutex 2). 0 unlocked, 1 locked, 2 locked with possible sleepers.
/// The uncontended path is one compare-exchange to lock and one exchange to unlock, inlined
/// into the caller.
@usableFromInline
package struct FutexMutex: ~Copyable {
    @usableFromInline package let word = FutexWord(0)

    @usableFromInline
    package init() {}

    @inlinable @inline(__always)
    package func tryLock() -> Bool {
        word.cell.pointee.compareExchange(expected: 0, desired: 1, successOrdering: .acquiring, failureOrdering: .relaxed).exchanged
    }

    @inlinable @inline(__always)
    package func lock() {
        if !tryLock() { lockSlowForever() }
    }

    /// Locks, or gives up at `deadline` and returns `false`, leaving the mutex as it was.
    @inline(__always)
    package func lock(deadline: Deadline?) -> Bool {
        tryLock() || lockSlow(deadline: deadline)
    }

    @usableFromInline @inline(never)
    package func lockSlowForever() {
        _ = lockSlow(deadline: nil)
    }

    package func lockSlow(deadline: Deadline?) -> Bool {
        for _ in 0..<spinLimit {
            let state = word.cell.pointee.load(ordering: .relaxed)
            if state == 0, tryLock() { return true }
            if state == 2 { break }  // others already sleep: queue up behind them
        }
        var state = word.cell.pointee.exchange(2, ordering: .acquiring)
        while state != 0 {
            if !word.wait(expected: 2, deadline: deadline) {
                // Timed out: one last try, so the deadline is honoured without losing a free lock.
                return word.cell.pointee.compareExchange(expected: 0, desired: 2, ordering: .acquiring).exchanged
            }
            state = word.cell.pointee.exchange(2, ordering: .acquiring)
        }
        return true
    }

    /// Unlocks; returns `false` (and changes nothing) if it was not locked.
    @inlinable @inline(__always)
    @discardableResult
    package func unlock() -> Bool {
        let old = word.cell.pointee.exchange(0, ordering: .releasing)
        if old == 2 { word.wake(1) }
        return old != 0
    }

    @inlinable
    package var isLocked: Bool { word.cell.pointee.load(ordering: .relaxed) != 0 }

    @inlinable @inline(__always)
    package func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
