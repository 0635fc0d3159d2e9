// Compiled, never run: the code block of LoomMetrics.docc/LoomMetrics.md (block 1), verbatim but
// for its imports, which move to the top of the file, and the handler it names.
// CatalogSnippetTests checks it stays in sync.
import CoreMetrics
import LoomMetrics
import LoomServer
import Prometheus

private final class MyHandler: BaseRequestHandler {}

func loomMetrics1() throws {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

    var configuration = ServerConfiguration(maxConnections: 1_000)
    configuration.observer = ServerMetrics(name: "upper", mode: "threading")
    let threaded = try ThreadingTCPServer(port: 9999, handler: MyHandler.self, configuration: configuration)

    var loops = EventLoopServer.Configuration(port: 9998)
    loops.server.observer = ServerMetrics(name: "echo", mode: "eventloop")
    let events = try EventLoopServer(configuration: loops) { EchoProtocol() }

    let text = registry.emitToString()   // Prometheus' text format, for your /metrics
    _ = (threaded, events, text)
}
