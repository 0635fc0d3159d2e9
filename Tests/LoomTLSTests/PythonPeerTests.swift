import LoomSockets
import LoomTLS
import Testing

extension TLSTests {
    /// Python's `ssl` client (create_default_context with the test CA, mutual TLS, ALPN)
    /// against Loom's server: both sides see the other's certificate and the same protocol.
    @Test func pythonClientAgainstServer() throws {
        let certificates = try Certificates.shared()
        let context = try certificates.serverContext()
        context.verifyMode = .required
        try context.loadVerifyLocations(caFile: certificates.path("ca.pem"))
        try context.setALPNProtocols(["http/1.1"])
        let server = try TestServer { connection in
            let tls = try context.wrap(connection, serverSide: true)
            #expect(tls.peerCertificate?.commonName == "Loom Client")
            #expect(tls.selectedALPNProtocol == "http/1.1")
            #expect(tls.serverName == "localhost")
            let data = try tls.recv(maxBytes: 100)
            try tls.sendAll(data.reversed())
            tls.close()
        }
        let result = try run(["python3", "-c", """
            import socket, ssl
            c = ssl.create_default_context(cafile="ca.pem")
            c.load_cert_chain("client.pem", "client.key")
            c.set_alpn_protocols(["h2", "http/1.1"])
            with socket.create_connection(("127.0.0.1", \(server.port)), timeout=10) as raw:
                with c.wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"abc")
                    print(s.recv(100).decode(), s.selected_alpn_protocol(), s.version())
            """], in: certificates.directory)
        let errors = try server.finish()
        #expect(errors.isEmpty, "\(errors)")
        #expect(result.output.hasPrefix("cba http/1.1 TLSv1.3"), "\(result.output)")
    }

    /// Loom's client against Python's `ssl` server that requires a client certificate: Loom
    /// presents its own, and its TLS stream works under `BufferedReader` and `BufferedWriter`.
    @Test func clientAgainstPythonServer() throws {
        let certificates = try Certificates.shared()
        let server = try python("""
            import socket, ssl
            c = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile="ca.pem")
            c.verify_mode = ssl.CERT_REQUIRED
            c.load_cert_chain("leaf-chain.pem", "leaf.key")
            with socket.create_server(("127.0.0.1", 0)) as listener:
                print("PORT", listener.getsockname()[1], flush=True)
                raw, _ = listener.accept()
                raw.settimeout(10)
                with c.wrap_socket(raw, server_side=True) as s:
                    f = s.makefile("rwb")
                    for line in f:
                        f.write(s.getpeercert()["subject"][1][0][1].encode() + b": " + line.upper())
                        f.flush()
            """, in: certificates.directory)
        let port = try server.port(marker: "PORT")
        let context = try certificates.clientContext()
        try context.loadCertChain(certificate: certificates.path("client.pem"), privateKey: certificates.path("client.key"))
        let tls = try context.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
        defer { tls.close() }
        let writer = BufferedWriter(tls)
        let reader = BufferedReader(tls)
        for word in ["one", "two", "three"] {
            try writer.write(word + "\n")
            try writer.flush()
            #expect(try reader.readLine() == Array("Loom Client: \(word.uppercased())\n".utf8))
        }
        #expect(tls.peerCertificate?.subjectAlternativeNames.contains(.ipAddress("127.0.0.1")) == true)
    }
}
