import LoomSystem
import Synchronization

/// A counting semaphore: Python's `threading.Semaphore`.
///
/// `acquire()` takes one unit, blocking while the value is zero; `release(n)` adds `n` and wakes
/// up to `n` waiters. The value may grow past its initial value; use ``BoundedSemaphore`` to
/// catch over-release. Freeing a semaphore, whatever its value, is always safe
/// (unlike `DispatchSemaphore`).
///
/// ```swift
/// let slots = try Semaphore(3)
/// slots.acquire(); defer { try? slots.release() }
/// ```
public class Semaphore: @unchecked Sendable {
    // @unchecked Sendable: the value lives in an atomic futex word; `sleepers` is atomic; `bound`
    // is immutable.
    private let word: FutexWord
    private let sleepers = Atomic<Int>(0)
    let bound: Int?

    /// A semaphore with `value` units.
    ///
    /// - Throws: ``ThreadingError/invalidArgument(_:)`` if `value` is negative.
    public convenience init(_ value: Int = 1) throws(ThreadingError) {
        try self.init(value: value, bound: nil)
    }

    init(value: Int, bound: Int?) throws(ThreadingError) {
        guard value >= 0 else { throw .invalidArgument("semaphore initial value must be >= 0") }
        guard value <= Int(UInt32.max >> 1) else { throw .invalidArgument("semaphore initial value is too large") }
        word = FutexWord(UInt32(value))
        self.bound = bound
    }

    /// The current value (a snapshot).
    public var value: Int { Int(word.cell.pointee.load(ordering: .relaxed)) }

    private func tryDecrement() -> Bool {
        var current = word.cell.pointee.load(ordering: .relaxed)
        while current > 0 {
            let (exchanged, original) = word.cell.pointee.compareExchange(
                expected: current, desired: current - 1, successOrdering: .acquiring, failureOrdering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Blocks until a unit is available and takes it.
    public func acquire() {
        _ = acquire(deadline: nil)
    }

    /// Takes a unit: blocking forever (`timeout: nil`), for at most `timeout` in total, or only
    /// if one is available now (`blocking: false`). A zero or negative timeout just polls.
    /// Returns whether a unit was taken.
    ///
    /// - Throws: ``ThreadingError/timeoutOnNonBlocking`` for `blocking: false` with a timeout.
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        if !blocking {
            if timeout != nil { throw .timeoutOnNonBlocking }
            return tryDecrement()
        }
        return acquire(deadline: Deadline.after(timeout))
    }

    private func acquire(deadline: Deadline?) -> Bool {
        for _ in 0..<spinLimit {
            if word.cell.pointee.load(ordering: .relaxed) > 0, tryDecrement() { return true }
        }
        // Announce the sleeper before re-checking, and the releaser adds before reading
        // `sleepers` (both sequentially consistent), so a release is never missed.
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
        while true {
            if tryDecrement() { return true }
            if let deadline, deadline.hasPassed { return false }
            _ = word.wait(expected: 0, deadline: deadline)
        }
    }

    /// Adds `n` units, waking up to `n` waiters.
    ///
    /// - Throws: ``ThreadingError/invalidArgument(_:)`` if `n < 1`;
    ///   ``ThreadingError/semaphoreReleasedTooManyTimes`` for a ``BoundedSemaphore`` whose value
    ///   would exceed its initial value (the value is then unchanged).
    public func release(_ n: Int = 1) throws(ThreadingError) {
        guard n >= 1 else { throw .invalidArgument("n must be one or more") }
        let limit = UInt32(clamping: bound ?? Int(UInt32.max >> 1))
        var current = word.cell.pointee.load(ordering: .relaxed)
        while true {
            let (sum, overflow) = current.addingReportingOverflow(UInt32(clamping: n))
            if overflow || sum > limit {
                if bound != nil { throw .semaphoreReleasedTooManyTimes }
                throw .invalidArgument("semaphore value would overflow")
            }
            let (exchanged, original) = word.cell.pointee.compareExchange(
                expected: current, desired: sum, ordering: .sequentiallyConsistent)
            if exchanged { break }
            current = original
        }
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            word.wake(Int32(clamping: n))
        }
    }

    /// Runs `body` holding one unit.
    public func withAcquired<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer { try? release() }
        return try body()
    }
}

/// A semaphore that refuses to be released above its initial value: Python's
/// `threading.BoundedSemaphore`. Over-release throws
/// ``ThreadingError/semaphoreReleasedTooManyTimes`` ("Semaphore released too many times").
///
/// ```swift
/// let pool = try BoundedSemaphore(5)
/// try pool.withAcquired { useConnection() }
/// ```
public final class BoundedSemaphore: Semaphore, @unchecked Sendable {
    // @unchecked Sendable: adds no state to `Semaphore`.

    /// A bounded semaphore with `value` units, which is also its upper bound.
    ///
    /// - Throws: ``ThreadingError/invalidArgument(_:)`` if `value` is negative.
    public init(_ value: Int = 1) throws(ThreadingError) {
        try super.init(value: value, bound: value)
    }

    /// The initial value, which the value may never exceed.
    public var initialValue: Int { bound ?? 0 }
}
