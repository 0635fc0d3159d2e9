#if canImport(Glibc)
import Glibc
#endif
import LoomServer
import LoomSockets
import LoomTestSupport
import Testing

/// Hostile PROXY headers against every engine: each is refused within the header's time (the
/// idle timeout, 1 s here) with one log line naming the peer and the reason; the connection is
/// closed, no descriptor is left behind, and a well-behaved client is served meanwhile.
@Suite struct ServerProxyHostileTests {
    typealias Engine = ProxyServerHarness.Engine

    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// How each hostile client behaves, and what the log line must say.
    enum Attack: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case truncatedThenSilent, garbage, malformedV1, v2Length65535, v1WithoutCRLF, onePerInterval, vanishing
        var testDescription: String { rawValue }

        /// Words of the refusal's `error`.
        var reason: String {
            switch self {
            case .truncatedThenSilent, .onePerInterval: "when the time ran out"
            case .garbage: "does not start with a PROXY header"
            case .malformedV1: "PROXY v1"
            case .v2Length65535: "declared length 65535"
            case .v1WithoutCRLF: "no CRLF within 107 bytes"
            case .vanishing: "the peer closed"
            }
        }
    }

    @Test(arguments: Engine.allCases, Attack.allCases)
    func hostileHeaderIsRefusedAlone(engine: Engine, attack: Attack) throws {
        // 3 s: the well-behaved Python client afterwards must never race it on a busy machine.
        let server = try ProxyServerHarness(engine, mode: .required, idleTimeout: .seconds(3))
        defer { try? server.stop() }
        let port = server.port
        let baseline = serverSockets(port: port)
        let started = ContinuousClock.now
        let client = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(30))
        defer { client.close() }
        switch attack {
        case .truncatedThenSilent:
            try client.sendAll("PROXY TCP4 203.0.113.7 ")
        case .garbage:
            try client.sendAll(Array(repeating: UInt8(0xFF), count: 64))
        case .malformedV1:
            try client.sendAll("PROXY TCP4 999.0.113.7 192.0.2.1 1 2\r\n")
        case .v2Length65535:
            try client.sendAll(Self.v2Signature + [0x21, 0x11, 0xFF, 0xFF])
        case .v1WithoutCRLF:
            try client.sendAll("PROXY UNKNOWN " + String(repeating: "1", count: 120))
        case .onePerInterval:
            // 45 bytes, one every 250 ms: 11 s for the whole header, which must be cut off at ~3 s.
            let header = Array("PROXY TCP4 203.0.113.7 192.0.2.1 40001 443\r\n".utf8)
            var sent = 0
            for byte in header {
                guard (try? client.sendAll([byte])) != nil else { break }
                sent += 1
                if (try? client.waitUntilClosed(within: .milliseconds(250))) == true { break }
            }
            #expect(sent < header.count, "\(engine): the whole dripped header went through")
        case .vanishing:
            try client.sendAll(Self.v2Signature + [0x21])
            client.close()
        }
        if attack != .vanishing {
            // The server closes: end of file or a reset, well before the 30-s bound.
            let ended = Result { () throws(SocketError) in try client.recv(maxBytes: 1024) }
            if case .success(let bytes) = ended { #expect(bytes.isEmpty, "\(engine): the handler answered") }
            #expect(ContinuousClock.now - started < .seconds(15), "\(engine) \(attack): closed too late")
        }
        #expect(eventually(.seconds(20)) { server.refusals.count == 1 }, "\(engine) \(attack): \(server.log.all.map { "\($0.message) \($0.metadata)" })")
        if let line = server.refusals.first {
            #expect(line.metadata["error"]?.contains(attack.reason) == true, "\(engine) \(attack): \(line.metadata)")
            #expect(line.metadata["client"]?.hasPrefix("127.0.0.1:") == true, "\(line.metadata)")
        }
        // Everyone else is served, and the hostile connection left nothing open.
        let reply = try #require(try pythonClient(port: port, kind: "v2", payload: Array("ok".utf8)))
        #expect(String(decoding: reply, as: UTF8.self) == "203.0.113.8:40003 v2\nok")
        #expect(eventually(.seconds(20)) { serverSockets(port: port) <= baseline }, "\(engine): \(serverSockets(port: port)) sockets, \(baseline) before")
        #expect(server.refusals.count == 1, "\(engine) \(attack): \(server.refusals.map(\.metadata))")
    }

    /// A client stalled in its header holds nobody else up: with one stalled connection per
    /// pool worker but one, the others are served at once.
    @Test(arguments: Engine.allCases)
    func stalledHeadersDoNotBlockOthers(engine: Engine) throws {
        let server = try ProxyServerHarness(engine, mode: .required, idleTimeout: .seconds(20))
        defer { try? server.stop() }
        let stalled = try (0..<2).map { _ in
            let socket = try Socket.createConnection(host: "127.0.0.1", port: server.port, timeout: .seconds(30))
            try socket.sendAll("PROXY TCP4 ")
            return socket
        }
        defer { for socket in stalled { socket.close() } }
        for index in 0..<5 {
            let reply = try #require(try pythonClient(port: server.port, kind: "v1", payload: Array("n\(index)".utf8)))
            #expect(String(decoding: reply, as: UTF8.self) == "203.0.113.7:40001 v1\nn\(index)", "\(engine)")
        }
    }
}

extension Socket {
    /// True when the peer closed (or reset) within `within`; false when nothing came.
    func waitUntilClosed(within duration: Duration) throws -> Bool {
        let saved = timeout
        defer { timeout = saved }
        timeout = duration
        do throws(SocketError) {
            let bytes = try recv(maxBytes: 1)
            return bytes.isEmpty
        } catch where error.kind == .timedOut {
            return false
        } catch {
            return true
        }
    }
}
