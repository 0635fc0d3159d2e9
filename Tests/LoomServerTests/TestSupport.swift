#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import Logging
import LoomServer
import LoomSockets
import LoomTestSupport
import LoomThreading
import Synchronization
import Testing

/// Runs `serveForever()` on its own thread, and stops and closes the server at the end.
final class Running: Sendable {
    let server: BaseServer
    let thread: LoomThreading.Thread

    init(_ server: BaseServer, pollInterval: Duration? = nil) throws {
        self.server = server
        thread = LoomThreading.Thread(name: "test-serve", daemon: true) { try server.serveForever(pollInterval: pollInterval) }
        try thread.start()
    }

    var port: Int { server.serverAddress.port }

    /// Shuts down, closes, and checks the serving thread ended.
    func stop() throws {
        try server.shutdown()
        server.serverClose()
        #expect(try thread.join(timeout: .seconds(5)))
    }
}

/// Connects to a test server on loopback.
func connect(_ server: BaseServer, timeout: Duration? = .seconds(10)) throws -> Socket {
    if server.serverAddress.family == .unix {
        let socket = try Socket(family: .unix, type: .stream)
        socket.timeout = timeout
        try socket.connect(to: server.serverAddress)
        return socket
    }
    return try Socket.createConnection(host: "127.0.0.1", port: server.serverAddress.port, timeout: timeout)
}

/// Reads until the peer closes.
func readAll(_ socket: Socket) throws -> [UInt8] {
    var all: [UInt8] = []
    while true {
        let bytes = try socket.recv(maxBytes: 65_536)
        if bytes.isEmpty { return all }
        all += bytes
    }
}

/// Sends `message`, half-closes, returns everything the server sends back.
func ask(_ server: BaseServer, _ message: String, timeout: Duration? = .seconds(10)) throws -> String {
    let socket = try connect(server, timeout: timeout)
    defer { socket.close() }
    try socket.sendAll(message)
    // A server that closes without reading (a rejected or throwing request) resets the
    // connection; when that reset wins the race with our half-close, the exchange is simply over.
    // What arrived before the reset is still returned.
    let halfClosed = Result { () throws(SocketError) in try socket.shutdown(.write) }
    if case .failure(let error) = halfClosed, error.kind != .notConnected && error.kind != .connectionReset {
        throw error
    }
    var all: [UInt8] = []
    while true {
        let chunk = Result { () throws(SocketError) in try socket.recv(maxBytes: 65_536) }
        switch chunk {
        case .success(let bytes) where !bytes.isEmpty: all += bytes
        case .success: return String(decoding: all, as: UTF8.self)
        case .failure(let error) where error.kind == .connectionReset: return String(decoding: all, as: UTF8.self)
        case .failure(let error): throw error
        }
    }
}

/// Live Loom threads with this name (handler threads are named by `ServerConfiguration.threadName`).
func threads(named name: String) -> Int {
    LoomThreading.Thread.enumerate().filter { $0.name == name }.count
}

/// A logger that drops everything (for floods).
let silentLogger: Logger = {
    var logger = Logger(label: "silent") { _ in SwiftLogNoOpLogHandler() }
    logger.logLevel = .critical
    return logger
}()

/// The course's handler: one read, strip, uppercase, reply.
final class MyTCPHandler: BaseRequestHandler {
    override func handle() throws {
        let data = try request.recv(maxBytes: 1024)
        try request.sendAll(String(decoding: data, as: UTF8.self).trimmed.uppercased())
    }
}

/// Answers "done" once `gate` lets it (a `Barrier` for handlers that must all be inside at once,
/// or an `Event` the test sets): what it proves does not depend on how fast the machine is.
final class GatedHandler: BaseRequestHandler {
    var gate: @Sendable () throws -> Void = {}
    override func handle() throws {
        _ = try request.recv(maxBytes: 1024)
        try gate()
        try request.sendAll("done")
    }
}

/// A threaded server whose handlers answer "done" once `gate` returns.
func gatedServer(concurrency: Concurrency = .classDefault,
                 _ gate: @escaping @Sendable () throws -> Void) throws -> ThreadingTCPServer {
    try ThreadingTCPServer(port: 0, concurrency: concurrency, logger: silentLogger) { request, clientAddress, server in
        let handler = GatedHandler(request: request, clientAddress: clientAddress, server: server)
        handler.gate = gate
        return handler
    }
}
