import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Loom

/// `loom serve --mode eventloop` (asyncio.Protocol-style handlers) and `--mode async`
/// (async/await handlers), both on ``EventLoopServer``: one event loop per CPU by default, the
/// same handlers, output and signal handling as the threaded modes.
extension Serve {
    func runEventLoop(
        stop: StopRequest, logger: Logger, tls: TLSContext?, metrics: MetricsEndpoint?, observer: (any ServerObserver)?
    ) throws {
        var inherited: Socket?
        if systemd {
            do throws(SocketError) { inherited = try Serve.inheritedSocket() } catch {
                Console.error("loom serve: \(error)")
                throw ExitCode.failure
            }
            if inherited?.family == .unix || inherited?.type == .datagram {
                Console.error("loom serve: --mode \(mode.rawValue) serves TCP only; the service manager passed \(inherited.map { "\($0.family) \($0.type)" } ?? "")")
                throw ExitCode.failure
            }
        } else if unix != nil || udp {
            Console.error("loom serve: --mode \(mode.rawValue) serves TCP only (no --unix, no --udp)")
            throw ExitCode.failure
        }
        if let loops, loops < 1 {
            Console.error("loom serve: --loops must be at least 1")
            throw ExitCode.failure
        }
        let kind = ServeHandler(rawValue: handler)!
        let replyText = Array(reply.utf8)
        var configuration = EventLoopServer.Configuration(
            host: host, port: port, loops: loops, maxConnections: maxConnections,
            idleTimeout: timeout.map(SecondsOption.duration),
            errorHandler: { error, peer in
                if let tlsError = error as? TLSError {
                    logger.warning("TLS with \(peer.map { "\($0)" } ?? "?") failed: \(tlsError)")
                    return
                }
                logger.error("Exception occurred during processing of request from \(peer.map { "\($0)" } ?? "the server"): \(error)")
            })
        configuration.listener = inherited
        configuration.server.tls = tls
        configuration.server.observer = observer
        configuration.sharesPort = reusePort
        configuration.proxyProtocol = proxyProtocol?.mode
        // Measurement knob for Benchmarks/compare-servers.sh (ACCEPT_COMPARE=1).
        if let value = getenv("LOOM_EVENTLOOP_ACCEPT"), String(cString: value) == "handoff" {
            configuration.acceptStrategy = .handOff
        }
        // The course's upper and reply handlers answer one message (one read of up to 1,024 bytes)
        // and close; echo answers until the peer closes.
        let answer: @Sendable ([UInt8], SocketAddress?) -> [UInt8] = { message, peer in
            let text = kind == .upper ? Uppercase.strip(message) : message
            logger.info("\(peer?.host ?? "?") wrote: \(PeerText.escaped(text))")
            return kind == .upper ? Uppercase.transform(text) : replyText
        }
        let server: EventLoopServer
        do throws(SocketError) {
            if mode == .async {
                // Each handler is a function of its own: a suspended task keeps the frame of the
                // closure it runs, and one closure holding both would keep both's locals.
                server = try EventLoopServer(configuration: configuration) { connection in
                    if kind == .echo {
                        try await AsyncHandlers.echo(connection)
                    } else {
                        ProxiedConnectionLog.log(connection, to: logger)
                        try await AsyncHandlers.answerOne(connection, answer)
                    }
                }
            } else {
                server = try EventLoopServer(configuration: configuration) {
                    kind == .echo ? EchoProtocol() as any StreamProtocol : OneMessageProtocol(answer: answer, logger: logger)
                }
            }
        } catch {
            Console.error("loom serve: \(error)")
            throw ExitCode.failure
        }
        Console.line("listening on \(tls == nil ? "tcp" : "tls")://\(server.serverAddress)")
        Serve.announce(metrics)
        logger.info("\(server.loopCount) event loop\(server.loopCount == 1 ? "" : "s"), pid \(getpid())")

        stop.onSignal { signal in
            logger.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"); shutting down")
            server.shutdown(gracePeriod: .seconds(2))
        }
        server.serveForever()
        stop.waitUntilHandled(timeout: .seconds(5))
    }
}

/// Reads one message, answers it, closes (flushing the answer first).
final class OneMessageProtocol: StreamProtocol {
    private let answer: @Sendable ([UInt8], SocketAddress?) -> [UInt8]
    private let logger: Logger
    private var transport: Transport?

    init(answer: @escaping @Sendable ([UInt8], SocketAddress?) -> [UInt8], logger: Logger) {
        self.answer = answer
        self.logger = logger
    }

    func connectionMade(_ transport: Transport) {
        self.transport = transport
        ProxiedConnectionLog.log(transport.proxyHeader, client: transport.peerAddress, to: logger)
    }

    func dataReceived(_ data: UnsafeRawBufferPointer) {
        guard let transport, !transport.isClosing else { return }
        transport.write(answer(Array(data.prefix(1024)), transport.peerAddress))
        transport.close()
    }

    func connectionLost(_ error: (any Error)?) { transport = nil }
}

/// The async forms of the built-in handlers (`loom serve --mode async`).
enum AsyncHandlers {
    /// Sends back every byte until the peer closes.
    @inline(never)
    static func echo(_ connection: AsyncConnection) async throws(SocketError) {
        while true {
            let data = try await connection.recv(maxBytes: 65536)
            if data.isEmpty { return }
            try await connection.sendAll(data)
        }
    }

    /// Reads one message (one read of up to 1,024 bytes), answers it; the server then closes.
    @inline(never)
    static func answerOne(
        _ connection: AsyncConnection, _ answer: @Sendable ([UInt8], SocketAddress?) -> [UInt8]
    ) async throws {
        let message = try await connection.recv(maxBytes: 1024)
        try await connection.sendAll(answer(message, connection.peerAddress))
    }
}
