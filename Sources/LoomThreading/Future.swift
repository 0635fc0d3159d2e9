import LoomSystem

/// Why ``Future/result(timeout:)`` produced no value (besides the task's own error).
public enum FutureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The result was not ready within the timeout (Python's `TimeoutError`); the task goes on.
    case timeout
    /// The task was cancelled before it started (Python's `CancelledError`).
    case cancelled

    public var description: String {
        switch self {
        case .timeout: "the result was not ready in time"
        case .cancelled: "the task was cancelled"
        }
    }
}

/// The eventual result of a task submitted to a ``ThreadPool``: Python's
/// `concurrent.futures.Future`.
///
/// ```swift
/// let answer = try pool.submit { 6 * 7 }
/// print(try answer.result(timeout: .seconds(1)))
/// ```
public final class Future<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `state` is `Protected` (behind a futex mutex); `done` is an Event.
    enum State {
        case pending, running
        case finished(Result<Value, any Error>)
        case cancelled
    }

    private let state = Protected<State>(.pending)
    private let done = Event()

    init() {}

    /// Waits for the task, for at most `timeout` (`nil`: forever), and returns its value.
    ///
    /// - Throws: the task's own error if it threw; ``FutureError/timeout`` if it did not finish in
    ///   time (it keeps running); ``FutureError/cancelled`` if it was cancelled.
    @discardableResult
    public func result(timeout: Duration? = nil) throws -> Value {
        guard done.wait(timeout: timeout) else { throw FutureError.timeout }
        switch state.withLock({ $0 }) {
        case .finished(let result): return try result.get()
        case .cancelled: throw FutureError.cancelled
        case .pending, .running: throw FutureError.timeout
        }
    }

    /// Cancels the task if it has not started; returns whether it is (now) cancelled.
    @discardableResult
    public func cancel() -> Bool {
        let cancelled = state.withLock { state -> Bool in
            switch state {
            case .pending:
                state = .cancelled
                return true
            case .cancelled: return true
            case .running, .finished: return false
            }
        }
        if cancelled { done.set() }
        return cancelled
    }

    /// Whether the task has finished or was cancelled.
    public var isDone: Bool { done.isSet }

    /// Whether the task is running right now.
    public var isRunning: Bool { state.withLock { if case .running = $0 { true } else { false } } }

    /// Whether the task was cancelled.
    public var isCancelled: Bool { state.withLock { if case .cancelled = $0 { true } else { false } } }

    /// Marks the task running; `false` if it was cancelled first.
    func markRunning() -> Bool {
        state.withLock { state in
            guard case .pending = state else { return false }
            state = .running
            return true
        }
    }

    func finish(_ result: Result<Value, any Error>) {
        state.withLock { $0 = .finished(result) }
        done.set()
    }
}
