import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Loom

/// `loom serve`: the course's ThreadingTCPServer and its siblings.
///
/// With no arguments: a thread per connection, the uppercase handler, on 127.0.0.1:9999. Prints
/// exactly one line on stdout once it listens (`listening on tcp://127.0.0.1:9999`; with
/// `--metrics-port`, a second: `metrics on http://127.0.0.1:P/metrics`), logs to stderr, and stops
/// gracefully on SIGINT or SIGTERM with exit status 0.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a socket server (default: the course's uppercase server on 127.0.0.1:9999).")

    /// How requests run; one place maps it to the library's concurrency.
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case serial, threading, pool, eventloop, async
    }

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one (printed in the listening line).")
    var port = 9999

    @Option(help: "Serve on this Unix-domain socket path instead of TCP/UDP.")
    var unix: String?

    @Flag(help: "Datagrams (UDP, or Unix datagram with --unix) instead of a stream.")
    var udp = false

    @Option(help: "serial, threading (a thread per connection), pool, eventloop (event loops, Protocol handlers) or async (event loops, async/await handlers).")
    var mode: Mode = .threading

    @Option(help: "Event loops for --mode eventloop and async (default: one per CPU).")
    var loops: Int?

    @Option(help: "Worker threads for --mode pool.")
    var workers = 8

    @Option(name: .customLong("max-connections"), help: "At most this many connections at once; the rest wait in the listen backlog.")
    var maxConnections: Int?

    @Option(help: "Close a connection silent for this many seconds.")
    var timeout: Double?

    @Flag(help: "Serve on the listening socket the service manager passed (socket activation: systemd, systemd-socket-activate); --host, --port, --unix and --udp are then ignored.")
    var systemd = false

    @Flag(name: .customLong("reuse-port"), help: "Set SO_REUSEPORT so that several processes serve one port (the kernel spreads connections).")
    var reusePort = false

    @Option(name: .customLong("proxy-protocol"), help: "required or optional: each connection starts with a PROXY protocol header (v1 or v2, HAProxy's send-proxy / send-proxy-v2) naming the original client; handlers and logs see that client. Stream modes only.")
    var proxyProtocol: ProxyProtocolOption?

    @Option(help: "upper (the course's), echo or reply.")
    var handler: String = ServeHandler.upper.rawValue

    @Option(help: "The text the reply handler answers with.")
    var reply = "不要回答,不要回答,不要回答"

    @OptionGroup var tls: ServeTLSOptions

    @Option(name: .customLong("metrics-port"), help: "Record metrics (swift-metrics, Prometheus) and serve them at http://127.0.0.1:PORT/metrics.")
    var metricsPort: Int?

    @Option(name: .customLong("metrics-name"), help: "The `server` label of the metrics (with --metrics-port).")
    var metricsName = "loom"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
        guard ServeHandler(rawValue: handler) != nil else {
            throw ValidationError("--handler must be one of: \(ServeHandler.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if let timeout { try SecondsOption.check(timeout, option: "--timeout", allowZero: false) }
        if proxyProtocol != nil && udp { throw ValidationError("--proxy-protocol needs a stream server (no --udp)") }
        try tls.validate(udp: udp)
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be 0-65535") }
        if metricsName.isEmpty { throw ValidationError("--metrics-name cannot be empty") }
    }

    func run() throws {
        // Before any other thread exists: SIGINT and SIGTERM are blocked in every thread and
        // taken by one thread with sigwait (StopSignals). No process-wide handler is installed.
        let stop = StopRequest()
        StopSignals.start { signal in stop.signal(signal) }

        LoggingSystem.bootstrap { StderrLogHandler(label: $0) }
        let logger = Logger(label: "loom.serve")
        let context = try tls.makeContext()
        let (metrics, observer) = try startMetrics(logger: logger)
        defer { metrics?.server.shutdown(gracePeriod: .zero) }
        if mode == .eventloop || mode == .async {
            return try runEventLoop(stop: stop, logger: logger, tls: context, metrics: metrics, observer: observer)
        }

        let server: BaseServer
        do throws(ServerError) {
            server = try makeServer(logger: logger, tls: context, observer: observer)
        } catch {
            Console.error("loom serve: \(error)")
            throw ExitCode.failure
        }
        Console.line("listening on \(Serve.url(of: server))")
        Serve.announce(metrics)

        stop.onSignal { signal in
            logger.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"); shutting down")
            _ = try? server.shutdown(gracePeriod: .seconds(2))
        }
        do throws(ServerError) {
            try server.serveForever()
        } catch {
            Console.error("loom serve: \(error)")
            throw ExitCode.failure
        }
        // serveForever returns once the signal thread asked it to; let that thread finish closing.
        stop.waitUntilHandled(timeout: .seconds(5))
    }

    /// The one place a mode becomes a concurrency strategy (a later `--mode eventloop` plugs in here).
    private func concurrency() -> Concurrency {
        switch mode {
        case .serial: .serial
        case .threading: .threading
        case .pool: .pool(workers: workers)
        case .eventloop, .async: .threading  // not reached: run() hands these to runEventLoop
        }
    }

    private func makeServer(logger: Logger, tls: TLSContext?, observer: (any ServerObserver)?) throws(ServerError) -> BaseServer {
        switch ServeHandler(rawValue: handler)! {
        case .upper:
            return try makeServer(logger: logger, tls: tls, observer: observer) { UpperHandler(request: $0, clientAddress: $1, server: $2) }
        case .echo:
            return try makeServer(logger: logger, tls: tls, observer: observer) { EchoHandler(request: $0, clientAddress: $1, server: $2) }
        case .reply:
            // The text reaches each handler through the factory: no global to set before serving.
            let text = Array(reply.utf8)
            return try makeServer(logger: logger, tls: tls, observer: observer) {
                let handler = ReplyHandler(request: $0, clientAddress: $1, server: $2)
                handler.reply = text
                return handler
            }
        }
    }

    private func makeServer<Handler: BaseRequestHandler>(
        logger: Logger, tls: TLSContext?, observer: (any ServerObserver)?, handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) -> BaseServer {
        var configuration = ServerConfiguration(
            allowReuseAddress: true,
            allowReusePort: reusePort,
            maxConnections: maxConnections,
            idleTimeout: timeout.map(SecondsOption.duration),
            threadStackSize: Serve.handlerStackSize,
            tls: tls,
            proxyProtocol: proxyProtocol?.mode
        )
        configuration.observer = observer
        let concurrency = concurrency()
        if systemd {
            let socket: Socket
            do throws(SocketError) { socket = try Serve.inheritedSocket() } catch { throw .socket(error) }
            return try BaseServer(socket: socket, concurrency: concurrency, configuration: configuration,
                                  logger: logger, handlerFactory: handlerFactory)
        }
        if let unix {
            // The socket layer's bind removes a stale socket file left by a server that died
            // (with a bounded probe); a live server or another file is reported as in use.
            let socket: Socket
            do throws(SocketError) {
                socket = try Socket.createUnixServer(path: unix, type: udp ? .datagram : .stream,
                                                     backlog: configuration.requestQueueSize)
            } catch {
                throw .socket(error)
            }
            do throws(ServerError) {
                return try BaseServer(socket: socket, concurrency: concurrency, configuration: configuration,
                                      logger: logger, handlerFactory: handlerFactory)
            } catch {
                socket.close()
                unlink(unix)
                throw error
            }
        }
        return udp
            ? try UDPServer(host: host, port: port, concurrency: concurrency, configuration: configuration,
                            logger: logger, handlerFactory: handlerFactory)
            : try TCPServer(host: host, port: port, concurrency: concurrency, configuration: configuration,
                            logger: logger, handlerFactory: handlerFactory)
    }

    /// Handler threads get 256 KiB of stack: the built-in handlers use a few KiB, and 10,000
    /// connections then reserve 2.5 GB of address space instead of 80 GB.
    static let handlerStackSize = 256 * 1024

    /// `tcp://127.0.0.1:9999`, `udp://[::1]:5353`, `unix:/tmp/loom.sock`, `tls://127.0.0.1:9999`.
    static func url(of server: BaseServer) -> String {
        let address = server.serverAddress
        if address.family == .unix { return "\(server.configuration.tls == nil ? "unix" : "tls+unix"):\(address.path ?? "")" }
        if server.configuration.tls != nil { return "tls://\(address)" }
        return "\(server.socket.type == .datagram ? "udp" : "tcp")://\(address)"
    }
}
