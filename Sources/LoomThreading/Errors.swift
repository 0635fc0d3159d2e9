/// A misuse of a thread or a synchronisation primitive, or a resource the system refused.
///
/// Each message is Python's own wording where Python has one, so a Python programmer recognises it:
/// `ThreadingError.releaseUnlocked.description == "release unlocked lock"`.
public enum ThreadingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `start()` was called on a thread that was already started (even if it has finished).
    case startedTwice
    /// `join()` was called on a thread that was never started.
    case joinBeforeStart
    /// A thread tried to join itself.
    case joinCurrentThread
    /// `join()` was called on a thread Loom did not start (see ``Thread/current``).
    case joinDummyThread
    /// `setDaemon(_:)` was called after `start()`.
    case daemonOfActiveThread
    /// `pthread_create` failed with this errno (`EAGAIN`: too many threads or not enough memory).
    case cannotStartThread(errno: Int32)
    /// A stack size below the system minimum (16 KiB on Linux), or negative.
    case invalidStackSize(Int)
    /// `Lock.release()` on a lock that is not locked.
    case releaseUnlocked
    /// `RLock.release()` (or a `Condition` over one) by a thread that does not own it.
    case releaseUnacquired
    /// `Condition.wait` by a thread that does not hold the condition's lock.
    case waitUnacquired
    /// `Condition.notify` by a thread that does not hold the condition's lock.
    case notifyUnacquired
    /// A negative timeout where Python rejects one (`Lock.acquire`, `RLock.acquire`).
    case negativeTimeout
    /// `acquire(blocking: false, timeout: …)`: a timeout makes no sense without blocking.
    case timeoutOnNonBlocking
    /// `BoundedSemaphore.release` would raise the value above its initial value.
    case semaphoreReleasedTooManyTimes
    /// `ThreadPool.submit` after `shutdown()`.
    case submitAfterShutdown
    /// An argument out of range; the message says which (Python's `ValueError`).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .startedTwice: "threads can only be started once"
        case .joinBeforeStart: "cannot join thread before it is started"
        case .joinCurrentThread: "cannot join current thread"
        case .joinDummyThread: "cannot join a dummy thread"
        case .daemonOfActiveThread: "cannot set daemon status of active thread"
        case .cannotStartThread(let errno): "can't start new thread (errno \(errno))"
        case .invalidStackSize(let size): "size not valid: \(size) bytes"
        case .releaseUnlocked: "release unlocked lock"
        case .releaseUnacquired: "cannot release un-acquired lock"
        case .waitUnacquired: "cannot wait on un-acquired lock"
        case .notifyUnacquired: "cannot notify on un-acquired lock"
        case .negativeTimeout: "timeout value must be a non-negative number"
        case .timeoutOnNonBlocking: "can't specify a timeout for a non-blocking call"
        case .semaphoreReleasedTooManyTimes: "Semaphore released too many times"
        case .submitAfterShutdown: "cannot schedule new futures after shutdown"
        case .invalidArgument(let message): message
        }
    }
}

/// Why a ``Queue``, ``LifoQueue`` or ``PriorityQueue`` operation did not complete
/// (Python's `queue.Empty`, `queue.Full`, `queue.ShutDown` and the `ValueError`s of `queue`).
public enum QueueError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `get` found no item: non-blocking, or the timeout expired.
    case empty
    /// `put` found no room in a bounded queue: non-blocking, or the timeout expired.
    case full
    /// The queue was shut down (`put` always; `get` once the queue is empty).
    case shutDown
    /// A negative timeout.
    case negativeTimeout
    /// `taskDone()` called more times than items were put.
    case taskDoneTooManyTimes

    public var description: String {
        switch self {
        case .empty: "queue is empty"
        case .full: "queue is full"
        case .shutDown: "queue is shut down"
        case .negativeTimeout: "'timeout' must be a non-negative number"
        case .taskDoneTooManyTimes: "task_done() called too many times"
        }
    }
}

/// A ``Barrier`` was broken (by `abort()`, `reset()`, a timeout or a failing action) while, or
/// before, this thread waited on it. Python's `threading.BrokenBarrierError`.
public struct BrokenBarrierError: Error, CustomStringConvertible {
    /// The error thrown by the barrier's action, in the thread that ran it; `nil` elsewhere.
    public let actionError: (any Error)?

    public init(actionError: (any Error)? = nil) {
        self.actionError = actionError
    }

    public var description: String {
        if let actionError { return "barrier action failed: \(actionError)" }
        return "barrier is broken"
    }
}
