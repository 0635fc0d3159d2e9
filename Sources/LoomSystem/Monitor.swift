/// A mutex with one condition: what the servers wait on (a loop to stop, requests to drain, pool
/// work to arrive). Built on the futex family, so Thread Sanitizer sees it and a timed wait takes an
/// absolute ``Deadline`` on the monotonic clock.
package final class Monitor: @unchecked Sendable {
    // @unchecked Sendable: `waiters` is only touched with `mutex` held (WaitList's contract).
    private let mutex = FutexMutex()
    private let waiters = WaitList()

    package init() {}

    /// Runs `body` with the mutex held; ``wait()`` and ``wait(until:)`` may only be called inside.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }

    /// Releases the mutex until ``broadcast()``, then takes it again. Wake-ups are never spurious,
    /// but callers re-check their condition anyway (another thread may have changed it first).
    package func wait() {
        _ = waiters.wait(releasing: mutex, deadline: nil)
    }

    /// ``wait()`` bounded by `deadline`; returns false once the deadline has passed.
    package func wait(until deadline: Deadline) -> Bool {
        if deadline.hasPassed { return false }
        _ = waiters.wait(releasing: mutex, deadline: deadline)
        return !deadline.hasPassed
    }

    /// Wakes every waiter. Call with the mutex held.
    package func broadcast() {
        waiters.notifyAll()
    }
}
