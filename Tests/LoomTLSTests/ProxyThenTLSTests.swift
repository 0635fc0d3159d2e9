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
        let result = try proxiedTLSClient(port: server.serverAddress.port, certificates: certificates)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("203.0.113.8:40003 v2 over tls"), "\(result.output)")
    }

    /// The same order on the event loops (Protocol and async handlers): the PROXY stage reads the
    /// header in the clear, then starts the TLS stage with the bytes that followed it; the header
    /// in one write, and split so that the stage must wait for its rest.
    @Test(arguments: [false, true], [false, true])
    func proxyHeaderThenHandshakeOnEventLoops(async: Bool, split: Bool) throws {
        let certificates = try Certificates.shared()
        let configuration = ServerConfiguration(idleTimeout: .seconds(20), tls: try certificates.serverContext(),
                                                proxyProtocol: .required)
        let settings = EventLoopServer.Configuration(server: configuration, loops: 1)
        let server = async
            ? try EventLoopServer(configuration: settings) { connection in
                var line: [UInt8] = []
                while line.last != UInt8(ascii: "\n") {
                    let data = try await connection.recv(maxBytes: 100)
                    if data.isEmpty { return }
                    line += data
                }
                let version = connection.proxyHeader.map { $0.version == .v1 ? "v1" : "v2" } ?? "-"
                try await connection.sendAll(Array("\(connection.peerAddress.map { "\($0)" } ?? "?") \(version) ".utf8) + line)
            }
            : try EventLoopServer(configuration: settings) { AddressProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let result = try proxiedTLSClient(port: server.serverAddress.port, certificates: certificates, header: split)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("203.0.113.8:40003 v2 over tls"), "\(result.output)")
    }

    /// A python3 client: a v2 header for 203.0.113.8:40003 in the clear, then TLS, one line.
    private func proxiedTLSClient(port: Int, certificates: Certificates, header split: Bool = false) throws -> (status: Int32, output: String) {
        let script = """
            import socket, ssl, struct, time
            sig = b"\\r\\n\\r\\n\\x00\\r\\nQUIT\\n"
            body = socket.inet_aton("203.0.113.8") + socket.inet_aton("192.0.2.1") + struct.pack("!HH", 40003, 443)
            header = sig + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body
            raw = socket.create_connection(('127.0.0.1', \(port)), timeout=20)
            if \(split ? "True" : "False"):
                raw.sendall(header[:9]); time.sleep(0.2); raw.sendall(header[9:])
            else:
                raw.sendall(header)
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
        return (result.status, result.output)
    }

    /// Answers the first line with `CLIENT VERSION LINE`, as ``AddressHandler`` does on threads.
    final class AddressProtocol: StreamProtocol {
        var transport: Transport?
        var line: [UInt8] = []
        func connectionMade(_ transport: Transport) { self.transport = transport }
        func dataReceived(_ data: UnsafeRawBufferPointer) {
            guard let transport else { return }
            line += data
            guard line.last == UInt8(ascii: "\n") else { return }
            let version = transport.proxyHeader.map { $0.version == .v1 ? "v1" : "v2" } ?? "-"
            transport.write(Array("\(transport.peerAddress.map { "\($0)" } ?? "?") \(version) ".utf8) + line)
            line = []
        }
        func connectionLost(_ error: (any Error)?) { transport = nil }
    }
}
