import LoomSystem

/// A condition variable: Python's `threading.Condition`.
///
/// Threads wait on it, holding its lock, until another thread holding the lock notifies them.
/// Waiting releases the lock completely (every level of an ``RLock``) and re-acquires it before
/// returning. Waiters are woken oldest first; a notification with nobody waiting is not
/// remembered; a wait never wakes spuriously.
///
/// Every method that needs the lock checks that the *calling thread* holds it and throws
/// otherwise. Over a plain ``Lock`` that check is exact, because `Lock` records which thread
/// acquired it; Python only checks that the lock is locked by someone.
///
/// ```swift
/// let cond = Condition()
/// try cond.withLock { try cond.wait(for: { !items.isEmpty }, timeout: .seconds(1)) }
/// ```
public final class Condition: @unchecked Sendable {
    // @unchecked Sendable: `waiters` is only touched while holding `lock`, which the
    // methods check; the lock itself is Sendable.
    private enum Underlying {
        case lock(Lock)
        case rlock(RLock)
    }

    private let underlying: Underlying
    private let waiters = WaitList()

    /// A condition over a new ``RLock`` (Python's default).
    public convenience init() {
        self.init(RLock())
    }

    /// A condition over `lock`.
    public init(_ lock: Lock) {
        underlying = .lock(lock)
    }

    /// A condition over `lock`.
    public init(_ lock: RLock) {
        underlying = .rlock(lock)
    }

    /// Acquires the underlying lock, blocking.
    public func acquire() {
        switch underlying {
        case .lock(let lock): lock.acquire()
        case .rlock(let lock): lock.acquire()
        }
    }

    /// Acquires the underlying lock with Python's `acquire(blocking, timeout)` rules.
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        switch underlying {
        case .lock(let lock): try lock.acquire(blocking: blocking, timeout: timeout)
        case .rlock(let lock): try lock.acquire(blocking: blocking, timeout: timeout)
        }
    }

    /// Releases the underlying lock (its rules: an `RLock` must be owned, a `Lock` locked).
    public func release() throws(ThreadingError) {
        switch underlying {
        case .lock(let lock): try lock.release()
        case .rlock(let lock): try lock.release()
        }
    }

    /// Runs `body` holding the underlying lock.
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer { try? release() }
        return try body()
    }

    private var isOwned: Bool {
        switch underlying {
        case .lock(let lock): lock.isOwnedByCurrentThread
        case .rlock(let lock): lock.isOwnedByCurrentThread
        }
    }

    /// Releases the lock, waits until notified or until `timeout` has passed, and re-acquires
    /// the lock (to the same depth). `nil` waits forever; zero or negative just polls.
    /// Returns `true` if notified, `false` on timeout.
    ///
    /// - Throws: ``ThreadingError/waitUnacquired`` if the caller does not hold the lock.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        guard isOwned else { throw .waitUnacquired }
        return waitOwned(deadline: Deadline.after(timeout))
    }

    private func waitOwned(deadline: Deadline?) -> Bool {
        switch underlying {
        case .lock(let lock):
            return waiters.wait(deadline: deadline, unlock: { try? lock.release() }, relock: { lock.acquire() })
        case .rlock(let lock):
            var depth = 0
            return waiters.wait(deadline: deadline, unlock: { depth = lock.releaseAll() }, relock: { lock.reacquire(depth: depth) })
        }
    }

    /// Waits until `predicate` is true, re-checking it after every wake-up, for at most
    /// `timeout` in total (one overall deadline, not one per wait). Returns the predicate's last
    /// value: `false` means the timeout expired with the predicate still false.
    ///
    /// - Throws: ``ThreadingError/waitUnacquired`` if the caller does not hold the lock.
    @discardableResult
    public func wait(for predicate: () -> Bool, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        guard isOwned else { throw .waitUnacquired }
        let deadline = Deadline.after(timeout)
        var result = predicate()
        while !result {
            if let deadline, deadline.hasPassed { break }
            _ = waitOwned(deadline: deadline)
            result = predicate()
        }
        return result
    }

    /// Wakes up to `n` waiting threads, oldest first; does nothing if none waits or `n <= 0`.
    ///
    /// - Throws: ``ThreadingError/notifyUnacquired`` if the caller does not hold the lock.
    public func notify(n: Int = 1) throws(ThreadingError) {
        guard isOwned else { throw .notifyUnacquired }
        if n > 0 { waiters.notify(n) }
    }

    /// Wakes every waiting thread.
    ///
    /// - Throws: ``ThreadingError/notifyUnacquired`` if the caller does not hold the lock.
    public func notifyAll() throws(ThreadingError) {
        guard isOwned else { throw .notifyUnacquired }
        waiters.notifyAll()
    }
}
