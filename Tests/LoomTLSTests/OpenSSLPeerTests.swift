import LoomSockets
import LoomTLS
import Testing

extension TLSTests {
    /// Loom's client against `openssl s_server -rev` (which answers each line reversed), in
    /// TLS 1.2 and 1.3: the chain with an intermediate verifies against the root alone, the
    /// host name is checked, and version, cipher and the certificate's fields come out.
    @Test(arguments: ["-tls1_2", "-tls1_3"])
    func clientAgainstOpenSSLServer(_ versionFlag: String) throws {
        let certificates = try Certificates.shared()
        let server = try BackgroundProcess(["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", "leaf.pem", "-cert_chain", "inter.pem",
                                            "-key", "leaf.key", "-rev", versionFlag], in: certificates.directory)
        let port = try server.port()
        let tls = try certificates.clientContext().connect(host: "localhost", port: port, timeout: .seconds(10))
        defer { tls.close() }
        #expect(tls.version == (versionFlag == "-tls1_2" ? "TLSv1.2" : "TLSv1.3"))
        #expect(tls.cipher?.secretBits ?? 0 >= 128)
        try tls.sendAll("hello loom\n")
        let reader = BufferedReader(tls)
        #expect(try reader.readLine() == Array("mool olleh\n".utf8))
        let certificate = try #require(tls.peerCertificate)
        #expect(certificate.commonName == "localhost")
        #expect(certificate.subject.contains("CN=localhost"))
        #expect(certificate.issuer.contains("CN=Loom Test Intermediate CA"))
        #expect(certificate.subjectAlternativeNames == [.dns("localhost"), .ipAddress("127.0.0.1")])
        #expect(certificate.notAfterSeconds > certificate.notBeforeSeconds)
        #expect(certificate.notAfter.hasSuffix("GMT"))
    }

    /// `openssl s_client` against Loom's server in both versions: it verifies Loom's chain and
    /// host name (`-verify_return_error`) and gets the reply, which Loom ends with close_notify.
    @Test(arguments: ["-tls1_2", "-tls1_3"])
    func openSSLClientAgainstServer(_ versionFlag: String) throws {
        let certificates = try Certificates.shared()
        let context = try certificates.serverContext()
        let server = try TestServer { connection in
            let tls = try context.wrap(connection, serverSide: true)
            let line = try BufferedReader(tls).readLine()
            try tls.sendAll(Array(String(decoding: line, as: UTF8.self).uppercased().utf8))
            _ = try tls.shutdown(.both)
        }
        let result = try run(["openssl", "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", "ca.pem",
                              "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost",
                              "-quiet", versionFlag],
                             in: certificates.directory, input: "shout please\n")
        let errors = try server.finish()
        #expect(errors.isEmpty, "\(errors)")
        #expect(result.output.contains("SHOUT PLEASE"), "\(result.output)")
        #expect(result.status == 0, "\(result.output)")
    }
}
