import ArgumentParser
import Loom

/// `loom send --tls …`: the options.
struct SendTLSOptions: ParsableArguments {
    @Flag(name: .customLong("tls"), help: "Speak TLS: verify the server against --tls-ca (or the system's roots) and its host name.")
    var enabled = false

    @Option(name: .customLong("tls-ca"), help: "PEM file of the CA certificates that sign the server's certificate.")
    var caFile: String?

    @Option(name: .customLong("server-name"), help: "The name to send (SNI) and to check the certificate against (default: --host).")
    var serverName: String?

    @Flag(help: "Do not verify the server's certificate or name (testing only).")
    var insecure = false

    func validate(udp: Bool, unix: String?) throws {
        guard enabled else {
            if caFile != nil || serverName != nil || insecure {
                throw ValidationError("--tls-ca, --server-name and --insecure need --tls")
            }
            return
        }
        if udp { throw ValidationError("--tls works over TCP only, not with --udp") }
        if unix != nil { throw ValidationError("--tls works over TCP only, not with --unix") }
        if insecure && caFile != nil { throw ValidationError("--insecure and --tls-ca exclude each other") }
    }
}

extension Send {
    /// The TLS client: connect, handshake (a failed verification is one line with OpenSSL's
    /// reason and exit 1), send, close our side with close_notify, print the reply until the
    /// server ends the stream.
    func runTLS() throws {
        do throws(TLSError) {
            let context = try TLSContext(purpose: .serverAuth)
            if insecure {
                context.checkHostname = false
                context.verifyMode = .none
            } else if let caFile = tls.caFile {
                try context.loadVerifyLocations(caFile: caFile)
            }
            let stream = try context.connect(host: host, port: port, timeout: timeout.map(Send.duration),
                                             serverHostname: tls.serverName ?? host)
            defer { stream.close() }
            if delay > 0 { Send.sleep(seconds: delay) }
            let deadline = timeout.map { ContinuousClock.now.advanced(by: Send.duration($0)) }
            stream.timeout = remaining(until: deadline)
            try stream.sendAll(messageBytes())
            // A one-message server may already have answered and closed, and our close_notify,
            // unread there, turned its close into a reset: the answer is still ours to read.
            try? stream.shutdown(.write)
            while true {
                stream.timeout = remaining(until: deadline)
                let bytes = try stream.recv(maxBytes: 65_536)
                if bytes.isEmpty { return }
                Console.bytes(bytes)
            }
        } catch {
            Console.error("loom send: \(error)")
            throw ExitCode.failure
        }
    }

    private var insecure: Bool { tls.insecure }
}
