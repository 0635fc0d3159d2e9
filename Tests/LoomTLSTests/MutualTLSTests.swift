import LoomSockets
import LoomTLS
import LoomTestSupport
import Testing

extension TLSTests {
    /// A server requiring client certificates signed by the test CA, and one client.
    /// Returns (the server's error, the client's error).
    private func mutual(clientCertificate: String?) throws -> (server: TLSError?, client: TLSError?, subject: String?) {
        let certificates = try Certificates.shared()
        let context = try certificates.serverContext()
        context.verifyMode = .required
        try context.loadVerifyLocations(caFile: certificates.path("ca.pem"))
        let outcome = Shared<(TLSError?, String?)>((nil, nil))
        let server = try TestServer { connection in
            do throws(TLSError) {
                let tls = try context.wrap(connection, serverSide: true)
                outcome.value = (nil, tls.peerCertificate?.commonName)
                try tls.sendAll("welcome\n")
                tls.close()
            } catch {
                outcome.value = (error, nil)
            }
        }
        let client = try certificates.clientContext()
        if let clientCertificate {
            try client.loadCertChain(certificate: certificates.path(clientCertificate + ".pem"),
                                     privateKey: certificates.path(clientCertificate + ".key"))
        }
        var clientError: TLSError?
        do throws(TLSError) {
            let tls = try client.connect(host: "localhost", port: server.port, timeout: .seconds(10))
            defer { tls.close() }
            // With TLS 1.3 the client's handshake ends before the server judges its certificate:
            // the refusal arrives as an alert on the first read.
            let reply = try tls.recv(maxBytes: 100)
            if reply.isEmpty { clientError = TLSError("tls recv", kind: .zeroReturn, reason: "closed") }
        } catch {
            clientError = error
        }
        _ = try server.finish()
        return (outcome.value.0, clientError, outcome.value.1)
    }

    /// A client certificate signed by the CA is accepted and its subject is visible.
    @Test func mutualTLSAccepted() throws {
        let result = try mutual(clientCertificate: "client")
        #expect(result.server == nil)
        #expect(result.client == nil)
        #expect(result.subject == "Loom Client")
    }

    /// No client certificate: the server fails with OpenSSL's reason, the client gets an alert.
    @Test func mutualTLSMissingCertificate() throws {
        let result = try mutual(clientCertificate: nil)
        #expect(result.server?.kind == .protocolError)
        #expect(result.server?.reason == "peer did not return a certificate", "\(String(describing: result.server))")
        #expect(result.client?.kind == .protocolError)
        #expect(result.client?.reason.contains("certificate required") == true, "\(String(describing: result.client))")
    }

    /// A client certificate from a CA the server does not trust: a verification failure on
    /// the server, an "unknown ca" alert on the client.
    @Test func mutualTLSUnsignedCertificate() throws {
        let result = try mutual(clientCertificate: "rogueclient")
        #expect(result.server?.kind == .certificateVerification)
        #expect(result.server?.reason == "unable to get local issuer certificate")
        #expect(result.client?.reason.contains("unknown ca") == true, "\(String(describing: result.client))")
    }
}
