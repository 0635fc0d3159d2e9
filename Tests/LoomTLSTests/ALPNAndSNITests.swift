import LoomSockets
import LoomTLS
import LoomTestSupport
import Testing

extension TLSTests {
    /// ALPN: the server picks its first protocol the client offered; no overlap means none,
    /// not a failed handshake.
    @Test func alpnChoosesTheServersPreference() throws {
        let certificates = try Certificates.shared()
        for (offered, expected) in [(["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1"), (["spdy/1"], nil)] as [([String], String?)] {
            let context = try certificates.serverContext()
            try context.setALPNProtocols(["h2", "http/1.1"])
            let seen = Shared<String?>("unset")
            let server = try TestServer { connection in
                let tls = try context.wrap(connection, serverSide: true)
                seen.value = tls.selectedALPNProtocol
                tls.close()
            }
            let client = try certificates.clientContext()
            try client.setALPNProtocols(offered)
            let tls = try client.connect(host: "localhost", port: server.port, timeout: .seconds(10))
            #expect(tls.selectedALPNProtocol == expected)
            tls.close()
            try expectClean(server)
            #expect(seen.value == expected)
        }
    }

    /// SNI: the server's callback switches to the context for other.test; the client sees the
    /// matching certificate either way, and the server sees the name asked for.
    @Test func sniChoosesTheCertificate() throws {
        let certificates = try Certificates.shared()
        let main = try certificates.serverContext()
        let other = try certificates.serverContext("other-chain.pem", key: "other.key")
        main.serverNameCallback = { name in name == "other.test" ? other : nil }
        for name in ["other.test", "localhost"] {
            let seen = Shared<String?>(nil)
            let server = try TestServer { connection in
                let tls = try main.wrap(connection, serverSide: true)
                seen.value = tls.serverName
                tls.close()
            }
            let socket = try Socket.createConnection(host: "127.0.0.1", port: server.port, timeout: .seconds(10))
            let tls = try certificates.clientContext().wrap(socket, serverHostname: name)
            #expect(tls.peerCertificate?.commonName == name)
            tls.close()
            try expectClean(server)
            #expect(seen.value == name)
        }
    }

    /// SNI against `openssl s_server -servername`, which has two certificates: Loom's client
    /// gets the one for the name it sends.
    @Test func sniAgainstOpenSSLServer() throws {
        let certificates = try Certificates.shared()
        let server = try BackgroundProcess(["openssl", "s_server", "-accept", "127.0.0.1:0",
                                            "-cert", "leaf.pem", "-cert_chain", "inter.pem", "-key", "leaf.key",
                                            "-servername", "other.test", "-cert2", "other.pem", "-key2", "other.key",
                                            "-rev"], in: certificates.directory)
        let port = try server.port()
        let tls = try certificates.clientContext().connect(host: "localhost", port: port, timeout: .seconds(10), serverHostname: "other.test")
        defer { tls.close() }
        #expect(tls.peerCertificate?.commonName == "other.test")
    }
}
