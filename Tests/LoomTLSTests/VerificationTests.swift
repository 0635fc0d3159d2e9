import LoomSockets
import LoomTLS
import Testing

extension TLSTests {
    /// Runs a Loom server presenting `certificate`/`key` for one connection and returns the
    /// client's handshake error (nil if it succeeded).
    private func clientError(certificate: String, key: String, serverHostname: String,
                             client: TLSContext? = nil) throws -> TLSError? {
        let certificates = try Certificates.shared()
        let context = try certificates.serverContext(certificate, key: key)
        let server = try TestServer { connection in
            _ = try? context.wrap(connection, serverSide: true)
        }
        defer { _ = try? server.finish() }
        let socket = try Socket.createConnection(host: "127.0.0.1", port: server.port, timeout: .seconds(10))
        defer { socket.close() }
        let clientContext = try client ?? certificates.clientContext()
        do throws(TLSError) {
            let tls = try clientContext.wrap(socket, serverHostname: serverHostname)
            tls.close()
            return nil
        } catch {
            return error
        }
    }

    /// A chain through an intermediate CA verifies with only the root trusted, by DNS name and
    /// by IP address (the certificate's SAN).
    @Test func chainVerifiesByNameAndAddress() throws {
        #expect(try clientError(certificate: "leaf-chain.pem", key: "leaf.key", serverHostname: "localhost") == nil)
        #expect(try clientError(certificate: "leaf-chain.pem", key: "leaf.key", serverHostname: "127.0.0.1") == nil)
    }

    /// A server without its intermediate cannot be verified: the client names the reason.
    @Test func missingIntermediateFails() throws {
        let error = try #require(try clientError(certificate: "leaf.pem", key: "leaf.key", serverHostname: "localhost"))
        #expect(error.kind == .certificateVerification)
        #expect(error.reason == "unable to get local issuer certificate")
    }

    /// A self-signed certificate: Python's "self-signed certificate" (OpenSSL 3.0 spells it
    /// "self signed certificate").
    @Test func selfSignedFails() throws {
        let error = try #require(try clientError(certificate: "self.pem", key: "self.key", serverHostname: "localhost"))
        #expect(error.kind == .certificateVerification)
        #expect(error.reason.contains("self") && error.reason.contains("signed certificate"), "\(error)")
        #expect(error.description.hasPrefix("tls handshake: certificate verify failed: "))
    }

    /// A certificate for another name: "hostname mismatch"; for another address: "IP address mismatch".
    @Test func hostnameMismatchFails() throws {
        let error = try #require(try clientError(certificate: "leaf-chain.pem", key: "leaf.key", serverHostname: "wrong.example"))
        #expect(error.kind == .certificateVerification)
        #expect(error.reason == "hostname mismatch")
        #expect(error.verifyCode == 62)
        let address = try #require(try clientError(certificate: "leaf-chain.pem", key: "leaf.key", serverHostname: "127.0.0.2"))
        #expect(address.reason == "IP address mismatch")
    }

    /// An expired certificate: "certificate has expired".
    @Test func expiredCertificateFails() throws {
        let error = try #require(try clientError(certificate: "expired-chain.pem", key: "expired.key", serverHostname: "localhost"))
        #expect(error.kind == .certificateVerification)
        #expect(error.reason == "certificate has expired")
    }

    /// `checkHostname = false` skips the name but still verifies the chain; `verifyMode = .none`
    /// (Python's CERT_NONE) accepts anything.
    @Test func relaxedClientSettings() throws {
        let certificates = try Certificates.shared()
        let noNameCheck = try certificates.clientContext()
        noNameCheck.checkHostname = false
        #expect(try clientError(certificate: "leaf-chain.pem", key: "leaf.key", serverHostname: "wrong.example", client: noNameCheck) == nil)
        #expect(try clientError(certificate: "self.pem", key: "self.key", serverHostname: "x", client: noNameCheck)?.kind == .certificateVerification)
        let insecure = try TLSContext(purpose: .serverAuth)
        insecure.checkHostname = false
        insecure.verifyMode = .none
        #expect(try clientError(certificate: "self.pem", key: "self.key", serverHostname: "wrong.example", client: insecure) == nil)
    }

    /// Misuse Python rejects with ValueError: a clear error, no connection attempt.
    @Test func misuseIsRejected() throws {
        let certificates = try Certificates.shared()
        let (a, b) = try Socket.pair()
        defer { a.close(); b.close() }
        let client = try certificates.clientContext()
        #expect(throws: TLSError.self) { try client.wrap(a) }   // checkHostname without a name
        let noVerify = try certificates.clientContext()
        noVerify.verifyMode = .none
        let error = #expect(throws: TLSError.self) { try noVerify.wrap(a, serverHostname: "localhost") }
        #expect(error?.kind == .invalidConfiguration)
        #expect(throws: TLSError.self) { try client.wrap(a, serverSide: true) }   // client context on a server
        #expect(throws: TLSError.self) { try client.setALPNProtocols([""]) }
    }

    /// Loading: a missing file, a key that does not match, an encrypted key with and without
    /// its password: one line naming the file and OpenSSL's reason.
    @Test func loadingErrorsNameTheFile() throws {
        let certificates = try Certificates.shared()
        let context = try TLSContext(purpose: .clientAuth)
        let missing = #expect(throws: TLSError.self) {
            try context.loadCertChain(certificate: certificates.path("nope.pem"), privateKey: certificates.path("leaf.key"))
        }
        #expect(missing?.description == "loadCertChain \(certificates.path("nope.pem")): no such file or directory")
        let mismatch = #expect(throws: TLSError.self) {
            try context.loadCertChain(certificate: certificates.path("leaf.pem"), privateKey: certificates.path("other.key"))
        }
        #expect(mismatch?.kind == .loadFailure)
        #expect(mismatch?.description == "loadCertChain \(certificates.path("other.key")): key values mismatch")
        let noPassword = #expect(throws: TLSError.self) {
            try context.loadCertChain(certificate: certificates.path("leaf.pem"), privateKey: certificates.path("leaf-encrypted.key"))
        }
        #expect(noPassword?.description.contains("leaf-encrypted.key") == true)
        #expect(throws: TLSError.self) {
            try context.loadCertChain(certificate: certificates.path("leaf.pem"), privateKey: certificates.path("leaf-encrypted.key"), password: "wrong")
        }
        try context.loadCertChain(certificate: certificates.path("leaf.pem"), privateKey: certificates.path("leaf-encrypted.key"), password: "sesame")
        let garbage = #expect(throws: TLSError.self) {
            try context.loadVerifyLocations(caFile: certificates.path("leaf.key"))
        }
        #expect(garbage?.kind == .loadFailure)
        try context.loadDefaultCerts()
    }
}
