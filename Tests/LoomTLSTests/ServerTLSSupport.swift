#if canImport(Glibc)
import Glibc
#endif
import Logging
import LoomServer
import LoomSockets
import LoomTLS
import LoomTestSupport
import LoomThreading

/// Every server engine that takes ``ServerConfiguration/tls``.
enum Engine: String, CaseIterable, CustomStringConvertible, Sendable {
    case serial, threading, pool, unix, eventloop, async
    var description: String { rawValue }
    var isEventLoop: Bool { self == .eventloop || self == .async }
}

/// Echoes every byte through the handler's stream (the TLS stream here), until end of file.
final class TLSEchoHandler: StreamRequestHandler {
    override func handle() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try stream.readSome(into: buffer)
            if count == 0 { return }
            try stream.writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }
}

/// The same, as an asyncio-style protocol.
final class TLSEchoProtocol: StreamProtocol {
    var transport: Transport?
    func connectionMade(_ transport: Transport) { self.transport = transport }
    func dataReceived(_ data: UnsafeRawBufferPointer) { transport?.write(data) }
    func connectionLost(_ error: (any Error)?) { transport = nil }
}

/// One TLS echo server of any engine on loopback, its log recorded; stopped by ``stop()``.
final class TLSEchoServer: @unchecked Sendable {  // fields set once in init; used from the test's thread
    let engine: Engine
    let log = LogRecorder()
    let port: Int
    let unixPath: String?
    private var threaded: BaseServer?
    private var thread: LoomThreading.Thread?
    private var eventLoop: EventLoopServer?

    init(_ engine: Engine, context: TLSContext, idleTimeout: Duration? = .seconds(20)) throws {
        self.engine = engine
        let configuration = ServerConfiguration(idleTimeout: idleTimeout, tls: context)
        switch engine {
        case .eventloop, .async:
            let settings = EventLoopServer.Configuration(host: "127.0.0.1", port: 0, server: configuration, loops: 1)
            let server = engine == .eventloop
                ? try EventLoopServer(configuration: settings, logger: log.logger) { TLSEchoProtocol() }
                : try EventLoopServer(configuration: settings, logger: log.logger) { connection in
                    while true {
                        let data = try await connection.recv(maxBytes: 65_536)
                        if data.isEmpty { return }
                        try await connection.sendAll(data)
                    }
                }
            server.start()
            eventLoop = server
            port = server.serverAddress.port
            unixPath = nil
        case .serial, .threading, .pool, .unix:
            let concurrency: Concurrency = switch engine {
            case .serial: .serial
            case .pool: .pool(workers: 4)
            default: .threading
            }
            let server: BaseServer
            if engine == .unix {
                let path = temporarySocketPath("tls")
                server = try UnixStreamServer(path: path, handler: TLSEchoHandler.self, concurrency: concurrency,
                                              configuration: configuration, logger: log.logger)
                unixPath = path
            } else {
                server = try TCPServer(port: 0, handler: TLSEchoHandler.self, concurrency: concurrency,
                                       configuration: configuration, logger: log.logger)
                unixPath = nil
            }
            port = server.serverAddress.port
            threaded = server
            let thread = LoomThreading.Thread(name: "tls-serve", daemon: true) { try server.serveForever() }
            try thread.start()
            self.thread = thread
        }
    }

    /// A plain connection to the server (TCP or Unix).
    func connectRaw(timeout: Duration = .seconds(20)) throws -> Socket {
        if let unixPath {
            let socket = try Socket(family: .unix, type: .stream)
            socket.timeout = timeout
            try socket.connect(to: SocketAddress(unixPath: unixPath))
            return socket
        }
        return try Socket.createConnection(host: "127.0.0.1", port: port, timeout: timeout)
    }

    /// A TLS connection with `context` (the test CA's client context by default).
    func connect(_ context: TLSContext? = nil) throws -> TLSSocket {
        let context = try context ?? Certificates.shared().clientContext()
        let socket = try connectRaw()
        do {
            return try context.wrap(socket, serverHostname: "localhost")
        } catch {
            socket.close()
            throw error
        }
    }

    /// Sends `bytes` from another thread while reading the echo here; returns what came back.
    func echo(_ bytes: [UInt8], context: TLSContext? = nil) throws -> [UInt8] {
        let tls = try connect(context)
        defer { tls.close() }
        let writer = LoomThreading.Thread(daemon: true) {
            try tls.sendAll(bytes)
        }
        try writer.start()
        var received: [UInt8] = []
        received.reserveCapacity(bytes.count)
        while received.count < bytes.count {
            let chunk = try tls.recv(maxBytes: 65_536)
            if chunk.isEmpty { break }
            received += chunk
        }
        _ = try writer.join(timeout: .seconds(30))
        return received
    }

    /// Descriptors the server holds on its port: the listener and open connections (TCP only).
    var serverDescriptors: Int { unixPath == nil ? serverSockets(port: port) : -1 }

    /// Connections the server is holding.
    var openConnections: Int {
        if let eventLoop { return eventLoop.connectionCount }
        return threaded?.activeRequests ?? 0
    }

    /// Log lines at warning or above, and those about TLS.
    var tlsLines: [String] {
        log.all.filter { $0.message.contains("TLS") }.map { "\($0.message) \($0.metadata)" }
    }

    func stop() {
        if let eventLoop { eventLoop.shutdown(gracePeriod: .seconds(1)) }
        if let threaded {
            try? threaded.shutdown()
            threaded.serverClose()
            _ = try? thread?.join(timeout: .seconds(10))
        }
    }
}
