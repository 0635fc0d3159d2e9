import CLoomShims
import Glibc
import Synchronization

/// A 32-bit atomic word at a stable heap address, so the kernel's futex can sleep on it.
///
/// `Atomic` itself has no address Swift lets us take; this owns a heap cell holding one, whose
/// layout is exactly a `UInt32`, and hands that address to `futex(2)`.
@usableFromInline
struct FutexWord: ~Copyable {
    @usableFromInline let cell: UnsafeMutablePointer<Atomic<UInt32>>

    @usableFromInline
    init(_ value: UInt32 = 0) {
        cell = .allocate(capacity: 1)
        cell.initialize(to: Atomic(value))
    }

    deinit {
        cell.deinitialize(count: 1)
        cell.deallocate()
    }

    /// Sleeps while the word equals `expected`, at most until `deadline` (`nil`: forever).
    /// Returns `false` only when the deadline has passed. Wake-ups may be spurious: callers loop.
    func wait(expected: UInt32, deadline: Deadline?) -> Bool {
        let address = UnsafeMutableRawPointer(cell).assumingMemoryBound(to: UInt32.self)
        guard let deadline else {
            _ = cloom_futex_wait(address, expected, nil)
            return true
        }
        if deadline.hasPassed { return false }
        var ts = deadline.absoluteTimespec
        if cloom_futex_wait(address, expected, &ts) == -1 {
            // EINVAL means the kernel rejected the deadline: reporting a wake-up instead would
            // send the caller round its loop again at once, spinning.
            let error = cloom_errno()
            if error == ETIMEDOUT || error == EINVAL { return false }
        }
        return true
    }

    /// Wakes up to `count` threads sleeping on the word.
    @usableFromInline
    func wake(_ count: Int32 = 1) {
        let address = UnsafeMutableRawPointer(cell).assumingMemoryBound(to: UInt32.self)
        _ = cloom_futex_wake(address, count)
    }
}

/// How many times a waiter re-checks before going to sleep: a sleep costs two system calls and a
/// context switch, while the thread it waits for is often about to finish on another core.
let spinLimit = 200

/// The mutex under `Lock` and every internal structure: Drepper's three-state futex mutex
/// ("Futexes Are Tricky", mutex 2). 0 unlocked, 1 locked, 2 locked with possible sleepers.
/// The uncontended path is one compare-exchange to lock and one exchange to unlock, inlined
/// into the caller.
@usableFromInline
struct FutexMutex: ~Copyable {
    @usableFromInline let word = FutexWord(0)

    @usableFromInline
    init() {}

    @inlinable @inline(__always)
    func tryLock() -> Bool {
        word.cell.pointee.compareExchange(expected: 0, desired: 1, successOrdering: .acquiring, failureOrdering: .relaxed).exchanged
    }

    @inlinable @inline(__always)
    func lock() {
        if !tryLock() { lockSlowForever() }
    }

    /// Locks, or gives up at `deadline` and returns `false`, leaving the mutex as it was.
    @inline(__always)
    func lock(deadline: Deadline?) -> Bool {
        tryLock() || lockSlow(deadline: deadline)
    }

    @usableFromInline @inline(never)
    func lockSlowForever() {
        _ = lockSlow(deadline: nil)
    }

    func lockSlow(deadline: Deadline?) -> Bool {
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
    func unlock() -> Bool {
        let old = word.cell.pointee.exchange(0, ordering: .releasing)
        if old == 2 { word.wake(1) }
        return old != 0
    }

    @inlinable
    var isLocked: Bool { word.cell.pointee.load(ordering: .relaxed) != 0 }

    @inlinable @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// One waiting thread's wake-up flag: a sleeper parks on it, a notifier sets it once.
/// 0 waiting (still spinning), 1 notified, 2 asleep in the kernel: a notifier only makes the
/// wake-up system call when the waiter has really gone to sleep.
final class Parker: @unchecked Sendable {
    // @unchecked Sendable: the only state is the atomic futex word.
    let word = FutexWord(0)

    /// Sleeps until notified or until `deadline`. Returns whether it was notified.
    func park(deadline: Deadline?) -> Bool {
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

    var isNotified: Bool { word.cell.pointee.load(ordering: .acquiring) == 1 }

    /// Makes the parker reusable; only once no notifier can still reach it.
    func reset() { word.cell.pointee.store(0, ordering: .relaxed) }

    func unpark() {
        if word.cell.pointee.exchange(1, ordering: .acquiringAndReleasing) == 2 {
            word.wake(1)
        }
    }
}

/// A FIFO list of parked threads: the waiting half of a condition variable. Its owner guards it
/// with a mutex; every method must be called with that mutex held. Notifications are not
/// remembered and wake-ups are never spurious, as in Python's `Condition`.
final class WaitList: @unchecked Sendable {
    // @unchecked Sendable: every access happens under the owner's mutex (documented contract).
    private var waiters: [Parker] = []
    private var head = 0
    /// Parkers whose wait is over, reused so a wait allocates nothing in the steady state.
    private var spare: [Parker] = []

    var count: Int { waiters.count - head }

    /// Enqueues the caller, runs `unlock` (which releases the owner's lock), parks, runs `relock`,
    /// and returns whether the caller was notified before `deadline`.
    func wait(deadline: Deadline?, unlock: () -> Void, relock: () -> Void) -> Bool {
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
    func wait(releasing mutex: borrowing FutexMutex, deadline: Deadline?) -> Bool {
        wait(deadline: deadline, unlock: { mutex.unlock() }, relock: { mutex.lock() })
    }

    /// Wakes up to `n` waiters, oldest first.
    func notify(_ n: Int = 1) {
        var left = n
        while left > 0, head < waiters.count {
            let parker = waiters[head]
            head += 1
            parker.unpark()
            left -= 1
        }
        compact()
    }

    func notifyAll() { notify(count) }

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
