#if canImport(Glibc)
import Glibc
#endif
import LoomServer
import LoomSockets
import LoomTLS
import LoomTestSupport
import LoomThreading
import Testing

// `ServerConfiguration(tls:)` on every engine, against Loom's client, Python's `ssl` and
// `openssl s_client`, and against hostile clients.
extension TLSTests {
    /// Byte-exact echo of 1 MiB + 17 bytes (more than the event loop's read buffer and write
    /// high-water mark, so buffering and backpressure are crossed), then a clean close.
    @Test(arguments: Engine.allCases)
    func serverEchoesByteExact(engine: Engine) throws {
        let server = try TLSEchoServer(engine, context: Certificates.shared().serverContext())
        defer { server.stop() }
        let data = pattern(1_048_576 + 17, seed: 9)
        let received = try server.echo(data)
        #expect(received.count == data.count)
        #expect(same(received, data))
        #expect(eventually(.seconds(20)) { server.openConnections == 0 })
        #expect(server.log.all.filter { $0.level >= .warning }.isEmpty, "\(server.tlsLines)")
    }

    /// Python's `ssl` as the client, TLS 1.2 and 1.3.
    @Test(arguments: Engine.allCases)
    func serverSpeaksToPython(engine: Engine) throws {
        let certificates = try Certificates.shared()
        let server = try TLSEchoServer(engine, context: certificates.serverContext())
        defer { server.stop() }
        let connect = server.unixPath.map { "socket.socket(socket.AF_UNIX); raw.connect('\($0)')" }
            ?? "socket.create_connection(('127.0.0.1', \(server.port)))"
        let script = """
            import socket, ssl
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                c = ssl.create_default_context(cafile='\(certificates.path("ca.pem"))')
                c.maximum_version = version
                raw = \(connect)
                s = c.wrap_socket(raw, server_hostname='localhost')
                s.sendall(b'hello ' + s.version().encode())
                got = b''
                while len(got) < 13:
                    got += s.recv(100)
                print(got.decode())
                s.unwrap().close()
            """
        let result = try run(["python3", "-c", script])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("hello TLSv1.2"), "\(result.output)")
        #expect(result.output.contains("hello TLSv1.3"), "\(result.output)")
    }

    /// `openssl s_client` as the client (TCP engines).
    @Test(arguments: [Engine.threading, .eventloop, .async, .serial])
    func serverSpeaksToOpenSSL(engine: Engine) throws {
        let certificates = try Certificates.shared()
        let server = try TLSEchoServer(engine, context: certificates.serverContext())
        defer { server.stop() }
        // s_client quits when its input ends, so the input stays open until the echo is back
        // (at most 30 s), however slow the machine.
        let result = try run(["sh", "-c", """
            out=$(mktemp); (printf 'ping from s_client\\n'; i=0; while [ $i -lt 300 ] && ! grep -q 'ping from s_client' "$out"; \
            do sleep 0.1; i=$((i+1)); done) | openssl s_client -connect 127.0.0.1:\(server.port) \
            -CAfile \(certificates.path("ca.pem")) -verify_return_error -servername localhost -quiet -no_ign_eof > "$out" 2>&1; \
            cat "$out"; rm -f "$out"
            """])
        #expect(result.output.contains("ping from s_client"), "\(result.output)")
    }

    /// Mutual TLS: a client certificate signed by the CA is accepted and a rogue one refused,
    /// with a log line naming the peer and OpenSSL's reason; the server goes on serving.
    @Test(arguments: Engine.allCases)
    func serverRequiresClientCertificates(engine: Engine) throws {
        let certificates = try Certificates.shared()
        let context = try certificates.serverContext()
        try context.loadVerifyLocations(caFile: certificates.path("ca.pem"))
        context.verifyMode = .required
        let server = try TLSEchoServer(engine, context: context)
        defer { server.stop() }
        func client(_ name: String?) throws -> TLSContext {
            let client = try certificates.clientContext()
            if let name {
                try client.loadCertChain(certificate: certificates.path(name + ".pem"), privateKey: certificates.path(name + ".key"))
            }
            return client
        }
        #expect(try server.echo(Array("signed".utf8), context: client("client")) == Array("signed".utf8))
        // TLS 1.3: the client finishes first and learns of the refusal on its first read.
        #expect(throws: (any Error).self) { _ = try server.echo(Array("rogue".utf8), context: client("rogueclient")) }
        #expect(throws: (any Error).self) { _ = try server.echo(Array("none".utf8), context: client(nil)) }
        #expect(eventually(.seconds(20)) { server.tlsLines.count >= 2 }, "\(server.tlsLines)")
        let lines = server.tlsLines.joined(separator: "\n")
        #expect(lines.contains("127.0.0.1") || server.unixPath != nil, "\(lines)")
        #expect(lines.contains("certificate"), "\(lines)")
        #expect(try server.echo(Array("still serving".utf8), context: client("client")) == Array("still serving".utf8))
    }

    /// Hostile clients, each on every engine: a clear log line, the connection closed, the
    /// server serving others, and no descriptor or connection left behind.
    @Test(arguments: Engine.allCases)
    func serverSurvivesHostileClients(engine: Engine) throws {
        let certificates = try Certificates.shared()
        // 5 s: well-behaved exchanges between the attacks must never race the idle timeout.
        let server = try TLSEchoServer(engine, context: certificates.serverContext(), idleTimeout: .seconds(5))
        defer { server.stop() }
        let baseline = server.serverDescriptors
        // A pool starts its workers as work arrives: allow for all of them.
        let threadsBefore = LoomThreading.Thread.enumerate().count + (engine == .pool ? 4 : 0)

        func expectDropped(_ what: String, logged marker: String, _ client: (Socket) throws -> Void) throws {
            let before = server.tlsLines.count
            let socket = try server.connectRaw(timeout: .seconds(20))
            defer { socket.close() }
            try client(socket)
            // The server closes the connection: end of file or a reset, well inside the bound.
            let ended = Result { () throws(SocketError) in
                while true { if try socket.recv(maxBytes: 4096).isEmpty { return } }
            }
            if case .failure(let error) = ended { #expect(error.kind == .connectionReset, "\(what): \(error)") }
            #expect(eventually(.seconds(20)) { server.tlsLines.count > before }, "\(what): no log line")
            let line = server.tlsLines.dropFirst(before).joined(separator: "\n")
            #expect(line.lowercased().contains(marker), "\(what): \(line)")
            #expect(try server.echo(Array("\(what): still serving".utf8)) == Array("\(what): still serving".utf8))
        }

        try expectDropped("plaintext", logged: "http request") { socket in
            try socket.sendAll("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        }
        try expectDropped("garbage", logged: "tls handshake") { socket in
            try socket.sendAll(pattern(4096, seed: 3).map { $0 | 0x80 })
        }
        // The start of a real ClientHello, then silence: dropped after the 5 s timeout.
        try expectDropped("stalled handshake", logged: "tls handshake") { socket in
            try socket.sendAll([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
        }
        try expectDropped("closed mid-handshake", logged: "tls handshake") { socket in
            try socket.sendAll([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            try socket.shutdown(.write)
        }

        // Handshake done, then the transport closed without close_notify: the server ends the
        // connection as at end of file (Python's suppress_ragged_eofs) and serves on.
        let tls = try server.connect()
        try tls.sendAll("x")
        #expect(try tls.recv(maxBytes: 10) == Array("x".utf8))
        tls.socket.close()
        if engine.isEventLoop {
            #expect(eventually(.seconds(20)) { server.tlsLines.contains { $0.contains("without close_notify") } },
                    "\(server.tlsLines)")
        }
        #expect(try server.echo(Array("after ragged eof".utf8)) == Array("after ragged eof".utf8))

        #expect(eventually(.seconds(20)) { server.openConnections == 0 }, "\(server.openConnections) connections left")
        if baseline > 0 {
            #expect(eventually(.seconds(20)) { server.serverDescriptors == baseline }, "\(server.serverDescriptors) vs \(baseline)")
        }
        #expect(eventually(.seconds(20)) { LoomThreading.Thread.enumerate().count <= threadsBefore })
    }

    /// Many handshakes through each family: nothing grows.
    @Test(arguments: [Engine.threading, .eventloop])
    func serverHandshakesDoNotLeak(engine: Engine) throws {
        let server = try TLSEchoServer(engine, context: Certificates.shared().serverContext())
        defer { server.stop() }
        let client = try Certificates.shared().clientContext()
        for _ in 0..<20 { _ = try server.echo([1], context: client) }
        let descriptors = openDescriptorCount()
        for index in 0..<200 { #expect(try server.echo([UInt8(index & 0xFF)], context: client) == [UInt8(index & 0xFF)]) }
        #expect(eventually(.seconds(20)) { server.openConnections == 0 })
        // Process-wide: other targets' suites hold descriptors meanwhile; a leak would be 200.
        #expect(eventually { openDescriptorCount() <= descriptors + 64 }, "\(openDescriptorCount()) vs \(descriptors)")
    }

    /// A client context is refused when the server is made, with a clear message.
    @Test func serverRefusesAClientContext() throws {
        let context = try Certificates.shared().clientContext()
        #expect(throws: ServerError.self) {
            _ = try TCPServer(port: 0, handler: TLSEchoHandler.self, configuration: ServerConfiguration(tls: context))
        }
        let a = ServerConfiguration(tls: context)
        #expect(a == ServerConfiguration(tls: context))
        #expect(a != ServerConfiguration(tls: try TLSContext(purpose: .clientAuth)))
        #expect(a.hashValue == ServerConfiguration(tls: context).hashValue)
    }
}

extension TLSTests {
    /// Without an idle timeout a stalled handshake is still dropped, after the documented 10 s
    /// default, on both families at once (one wait for both).
    @Test func stalledHandshakeIsDroppedByTheDefaultTimeout() throws {
        let context = try Certificates.shared().serverContext()
        let servers = try [Engine.threading, .eventloop].map { try TLSEchoServer($0, context: context, idleTimeout: nil) }
        defer { servers.forEach { $0.stop() } }
        let start = ContinuousClock.now
        let sockets = try servers.map { server in
            let socket = try server.connectRaw(timeout: .seconds(40))
            try socket.sendAll([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            return socket
        }
        defer { sockets.forEach { $0.close() } }
        for (server, socket) in zip(servers, sockets) {
            _ = try? socket.recv(maxBytes: 100)  // end of file (or a reset) when the server drops it
            let waited = ContinuousClock.now - start
            #expect(waited >= .seconds(9) && waited < .seconds(35), "\(server.engine): \(waited)")
            #expect(eventually(.seconds(20)) { server.tlsLines.contains { $0.lowercased().contains("tls handshake") } },
                    "\(server.engine): \(server.tlsLines)")
        }
    }
}

/// Counts its callbacks: `connectionLost` must only ever follow `connectionMade`.
final class CountingProtocol: StreamProtocol {
    static let made = Shared(0)
    static let lost = Shared(0)
    var transport: Transport?
    func connectionMade(_ transport: Transport) {
        self.transport = transport
        Self.made.update { $0 += 1 }
    }
    func dataReceived(_ data: UnsafeRawBufferPointer) { transport?.write(data) }
    func connectionLost(_ error: (any Error)?) {
        transport = nil
        Self.lost.update { $0 += 1 }
    }
}

extension TLSTests {
    /// A connection whose handshake fails was never made for its protocol: no `connectionLost`,
    /// as asyncio's SSLProtocol; a completed one gets both, once.
    @Test func failedHandshakeNeverReachesTheProtocol() throws {
        let settings = EventLoopServer.Configuration(
            port: 0, server: ServerConfiguration(idleTimeout: .seconds(5), tls: try Certificates.shared().serverContext()), loops: 1)
        let log = LogRecorder()
        let server = try EventLoopServer(configuration: settings, logger: log.logger) { CountingProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let port = server.serverAddress.port
        for bytes in [Array("GET / HTTP/1.0\r\n\r\n".utf8), [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]] {
            let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(20))
            try socket.sendAll(bytes)
            _ = try? socket.recv(maxBytes: 100)
            socket.close()
        }
        #expect(eventually(.seconds(20)) { server.connectionCount == 0 })
        #expect(CountingProtocol.made.value == 0 && CountingProtocol.lost.value == 0)
        let tls = try Certificates.shared().clientContext().connect(host: "127.0.0.1", port: port, timeout: .seconds(20), serverHostname: "localhost")
        try tls.sendAll("made")
        #expect(try tls.recv(maxBytes: 10) == Array("made".utf8))
        tls.close()
        #expect(eventually(.seconds(20)) { CountingProtocol.lost.value == 1 })
        #expect(CountingProtocol.made.value == 1)
    }
}
