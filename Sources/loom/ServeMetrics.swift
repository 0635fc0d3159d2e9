#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import Loom
import LoomMetrics

/// `loom serve --metrics-port P [--metrics-name NAME]`: the metrics endpoint, and the observer
/// that feeds it (a ``ServerMetrics`` with the dimensions `server` = NAME, `mode` = the mode).
extension Serve {
    /// The metrics endpoint (when asked for) and the observer to give the server.
    func startMetrics(logger: Logger) throws -> (MetricsEndpoint?, (any ServerObserver)?) {
        // Measurement knob for Benchmarks (metrics-cost.sh): the hook set, recording nothing.
        if metricsPort == nil, let value = getenv("LOOM_METRICS_NOOP_OBSERVER"), String(cString: value) == "1" {
            return (nil, NoOpObserver())
        }
        guard let metricsPort else { return (nil, nil) }
        let endpoint: MetricsEndpoint
        do throws(SocketError) {
            endpoint = try MetricsEndpoint.start(port: metricsPort, logger: logger)
        } catch {
            Console.error("loom serve: metrics port \(metricsPort): \(error)")
            throw ExitCode.failure
        }
        return (endpoint, ServerMetrics(name: metricsName, mode: mode.rawValue))
    }

    /// The second stdout line, right after `listening on …`, when metrics are served.
    static func announce(_ endpoint: MetricsEndpoint?) {
        if let endpoint { Console.line("metrics on http://\(endpoint.server.serverAddress)/metrics") }
    }
}

/// An observer that records nothing: what the hook alone costs.
final class NoOpObserver: ServerObserver {
    func connectionAccepted() {}
    func connectionClosed(_ connection: ClosedConnection) {}
    func handlerFailed(_ error: any Error) {}
    func connectionLimitReached() {}
}
