#if canImport(Glibc)
import Glibc
#endif
import LoomServer
import LoomSockets
import LoomTestSupport
import Testing

/// `ServerConfiguration(proxyProtocol:)` in every engine (thread per connection, pool, event loop,
/// async/await), with headers sent by python3 over raw sockets: the handler sees the original
/// client, the bytes after the header arrive exactly, and refused headers cost one log line.
@Suite struct ServerProxyProtocolTests {
    typealias Engine = ProxyServerHarness.Engine

    /// Application bytes that look like headers themselves, CRLFs, every byte value, and enough
    /// of them to span several reads: the server must pass them on untouched.
    static let payload: [UInt8] =
        Array("PROXY TCP4 6.6.6.6 7.7.7.7 1 2\r\n".utf8) + [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51]
        + (0..<256).map { UInt8($0) } + pattern(30_000, seed: 7)

    static let cases: [(kind: String, client: String, version: String)] = [
        ("v1", "203.0.113.7:40001", "v1"),
        ("v1-ipv6", "[2001:db8::7]:40002", "v1"),
        ("v2", "203.0.113.8:40003", "v2"),
        ("v2-ipv6", "[2001:db8::8]:40004", "v2"),
        ("v2-unix", "unix:/run/client.sock", "v2"),
        ("v2-tlv", "203.0.113.9:40005", "v2"),
    ]

    @Test(arguments: Engine.allCases)
    func handlerSeesTheOriginalClientAndTheBytesAfterTheHeader(engine: Engine) throws {
        let server = try ProxyServerHarness(engine, mode: .required)
        defer { try? server.stop() }
        for (kind, client, version) in Self.cases {
            for pieces in [1, 3] {
                let reply = try #require(try pythonClient(port: server.port, kind: kind, payload: Self.payload, pieces: pieces))
                let expected = Array("\(client) \(version)\n".utf8) + Self.payload
                let exact = same(reply, expected)
                #expect(exact, "\(engine) \(kind) in \(pieces): \(String(decoding: reply.prefix(60), as: UTF8.self))")
            }
        }
        #expect(server.refusals.isEmpty, "\(server.refusals.map(\.metadata))")
    }

    /// LOCAL (a health check) and v1 UNKNOWN name no client: the connection's own peer stays.
    @Test(arguments: Engine.allCases)
    func localAndUnknownKeepTheRealPeer(engine: Engine) throws {
        let server = try ProxyServerHarness(engine, mode: .required)
        defer { try? server.stop() }
        for (kind, version) in [("v2-local", "v2"), ("v1-unknown", "v1")] {
            let reply = try #require(try pythonClient(port: server.port, kind: kind, payload: Array("ping".utf8)))
            let text = String(decoding: reply, as: UTF8.self)
            #expect(text.hasPrefix("127.0.0.1:") && text.hasSuffix(" \(version)\nping"), "\(engine) \(kind): \(text)")
        }
    }

    @Test(arguments: Engine.allCases)
    func optionalModeServesPlainConnectionsToo(engine: Engine) throws {
        let server = try ProxyServerHarness(engine, mode: .optional)
        defer { try? server.stop() }
        // Not a header (a header in .optional mode is one, whatever the client meant).
        let bytes = Array("hello ".utf8) + Self.payload
        let plain = try #require(try pythonClient(port: server.port, kind: "none", payload: bytes))
        let text = String(decoding: plain.prefix(40), as: UTF8.self)
        #expect(text.hasPrefix("127.0.0.1:"), "\(engine): \(text)")
        let exact = same(Array(plain.drop { $0 != 0x0A }.dropFirst()), bytes)
        #expect(exact, "\(engine): plain bytes changed")
        // Shorter than a signature, and a partial signature the application sent itself.
        for short in ["hi", "PRO", "\r\n"] {
            let reply = try #require(try pythonClient(port: server.port, kind: "none", payload: Array(short.utf8)))
            #expect(String(decoding: reply, as: UTF8.self).hasSuffix(" -\n" + short), "\(engine) \(short.debugDescription)")
        }
        let proxied = try #require(try pythonClient(port: server.port, kind: "v2", payload: Array("x".utf8)))
        #expect(String(decoding: proxied, as: UTF8.self) == "203.0.113.8:40003 v2\nx", "\(engine)")
        #expect(server.refusals.isEmpty, "\(server.refusals.map(\.metadata))")
    }

    @Test(arguments: Engine.allCases)
    func requiredModeRefusesAConnectionWithoutHeader(engine: Engine) throws {
        let server = try ProxyServerHarness(engine, mode: .required)
        defer { try? server.stop() }
        let reply = try #require(try pythonClient(port: server.port, kind: "none", payload: Array("GET / HTTP/1.0\r\n\r\n".utf8)))
        #expect(reply.isEmpty, "\(engine): the handler ran: \(String(decoding: reply, as: UTF8.self))")
        #expect(eventually(.seconds(20)) { server.refusals.count == 1 }, "\(engine): \(server.log.all.map(\.message))")
        let line = try #require(server.refusals.first)
        #expect(line.metadata["error"]?.contains("does not start with a PROXY header") == true, "\(line.metadata)")
        #expect(line.metadata["client"]?.hasPrefix("127.0.0.1:") == true, "\(line.metadata)")
        // The server carries on.
        let next = try #require(try pythonClient(port: server.port, kind: "v1", payload: Array("after".utf8)))
        #expect(String(decoding: next, as: UTF8.self) == "203.0.113.7:40001 v1\nafter")
    }

    @Test func datagramServersRefuseTheProxyProtocol() throws {
        #expect(throws: ServerError.self) {
            _ = try UDPServer(port: 0, handler: BaseRequestHandler.self,
                              configuration: ServerConfiguration(proxyProtocol: .required))
        }
    }
}
