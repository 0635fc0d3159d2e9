#if canImport(Glibc)
import Glibc
#endif
import LoomServer
import LoomSockets
import LoomTLS
import LoomTestSupport
import LoomThreading
import Testing

/// The agreed order on a connection: accept → PROXY header → TLS handshake → handler. A python3
/// client sends a v2 header in the clear, then speaks TLS; the handler answers, over TLS, with
/// the client address the header named.
@Suite struct ProxyThenTLSTests {
    /// Reads one line through the TLS stream, answers `CLIENT VERSION LINE`.
    final class AddressHandler: StreamRequestHandler {
        override func handle() throws {
            let line = try rfile.readLine()
            let version = proxyHeader.map { $0.version == .v1 ? "v1" : "v2" } ?? "-"
            try wfile.write(Array("\(clientAddress) \(version) ".utf8) + line)
        }
    }

    @Test(arguments: [Concurrency.threading, .pool(workers: 2)])
    func proxyHeaderThenHandshakeOnThreads(concurrency: Concurrency) throws {
        let certificates = try Certificates.shared()
        let configuration = ServerConfiguration(idleTimeout: .seconds(20), tls: try certificates.serverContext(),
                                                proxyProtocol: .required)
        let server = try TCPServer(port: 0, handler: AddressHandler.self, concurrency: concurrency,
                                   configuration: configuration)
        let thread = LoomThreading.Thread(name: "proxy-tls-serve", daemon: true) { try server.serveForever() }
        try thread.start()
        defer {
            try? server.shutdown()
            server.serverClose()
        }
        let script = """
            import socket, ssl, struct
            sig = b"\\r\\n\\r\\n\\x00\\r\\nQUIT\\n"
            body = socket.inet_aton("203.0.113.8") + socket.inet_aton("192.0.2.1") + struct.pack("!HH", 40003, 443)
            raw = socket.create_connection(('127.0.0.1', \(server.serverAddress.port)), timeout=20)
            raw.sendall(sig + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body)
            c = ssl.create_default_context(cafile='\(certificates.path("ca.pem"))')
            s = c.wrap_socket(raw, server_hostname='localhost')
            s.sendall(b'over tls\\n')
            got = b''
            while not got.endswith(b'\\n'):
                chunk = s.recv(100)
                if not chunk: break
                got += chunk
            print(got.decode().strip())
            """
        let result = try run(["python3", "-c", script])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("203.0.113.8:40003 v2 over tls"), "\(result.output)")
    }

    /// The event loop's TLS stage would see the header first: the pair is refused, clearly.
    @Test func eventLoopRefusesProxyWithTLS() throws {
        let certificates = try Certificates.shared()
        let configuration = ServerConfiguration(tls: try certificates.serverContext(), proxyProtocol: .required)
        #expect(throws: SocketError.self) {
            _ = try EventLoopServer(configuration: .init(server: configuration, loops: 1)) { TLSEchoProtocol() }
        }
    }
}
