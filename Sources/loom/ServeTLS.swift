import ArgumentParser
import Loom

/// `loom serve --tls-cert CERT.pem --tls-key KEY.pem [--tls-ca CA.pem --tls-verify-client]`.
struct ServeTLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: "Serve TLS with this PEM certificate chain (leaf first).")
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var privateKey: String?

    @Option(name: .customLong("tls-ca"), help: "PEM file of the CAs that sign client certificates (with --tls-verify-client).")
    var caFile: String?

    @Flag(name: .customLong("tls-verify-client"), help: "Require a client certificate signed by --tls-ca (mutual TLS).")
    var verifyClient = false

    var enabled: Bool { certificate != nil }

    func validate(udp: Bool) throws {
        guard certificate != nil else {
            if privateKey != nil || caFile != nil || verifyClient {
                throw ValidationError("--tls-key, --tls-ca and --tls-verify-client need --tls-cert")
            }
            return
        }
        if privateKey == nil { throw ValidationError("--tls-cert needs --tls-key") }
        if udp { throw ValidationError("TLS works over streams only, not with --udp") }
        if verifyClient && caFile == nil { throw ValidationError("--tls-verify-client needs --tls-ca") }
    }

    /// The server context, or nil without TLS. A file that cannot be loaded (missing,
    /// unreadable, not PEM, a key that does not match the certificate) is one line naming the
    /// file and the reason, and exit status 1, before anything listens.
    func makeContext() throws -> TLSContext? {
        guard let certificate, let privateKey else { return nil }
        do throws(TLSError) {
            let context = try TLSContext(purpose: .clientAuth)
            try context.loadCertChain(certificate: certificate, privateKey: privateKey)
            if let caFile {
                try context.loadVerifyLocations(caFile: caFile)
                if verifyClient { context.verifyMode = .required }
            }
            return context
        } catch {
            Console.error("loom serve: \(error)")
            throw ExitCode.failure
        }
    }
}
