import CoreMetrics
import LoomMetrics
import LoomServer
import LoomSockets
import LoomTestSupport
import MetricsTestKit
import Testing

/// Known traffic through each engine, read back from swift-metrics' test factory: every counter
/// exact, the gauge back to 0, a duration per connection.
@Suite("LoomMetrics: ServerMetrics on both server families")
struct ServerMetricsTests {
    static let connections = 5
    static let bytesEach = 3000

    @Test(arguments: Engine.allCases)
    func countsConnectionsBytesErrorsAndDurations(engine: Engine) throws {
        let metrics = TestMetrics()
        let observer = ServerMetrics(name: "test-\(engine)", mode: engine.rawValue, factory: metrics)
        var configuration = ServerConfiguration()
        configuration.observer = observer
        let server = try RunningServer(engine, configuration: configuration)
        let readings = Readings(metrics: metrics, dimensions: [("server", "test-\(engine)"), ("mode", engine.rawValue)])

        for index in 0..<Self.connections {
            var bytes = pattern(Self.bytesEach, seed: index)
            bytes[0] = index == 0 ? throwingMark : 0  // the first connection's handler throws
            let echoed = try exchange(try server.connect(), bytes)
            #expect(echoed == bytes)
        }
        #expect(eventually { readings.counter(ServerMetrics.Label.accepted) == Int64(Self.connections) && readings.durations.count == Self.connections },
                "accepted \(readings.counter(ServerMetrics.Label.accepted)), durations \(readings.durations.count)")
        #expect(readings.active == 0)
        #expect(readings.counter(ServerMetrics.Label.bytesRead) == Int64(Self.connections * Self.bytesEach))
        #expect(readings.counter(ServerMetrics.Label.bytesWritten) == Int64(Self.connections * Self.bytesEach))
        #expect(readings.counter(ServerMetrics.Label.handlerErrors) == 1)
        #expect(readings.counter(ServerMetrics.Label.limitReached) == 0)
        #expect(readings.durations.allSatisfy { $0 > 0 && $0 < 60_000_000_000 }, "\(readings.durations)")
        _ = server
    }

    @Test(arguments: Engine.allCases)
    func countsEachTimeMaxConnectionsFillsUp(engine: Engine) throws {
        let metrics = TestMetrics()
        var configuration = ServerConfiguration(maxConnections: 2)
        configuration.observer = ServerMetrics(name: "full", mode: engine.rawValue, factory: metrics)
        let server = try RunningServer(engine, configuration: configuration)
        let readings = Readings(metrics: metrics, dimensions: [("server", "full"), ("mode", engine.rawValue)])

        // Two clients fill the server; the third waits in the backlog (connected, not accepted).
        let first = try server.connect()
        let second = try server.connect()
        try first.sendAll([1])
        try second.sendAll([2])
        #expect(try first.recv(maxBytes: 1) == [1])
        #expect(try second.recv(maxBytes: 1) == [2])
        let third = try server.connect()
        try third.sendAll([3])
        #expect(eventually { readings.counter(ServerMetrics.Label.limitReached) == 1 })
        #expect(readings.counter(ServerMetrics.Label.accepted) == 2)
        #expect(readings.active == 2)

        // One leaves: the third gets in, and the server is full again.
        #expect(try exchange(first, []) == [])
        #expect(try third.recv(maxBytes: 1) == [3])
        #expect(eventually { readings.counter(ServerMetrics.Label.limitReached) == 2 })
        #expect(readings.counter(ServerMetrics.Label.accepted) == 3)

        #expect(try exchange(second, []) == [])
        #expect(try exchange(third, []) == [])
        #expect(eventually { readings.active == 0 && readings.durations.count == 3 })
        #expect(readings.counter(ServerMetrics.Label.bytesRead) == 3)
        #expect(readings.counter(ServerMetrics.Label.bytesWritten) == 3)
        _ = server
    }

    @Test func everyMetricExistsAtZeroBeforeAnyConnection() throws {
        let metrics = TestMetrics()
        _ = ServerMetrics(name: "idle", mode: "threading", factory: metrics)
        let readings = Readings(metrics: metrics, dimensions: [("server", "idle"), ("mode", "threading")])
        for label in [ServerMetrics.Label.accepted, ServerMetrics.Label.limitReached, ServerMetrics.Label.bytesRead,
                      ServerMetrics.Label.bytesWritten, ServerMetrics.Label.handlerErrors] {
            #expect(readings.counter(label) == 0, "\(label)")
        }
        #expect(readings.active == 0)
    }

    @Test func aConfigurationComparesItsObserverByIdentity() {
        let metrics = TestMetrics()
        let one = ServerMetrics(name: "a", mode: "m", factory: metrics)
        let other = ServerMetrics(name: "a", mode: "m", factory: metrics)
        var a = ServerConfiguration()
        var b = ServerConfiguration()
        #expect(a == b)
        a.observer = one
        #expect(a != b)
        b.observer = one
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        b.observer = other
        #expect(a != b)
    }
}

/// A connection that never reaches a handler (a refused PROXY header) still leaves the gauge at 0.
@Suite("LoomMetrics: refused PROXY headers")
struct RefusedProxyHeaderMetricsTests {
    @Test(arguments: Engine.allCases)
    func aRefusedHeaderIsCountedInAndOut(engine: Engine) throws {
        let metrics = TestMetrics()
        var configuration = ServerConfiguration(proxyProtocol: .required)
        configuration.observer = ServerMetrics(name: "proxy", mode: engine.rawValue, factory: metrics)
        let server = try RunningServer(engine, configuration: configuration)
        let readings = Readings(metrics: metrics, dimensions: [("server", "proxy"), ("mode", engine.rawValue)])
        let garbage = Array("NOT A PROXY HEADER\r\n".utf8)
        #expect(try Self.sendToARefusingServer(try server.connect(), garbage) == [])
        #expect(eventually { readings.durations.count == 1 }, "durations \(readings.durations)")
        #expect(readings.counter(ServerMetrics.Label.accepted) == 1)
        #expect(readings.active == 0)
        #expect(readings.counter(ServerMetrics.Label.bytesRead) == Int64(garbage.count))
        #expect(readings.counter(ServerMetrics.Label.bytesWritten) == 0)
        _ = server
    }

    /// Sends `bytes`, half-closes and reads to the end, where the server may refuse first: it may
    /// close (even reset) before the half-close or the read, which is the end of its reply.
    static func sendToARefusingServer(_ socket: Socket, _ bytes: [UInt8]) throws -> [UInt8] {
        defer { socket.close() }
        try socket.sendAll(bytes)
        try? socket.shutdown(.write)
        var received: [UInt8] = []
        while let chunk = try? socket.recv(maxBytes: 65536), !chunk.isEmpty { received += chunk }
        return received
    }
}
