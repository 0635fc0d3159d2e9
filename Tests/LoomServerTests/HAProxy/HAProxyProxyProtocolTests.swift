#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import LoomServer
import LoomSockets
import LoomTestSupport
import LoomThreading
import Synchronization
import Testing

/// The PROXY parser against what a real HAProxy sends (v1 and v2, TLVs included): plain Loom
/// `Socket` backends read the header with the blocking reader and answer with the client
/// address it recovered.
@Suite(.serialized) struct HAProxyProxyProtocolTests {
    /// One backend: accepts `connections` connections (each accept bounded), reads the header,
    /// then one line, answers `SOURCE LINE\n` and closes.
    final class Backend: Sendable {
        struct Record: Sendable {
            let peer: SocketAddress
            let header: ProxyHeader?
            let error: ProxyProtocolError?
        }

        /// What the backend saw, one record a connection.
        final class Records: Sendable {
            private let list = Protected<[Record]>([])
            func append(_ record: Record) { list.withLock { $0.append(record) } }
            var all: [Record] { list.withLock { $0 } }
        }

        let listener: Socket
        let records = Records()
        private let thread: LoomThreading.Thread

        init(connections: Int, mode: ProxyProtocolMode = .required) throws {
            let listener = try Socket.createServer(host: "127.0.0.1", port: 0)
            listener.timeout = .seconds(20)
            self.listener = listener
            let records = self.records
            thread = LoomThreading.Thread(name: "haproxy-backend", daemon: true) {
                for _ in 0..<connections {
                    guard let (connection, peer) = try? listener.accept() else { return }
                    connection.timeout = .seconds(10)
                    do {
                        let header = try ProxyHeaderReader(mode: mode, timeout: .seconds(10)).read(from: connection)
                        let line = try BufferedReader(connection).readLine(maxLength: 1024)
                        let source = header?.clientAddress.map { "\($0)" } ?? "-"
                        try connection.sendAll(Array("\(source) ".utf8) + line)
                        records.append(Record(peer: peer, header: header, error: nil))
                    } catch let error as ProxyProtocolError {
                        records.append(Record(peer: peer, header: nil, error: error))
                    } catch {
                        records.append(Record(peer: peer, header: nil, error: .socket(SocketError("test", errno: EIO))))
                    }
                    connection.close()
                }
            }
            try thread.start()
        }

        var port: Int { (try? listener.localAddress.port) ?? -1 }

        func finish() throws {
            #expect(try thread.join(timeout: .seconds(30)))
            listener.close()
        }
    }

    /// Connects to HAProxy, sends a line, returns (the client's own address, the reply).
    func ask(port: Int, _ line: String) throws -> (SocketAddress, String) {
        let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(10))
        defer { socket.close() }
        try socket.sendAll(line + "\n")
        var reply: [UInt8] = []
        while true {
            let chunk = try socket.recv(maxBytes: 4096)
            if chunk.isEmpty { break }
            reply += chunk
        }
        return (try socket.localAddress, String(decoding: reply, as: UTF8.self))
    }

    func check(_ sendProxy: HAProxy.SendProxy, version: ProxyHeader.Version) throws {
        let a = try Backend(connections: 2)
        let b = try Backend(connections: 2)
        let haproxy = try HAProxy(backends: [a.port, b.port], sendProxy: sendProxy)
        defer { haproxy.stop() }
        var clients: [SocketAddress] = []
        for index in 0..<4 {
            let (client, reply) = try ask(port: haproxy.port, "hello \(index)")
            #expect(reply == "\(client) hello \(index)\n", "the backend saw the real client, not HAProxy")
            clients.append(client)
        }
        try a.finish()
        try b.finish()
        let records = a.records.all + b.records.all
        #expect(a.records.all.count == 2 && b.records.all.count == 2, "round robin reached both")
        for record in records {
            let header = try #require(record.header, "\(String(describing: record.error)); haproxy log: \(haproxy.log)")
            #expect(header.version == version && header.command == .proxy && header.transport == .stream)
            #expect(header.destination == (try SocketAddress(host: "127.0.0.1", port: haproxy.port)))
            #expect(clients.contains(try #require(header.source)))
            #expect(!clients.contains(record.peer), "the TCP peer is HAProxy itself")
        }
    }

    @Test func haproxySendProxyV2() throws {
        try check(.v2(), version: .v2)
    }

    @Test func haproxySendProxyV1() throws {
        try check(.v1, version: .v1)
    }

    /// `proxy-v2-options unique-id,crc32c`: HAProxy's checksum verifies, its unique id decodes.
    @Test func haproxyUniqueIDAndChecksum() throws {
        let backend = try Backend(connections: 1)
        let haproxy = try HAProxy(backends: [backend.port], sendProxy: .v2(options: ["unique-id", "crc32c"]))
        defer { haproxy.stop() }
        let (client, reply) = try ask(port: haproxy.port, "id")
        #expect(reply == "\(client) id\n")
        try backend.finish()
        let header = try #require(backend.records.all.first?.header)
        #expect(header.tlvs.contains { $0.kind == .crc32c })
        let id = String(decoding: try #require(header.uniqueID), as: UTF8.self)
        // unique-id-format %{+X}o%ci:%cp_…: the client's address and port in hex come first.
        let expected = "7F000001:" + String(client.port, radix: 16, uppercase: true)
        #expect(id.hasPrefix(expected), "\(id)")
    }

    /// HAProxy terminating TLS (a certificate made now with `openssl`, a Python TLS client with
    /// ALPN h2 and SNI): the SSL TLV, its sub-TLVs, ALPN and authority decode.
    @Test func haproxyTLSTLVs() throws {
        let backend = try Backend(connections: 1)
        var template = Array("/tmp/loom-tls-XXXXXX".utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer {
            for name in ["key.pem", "cert.pem", "both.pem", "openssl.log", "client.log", "client.py"] {
                unlink(directory + "/" + name)
            }
            rmdir(directory)
        }
        let made = try HAProxy.run(
            ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=loom.test", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem"],
            log: directory + "/openssl.log")
        #expect(made == 0, "\(HAProxy.read(directory + "/openssl.log"))")
        try HAProxy.write(HAProxy.read(directory + "/cert.pem") + HAProxy.read(directory + "/key.pem"),
                          to: directory + "/both.pem")
        let haproxy = try HAProxy(backends: [backend.port], sendProxy: .v2(options: ["ssl", "cert-cn", "ssl-cipher", "cert-sig", "cert-key", "authority", "crc32c"]),
                                  tlsCertificate: directory + "/both.pem")
        defer { haproxy.stop() }
        let script = """
            import socket, ssl, sys
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            raw = socket.create_connection(("127.0.0.1", \(try #require(haproxy.tlsPort))), timeout=10)
            s = ctx.wrap_socket(raw, server_hostname="loom.test")
            s.sendall(b"tls\\n")
            reply = b""
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                reply += chunk
            print(reply.decode(), s.getsockname())
            """
        try HAProxy.write(script, to: directory + "/client.py")
        let status = try HAProxy.run(["/usr/bin/env", "python3", directory + "/client.py"], log: directory + "/client.log")
        #expect(status == 0, "\(HAProxy.read(directory + "/client.log"))")
        try backend.finish()
        let header = try #require(backend.records.all.first?.header, "\(haproxy.log)")
        #expect(HAProxy.read(directory + "/client.log").hasPrefix("\(try #require(header.source)) tls"))
        #expect(header.alpn == "h2")
        #expect(header.authority == "loom.test")
        let tls = try #require(header.tls)
        #expect(tls.isTLS && !tls.hasCertificateOnConnection)
        #expect(tls.version?.hasPrefix("TLSv1.") == true)
        #expect(tls.cipher?.isEmpty == false)
    }
}
