import CoreMetrics
import Logging
import LoomMetrics
import LoomServer
import LoomSockets
import LoomTestSupport
import LoomThreading
import MetricsTestKit

/// The four ways `loom serve` runs a connection, each driven with the same traffic.
enum Engine: String, CaseIterable, Sendable, CustomStringConvertible {
    case threading, pool, eventloop, async

    var description: String { rawValue }
}

/// The first byte that makes a test handler throw once it has echoed everything.
let throwingMark: UInt8 = 0xFF

struct HandlerThrew: Error {}

/// A server of `engine` echoing until the client's end of file, then throwing if the first byte
/// was ``throwingMark``.
final class RunningServer {
    let port: Int
    private let stop: () -> Void

    init(_ engine: Engine, configuration: ServerConfiguration) throws {
        let quiet = Logger(label: "metrics-tests") { _ in SwiftLogNoOpLogHandler() }
        switch engine {
        case .threading, .pool:
            let server = try TCPServer(
                port: 0, handler: EchoThenMaybeThrow.self,
                concurrency: engine == .pool ? .pool(workers: 4) : .threading,
                configuration: configuration, logger: quiet)
            let thread = LoomThreading.Thread(name: "metrics-serve", daemon: true) { try server.serveForever() }
            try thread.start()
            port = server.serverAddress.port
            stop = {
                _ = try? server.shutdown(gracePeriod: .seconds(5))
                _ = try? thread.join(timeout: .seconds(10))
            }
        case .eventloop, .async:
            var loopConfiguration = EventLoopServer.Configuration(server: configuration, loops: 1)
            loopConfiguration.errorHandler = { _, _ in }
            let server: EventLoopServer
            if engine == .eventloop {
                server = try EventLoopServer(configuration: loopConfiguration, logger: quiet) { EchoProtocolThatMayThrow() }
            } else {
                server = try EventLoopServer(configuration: loopConfiguration, logger: quiet) { connection in
                    var first: UInt8?
                    while true {
                        let data = try await connection.recv(maxBytes: 4096)
                        if data.isEmpty { break }
                        if first == nil { first = data.first }
                        try await connection.sendAll(data)
                    }
                    if first == throwingMark { throw HandlerThrew() }
                }
            }
            server.start()
            port = server.serverAddress.port
            stop = { server.shutdown(gracePeriod: .seconds(5)) }
        }
    }

    deinit { stop() }

    func connect() throws -> Socket {
        try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(30))
    }
}

final class EchoThenMaybeThrow: StreamRequestHandler {
    override func handle() throws {
        var first: UInt8?
        while true {
            let data = try request.recv(maxBytes: 4096)
            if data.isEmpty { break }
            if first == nil { first = data.first }
            try request.sendAll(data)
        }
        if first == throwingMark { throw HandlerThrew() }
    }
}

final class EchoProtocolThatMayThrow: StreamProtocol {
    private var transport: Transport?
    private var first: UInt8?

    func connectionMade(_ transport: Transport) { self.transport = transport }

    func dataReceived(_ data: UnsafeRawBufferPointer) {
        if first == nil { first = data.first }
        transport?.write(data)
    }

    func eofReceived() throws -> Bool {
        if first == throwingMark { throw HandlerThrew() }
        return false  // close once the echo is flushed
    }

    func connectionLost(_ error: (any Error)?) { transport = nil }
}

/// Sends `bytes`, half-closes, and reads the echo until the server closes.
func exchange(_ socket: Socket, _ bytes: [UInt8]) throws -> [UInt8] {
    try socket.sendAll(bytes)
    try socket.shutdown(.write)
    var received: [UInt8] = []
    while true {
        let chunk = try socket.recv(maxBytes: 65536)
        if chunk.isEmpty { break }
        received += chunk
    }
    socket.close()
    return received
}

/// Reads the test factory's values for one server's dimensions.
struct Readings {
    let metrics: TestMetrics
    let dimensions: [(String, String)]

    func counter(_ label: String) -> Int64 {
        (try? metrics.expectCounter(label, dimensions).totalValue) ?? -1
    }

    var active: Double { (try? metrics.expectMeter(ServerMetrics.Label.active, dimensions).lastValue) ?? -1 }

    var durations: [Int64] { (try? metrics.expectTimer(ServerMetrics.Label.duration, dimensions).values) ?? [] }
}
