/// A thread that calls a function once, after a delay, unless cancelled first: Python's
/// `threading.Timer`.
///
/// ```swift
/// let reminder = LoomThreading.Timer(interval: .seconds(30)) { print("time's up") }
/// try reminder.start()
/// reminder.cancel()   // before it fires: it never will
/// ```
///
/// It is a ``Thread`` (start it once, join it, make it a daemon). Foundation has a `Timer` too:
/// in a file that imports both, write `LoomThreading.Timer` (or `Loom.Timer`).
public final class Timer: Thread, @unchecked Sendable {
    // @unchecked Sendable: adds only immutable state and an Event to `Thread`.
    /// How long after ``Thread/start()`` the function runs.
    public let interval: Duration
    private let function: @Sendable () throws -> Void
    private let fired = Event()

    /// A timer that will call `function` `interval` after it is started.
    public init(interval: Duration, name: String? = nil, daemon: Bool? = nil, function: @escaping @Sendable () throws -> Void) {
        self.interval = interval
        self.function = function
        super.init(name: name, daemon: daemon)
    }

    /// Waits for the interval, then calls the function unless the timer was cancelled.
    public override func run() throws {
        defer { fired.set() }
        fired.wait(timeout: interval)
        if !fired.isSet { try function() }
    }

    /// Stops the timer if it is still waiting; no effect once the function has begun. Called
    /// before ``Thread/start()``, the function never runs.
    public func cancel() {
        fired.set()
    }

    /// Whether the timer has fired or was cancelled.
    public var isFinished: Bool { fired.isSet }
}
