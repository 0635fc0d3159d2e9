import LoomSystem
import Glibc
import Synchronization

/// A primitive lock: Python's `threading.Lock`.
///
/// Not reentrant (a second `acquire()` by the holder blocks), and not owned: any thread may
/// release it, as in Python. It does remember which thread acquired it last, so a ``Condition``
/// over a `Lock` checks exactly that the caller holds it (Python only checks "locked by anyone").
///
/// ```swift
/// let lock = Lock()
/// lock.withLock { counter -= 1 }
/// if try lock.acquire(timeout: .milliseconds(50)) { defer { try? lock.release() }; … }
/// ```
///
/// Built on a futex with an atomic fast path: uncontended acquire and release are one atomic
/// instruction each.
public final class Lock: @unchecked Sendable {
    // @unchecked Sendable: all state is atomic (the futex word and the last acquirer's id).
    @usableFromInline let mutex = FutexMutex()
    @usableFromInline let owner = Atomic<UInt>(0)

    /// A new, unlocked lock.
    public init() {}

    /// Blocks until the lock is acquired.
    @inlinable @inline(__always)
    public func acquire() {
        mutex.lock()
        owner.store(UInt(pthread_self()), ordering: .relaxed)
    }

    /// Acquires the lock: blocking forever (`timeout: nil`), for at most `timeout`, or only if
    /// it is free right now (`blocking: false`). Returns whether it was acquired.
    ///
    /// - Throws: ``ThreadingError/timeoutOnNonBlocking`` for `blocking: false` with a timeout,
    ///   ``ThreadingError/negativeTimeout`` for a negative timeout (Python's `ValueError`s).
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        let deadline = try validatedDeadline(blocking: blocking, timeout: timeout)
        let acquired = blocking ? mutex.lock(deadline: deadline) : mutex.tryLock()
        if acquired { owner.store(UInt(pthread_self()), ordering: .relaxed) }
        return acquired
    }

    /// Releases the lock; any thread may release it.
    ///
    /// - Throws: ``ThreadingError/releaseUnlocked`` if it is not locked.
    @inlinable @inline(__always)
    public func release() throws(ThreadingError) {
        owner.store(0, ordering: .relaxed)
        if !mutex.unlock() { throw .releaseUnlocked }
    }

    /// Whether some thread holds the lock right now (a snapshot).
    @inlinable
    public var locked: Bool { mutex.isLocked }

    /// Runs `body` holding the lock, releasing it however `body` ends.
    @inlinable @inline(__always)
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer {
            owner.store(0, ordering: .relaxed)
            mutex.unlock()
        }
        return try body()
    }

    /// Whether the calling thread acquired the lock and still holds it.
    var isOwnedByCurrentThread: Bool {
        mutex.isLocked && owner.load(ordering: .relaxed) == UInt(pthread_self())
    }
}

/// Python's argument rules for `acquire(blocking, timeout)`, shared by `Lock` and `RLock`.
func validatedDeadline(blocking: Bool, timeout: Duration?) throws(ThreadingError) -> Deadline? {
    guard let timeout else { return nil }
    if !blocking { throw .timeoutOnNonBlocking }
    if timeout < .zero { throw .negativeTimeout }
    return Deadline.after(timeout)
}
