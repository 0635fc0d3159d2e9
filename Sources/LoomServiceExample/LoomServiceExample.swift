// Two Loom servers, one of each family, in one swift-service-lifecycle ServiceGroup that stops
// gracefully on SIGTERM: the README's example, and the child process of the lifecycle tests.
//
//   swift run LoomServiceExample [GRACE_SECONDS]
//
// Prints `listening on tcp://…` for the threaded server, then for the event-loop server, and
// `stopped` when both have drained (within GRACE_SECONDS, default 5) after SIGTERM; exit status 0.
#if canImport(Glibc)
import Glibc
#endif
import Logging
import LoomServer
import LoomServiceLifecycle
import ServiceLifecycle

/// Echoes each line back until the client closes.
final class LineEcho: StreamRequestHandler {
    override func handle() throws {
        while true {
            let line = try rfile.readLine(maxLength: 65_536)
            if line.isEmpty { return }
            try wfile.write(line)
        }
    }
}

/// One line in one write(2): nothing waits in a buffer (the test reads these lines as they come).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return }
        offset += written
    }
}

/// The program: everything in a function (top-level async code keeps its temporaries alive
/// until exit, which LeakSanitizer reports as leaks).
@main
struct LoomServiceExample {
    static func main() async throws {
        let grace = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 5
        var logger = Logger(label: "loom.service-example") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .info

        let threaded = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
        let eventLoop = try EventLoopServer(configuration: .init(host: "127.0.0.1", port: 0, loops: 1)) { EchoProtocol() }
        say("listening on tcp://\(threaded.serverAddress)")
        say("listening on tcp://\(eventLoop.serverAddress)")

        let gracePeriod = Duration.milliseconds(Int64(grace * 1000))
        let group = ServiceGroup(
            services: [LoomService(threaded, gracePeriod: gracePeriod), LoomService(eventLoop, gracePeriod: gracePeriod)],
            gracefulShutdownSignals: [.sigterm],
            logger: logger)
        try await group.run()
        threaded.serverClose()
        say("stopped")
    }
}
