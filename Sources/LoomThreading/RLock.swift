import LoomSystem
import Glibc
import Synchronization

/// A reentrant lock: Python's `threading.RLock`.
///
/// The thread that acquires it owns it and may acquire it again; it is free once the owner has
/// released it as many times as it acquired it. Only the owner may release it: a release by any
/// other thread throws ``ThreadingError/releaseUnacquired`` (Foundation's `NSRecursiveLock`
/// silently lets it through).
///
/// ```swift
/// let lock = RLock()
/// lock.withLock { lock.withLock { num += 1 } }
/// ```
public final class RLock: @unchecked Sendable {
    // @unchecked Sendable: `owner` is atomic; `count` is only touched by the owning thread,
    // ordered by the mutex's acquire/release.
    @usableFromInline let mutex = FutexMutex()
    @usableFromInline let owner = Atomic<UInt>(0)
    @usableFromInline var count = 0

    /// A new, unowned lock.
    public init() {}

    /// Blocks until the calling thread owns the lock (at once if it already does).
    @inlinable
    public func acquire() {
        let me = UInt(pthread_self())
        if owner.load(ordering: .relaxed) == me {
            count += 1
            return
        }
        mutex.lock()
        owner.store(me, ordering: .relaxed)
        count = 1
    }

    /// Acquires the lock: at once if the caller owns it; otherwise as ``Lock/acquire(blocking:timeout:)``.
    ///
    /// - Throws: ``ThreadingError/timeoutOnNonBlocking``, ``ThreadingError/negativeTimeout``.
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        let deadline = try validatedDeadline(blocking: blocking, timeout: timeout)
        let me = UInt(pthread_self())
        if owner.load(ordering: .relaxed) == me {
            count += 1
            return true
        }
        guard blocking ? mutex.lock(deadline: deadline) : mutex.tryLock() else { return false }
        owner.store(me, ordering: .relaxed)
        count = 1
        return true
    }

    /// Releases one level; the lock is free once every acquire has been released.
    ///
    /// - Throws: ``ThreadingError/releaseUnacquired`` if the caller does not own the lock.
    @inlinable
    public func release() throws(ThreadingError) {
        guard owner.load(ordering: .relaxed) == UInt(pthread_self()) else { throw .releaseUnacquired }
        count -= 1
        if count == 0 {
            owner.store(0, ordering: .relaxed)
            mutex.unlock()
        }
    }

    /// Whether some thread owns the lock right now (a snapshot; Python 3.14's `locked()`).
    @inlinable
    public var locked: Bool { mutex.isLocked }

    /// Runs `body` owning the lock, releasing one level however `body` ends.
    @inlinable
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer {
            count -= 1
            if count == 0 {
                owner.store(0, ordering: .relaxed)
                mutex.unlock()
            }
        }
        return try body()
    }

    /// Whether the calling thread owns the lock.
    var isOwnedByCurrentThread: Bool { owner.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// How many times the calling thread holds the lock (0 if it does not own it).
    var recursionCount: Int { isOwnedByCurrentThread ? count : 0 }

    /// Releases every level at once (for `Condition.wait`) and returns the depth to restore.
    func releaseAll() -> Int {
        let depth = count
        count = 0
        owner.store(0, ordering: .relaxed)
        mutex.unlock()
        return depth
    }

    /// Re-acquires after `releaseAll()`, restoring the depth.
    func reacquire(depth: Int) {
        mutex.lock()
        owner.store(UInt(pthread_self()), ordering: .relaxed)
        count = depth
    }
}
