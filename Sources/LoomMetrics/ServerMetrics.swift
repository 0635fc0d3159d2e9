import CoreMetrics
import LoomServer
import LoomSystem

/// A server's metrics through swift-metrics: set one as ``LoomServer/ServerConfiguration/observer``
/// of a threaded server or an ``LoomServer/EventLoopServer`` and it records, with the dimensions
/// `server` (its name) and `mode`:
///
/// | metric | kind | what |
/// | --- | --- | --- |
/// | `loom_connections_accepted_total` | counter | connections that entered the server |
/// | `loom_connections_active` | meter (a gauge) | connections inside now |
/// | `loom_connection_limit_reached_total` | counter | times `maxConnections` filled up and accepting paused (no client is refused: they wait in the backlog) |
/// | `loom_bytes_read_total` | counter | bytes received from clients |
/// | `loom_bytes_written_total` | counter | bytes sent to clients |
/// | `loom_handler_errors_total` | counter | handlers that threw |
/// | `loom_connection_duration_seconds` | timer | from accept to close |
///
/// Bytes and durations are recorded once per connection, when it closes.
///
/// ```swift
/// MetricsSystem.bootstrap(PrometheusMetricsFactory())   // once per process, any backend
/// var configuration = ServerConfiguration(maxConnections: 1_000)
/// configuration.observer = ServerMetrics(name: "echo", mode: "threading")
/// let server = try ThreadingTCPServer(port: 9999, handler: Echo.self, configuration: configuration)
/// ```
///
/// Without it (the default) a server records nothing and pays one nil check per connection event.
public final class ServerMetrics: ServerObserver {
    /// The metric names, as the table above lists them.
    public enum Label {
        /// Counter: connections that entered the server.
        public static let accepted = "loom_connections_accepted_total"
        /// Meter: connections inside now.
        public static let active = "loom_connections_active"
        /// Counter: times the server filled up to `maxConnections` and paused accepting.
        public static let limitReached = "loom_connection_limit_reached_total"
        /// Counter: bytes received from clients.
        public static let bytesRead = "loom_bytes_read_total"
        /// Counter: bytes sent to clients.
        public static let bytesWritten = "loom_bytes_written_total"
        /// Counter: handlers that threw.
        public static let handlerErrors = "loom_handler_errors_total"
        /// Timer: how long connections lasted.
        public static let duration = "loom_connection_duration_seconds"
    }

    /// The `server` dimension.
    public let name: String
    /// The `mode` dimension (for `loom serve`: `threading`, `pool`, `eventloop`, `async`…).
    public let mode: String
    /// `[("server", name), ("mode", mode)]`, on every metric.
    public var dimensions: [(String, String)] { [("server", name), ("mode", mode)] }

    private let accepted: Counter
    private let active: Meter
    private let limitReached: Counter
    private let bytesRead: Counter
    private let bytesWritten: Counter
    private let handlerErrors: Counter
    private let duration: Timer

    /// Metrics for the server `name` running in `mode`, made by `factory` (by default the one
    /// `MetricsSystem.bootstrap` installed; before any bootstrap swift-metrics' no-op one).
    public init(name: String, mode: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.name = name
        self.mode = mode
        let dimensions = [("server", name), ("mode", mode)]
        accepted = Counter(label: Label.accepted, dimensions: dimensions, factory: factory)
        active = Meter(label: Label.active, dimensions: dimensions, factory: factory)
        limitReached = Counter(label: Label.limitReached, dimensions: dimensions, factory: factory)
        bytesRead = Counter(label: Label.bytesRead, dimensions: dimensions, factory: factory)
        bytesWritten = Counter(label: Label.bytesWritten, dimensions: dimensions, factory: factory)
        handlerErrors = Counter(label: Label.handlerErrors, dimensions: dimensions, factory: factory)
        duration = Timer(label: Label.duration, dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
        // Present from the start (at 0), so a scrape before the first connection shows the server.
        active.set(0)
        for counter in [accepted, limitReached, bytesRead, bytesWritten, handlerErrors] { counter.increment(by: 0) }
    }

    /// Counts the connection in.
    public func connectionAccepted() {
        accepted.increment()
        active.increment()
    }

    /// Counts the connection out, with its bytes and duration.
    public func connectionClosed(_ connection: ClosedConnection) {
        active.decrement()
        if connection.bytesRead > 0 { bytesRead.increment(by: connection.bytesRead) }
        if connection.bytesWritten > 0 { bytesWritten.increment(by: connection.bytesWritten) }
        duration.recordNanoseconds(connection.duration.saturatingNanoseconds)
    }

    /// Counts a handler error.
    public func handlerFailed(_ error: any Error) {
        handlerErrors.increment()
    }

    /// Counts the server filling up.
    public func connectionLimitReached() {
        limitReached.increment()
    }
}
