import LoomSystem

/// A barrier for a fixed number of threads: Python's `threading.Barrier`.
///
/// Each of `parties` threads calls ``wait(timeout:)``; when the last one arrives, the `action`
/// (if any) runs in that thread and all are released together, each with its arrival index.
/// The barrier then fills again for the next round.
///
/// A timeout, an ``abort()``, a ``reset()`` while threads wait, or an action that throws
/// *breaks* the barrier: every waiting thread, and every later one until ``reset()``, gets a
/// ``BrokenBarrierError``.
///
/// ```swift
/// let start = try Barrier(parties: 3)
/// // in each of 3 threads:
/// let index = try start.wait()
/// ```
public final class Barrier: @unchecked Sendable {
    // @unchecked Sendable: every `var` is guarded by `mutex`; the rest is immutable.
    private enum Phase {
        case filling, draining, resetting, broken
    }

    /// How many threads must arrive to release the barrier.
    public let parties: Int
    /// The timeout `wait()` uses when given none.
    public let timeout: Duration?
    private let action: (@Sendable () throws -> Void)?
    private let mutex = FutexMutex()
    private let changed = WaitList()
    private var phase = Phase.filling
    private var count = 0

    /// A barrier for `parties` threads.
    ///
    /// - Parameters:
    ///   - parties: How many threads must call `wait()`; at least 1.
    ///   - timeout: The default timeout of `wait()`; `nil` waits forever.
    ///   - action: Run by the last thread to arrive, before any thread is released.
    /// - Throws: ``ThreadingError/invalidArgument(_:)`` if `parties < 1`.
    public init(parties: Int, timeout: Duration? = nil, action: (@Sendable () throws -> Void)? = nil) throws(ThreadingError) {
        guard parties >= 1 else { throw .invalidArgument("parties must be > 0") }
        self.parties = parties
        self.timeout = timeout
        self.action = action
    }

    /// Waits until all `parties` threads have called `wait`, for at most `timeout` (by default
    /// the barrier's). Returns the arrival index, `0..<parties`; the last to arrive gets
    /// `parties - 1` and runs the action.
    ///
    /// - Throws: ``BrokenBarrierError`` if the barrier is or becomes broken, including by this
    ///   call timing out (which breaks it for everyone). If the action throws, the thread that ran
    ///   it gets a `BrokenBarrierError` carrying that error as `actionError`.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(BrokenBarrierError) -> Int {
        let deadline = Deadline.after(timeout ?? self.timeout)
        mutex.lock()
        defer { mutex.unlock() }
        // Wait for the previous round to drain, or a reset to finish.
        while phase == .draining || phase == .resetting {
            _ = changed.wait(releasing: mutex, deadline: nil)
        }
        if phase == .broken { throw BrokenBarrierError() }
        let index = count
        count += 1
        defer {
            count -= 1
            if count == 0, phase == .draining || phase == .resetting {
                phase = .filling
                changed.notifyAll()
            }
        }
        if index + 1 == parties {
            if let action {
                do {
                    try action()
                } catch {
                    breakBarrier()
                    throw BrokenBarrierError(actionError: error)
                }
            }
            phase = .draining
            changed.notifyAll()
            return index
        }
        while phase == .filling {
            if let deadline, deadline.hasPassed {
                breakBarrier()
                throw BrokenBarrierError()
            }
            _ = changed.wait(releasing: mutex, deadline: deadline)
        }
        if phase == .broken || phase == .resetting { throw BrokenBarrierError() }
        return index
    }

    private func breakBarrier() {
        phase = .broken
        changed.notifyAll()
    }

    /// Returns the barrier to its initial state. Threads waiting on it get a
    /// ``BrokenBarrierError``; once they have left, it is usable again (also after it was broken).
    public func reset() {
        mutex.withLock {
            if count > 0 {
                if phase == .filling || phase == .broken { phase = .resetting }
                // While draining, the last thread out returns it to filling.
            } else {
                phase = .filling
            }
            changed.notifyAll()
        }
    }

    /// Breaks the barrier: current and future waiters get a ``BrokenBarrierError`` until
    /// ``reset()``.
    public func abort() {
        mutex.withLock { breakBarrier() }
    }

    /// How many threads are waiting for the barrier to fill (0 while it drains or is broken).
    public var nWaiting: Int { mutex.withLock { phase == .filling ? count : 0 } }

    /// Whether the barrier is broken.
    public var isBroken: Bool { mutex.withLock { phase == .broken } }
}
