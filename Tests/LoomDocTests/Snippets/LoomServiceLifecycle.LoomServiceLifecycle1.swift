// Compiled, never run: the code block of LoomServiceLifecycle.docc/LoomServiceLifecycle.md
// (block 1), verbatim but for its imports, which move to the top of the file, and the handler it
// names. CatalogSnippetTests checks it stays in sync.
import Logging
import LoomServer
import LoomServiceLifecycle
import ServiceLifecycle

private final class MyHandler: BaseRequestHandler {}

func loomServiceLifecycle1() async throws {
    let logger = Logger(label: "my-service")
    let tcp = try ThreadingTCPServer(host: "127.0.0.1", port: 9999, handler: MyHandler.self, logger: logger)
    let events = try EventLoopServer(configuration: .init(port: 9998)) { EchoProtocol() }
    let group = ServiceGroup(
        services: [LoomService(tcp, gracePeriod: .seconds(10)), events],   // a bare server drains within 5 s
        gracefulShutdownSignals: [.sigterm],
        logger: logger)
    try await group.run()
}
