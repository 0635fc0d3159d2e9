#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

extension TLSContext {
    /// Python's `load_cert_chain(certfile, keyfile, password)`: the certificate this side
    /// presents (PEM; intermediate CA certificates may follow it in the same file) and its
    /// private key (in `certificate` too when `privateKey` is nil).
    ///
    /// Throws ``TLSError/Kind/loadFailure`` naming the file and the reason: missing or
    /// unreadable, not PEM, a wrong or missing password, or "key values mismatch" for a key
    /// that is not the certificate's. An encrypted key without `password` fails; it never
    /// prompts on the terminal.
    public func loadCertChain(certificate: String, privateKey: String? = nil, password: String? = nil) throws(TLSError) {
        let keyFile = privateKey ?? certificate
        try Self.checkReadable(certificate, operation: "loadCertChain")
        try Self.checkReadable(keyFile, operation: "loadCertChain")
        try settings.withLock { _ throws(TLSError) in
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw Self.loadFailure(certificate, fallback: "not a PEM certificate")
            }
            guard let bio = BIO_new_file(keyFile, "r") else {
                throw Self.loadFailure(keyFile, fallback: "cannot open")
            }
            defer { BIO_free(bio) }
            let key: OpaquePointer? = if let password {
                password.withCString { passwordPointer in
                    PEM_read_bio_PrivateKey(bio, nil, passwordCallback, UnsafeMutableRawPointer(mutating: passwordPointer))
                }
            } else {
                PEM_read_bio_PrivateKey(bio, nil, passwordCallback, nil)
            }
            guard let key else {
                throw Self.loadFailure(keyFile, fallback: "not a PEM private key")
            }
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw Self.loadFailure(keyFile, fallback: "key values mismatch")
            }
        }
    }

    /// Python's `load_verify_locations(cafile, capath)`: the CA certificates that verify the
    /// peer (a PEM file of one or more, or a directory hashed by `openssl rehash`).
    public func loadVerifyLocations(caFile: String? = nil, caPath: String? = nil) throws(TLSError) {
        guard caFile != nil || caPath != nil else {
            throw TLSError("loadVerifyLocations", kind: .invalidConfiguration, reason: "caFile or caPath must be given")
        }
        if let caFile { try Self.checkReadable(caFile, operation: "loadVerifyLocations") }
        if let caPath { try Self.checkReadable(caPath, operation: "loadVerifyLocations") }
        try settings.withLock { _ throws(TLSError) in
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_load_verify_locations(context, caFile, caPath) == 1 else {
                throw Self.loadFailure(caFile ?? caPath ?? "", operation: "loadVerifyLocations",
                                       fallback: "no CA certificate found")
            }
        }
    }

    /// Python's `load_default_certs()`: the system's CA store (OpenSSL's default paths).
    public func loadDefaultCerts() throws(TLSError) {
        try settings.withLock { _ throws(TLSError) in
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw TLSError("loadDefaultCerts", kind: .loadFailure,
                               reason: OpenSSLErrorQueue.drain() ?? "cannot load the default CA store")
            }
        }
    }

    private static func checkReadable(_ path: String, operation: String) throws(TLSError) {
        if access(path, R_OK) != 0 {
            let reason = String(cString: strerror(errno)).lowercased()
            throw TLSError("\(operation) \(path)", kind: .loadFailure, reason: reason)
        }
    }

    private static func loadFailure(_ path: String, operation: String = "loadCertChain", fallback: String) -> TLSError {
        TLSError("\(operation) \(path)", kind: .loadFailure, reason: OpenSSLErrorQueue.drain() ?? fallback)
    }
}

/// PEM's password callback: copies the password given as user data, or fails (-1) when there
/// is none, so OpenSSL never prompts on the terminal.
private let passwordCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
    buffer, size, _, userData in
    guard let buffer, let userData else { return -1 }
    let password = userData.assumingMemoryBound(to: CChar.self)
    let length = Int32(strlen(password))
    guard length < size else { return -1 }
    memcpy(buffer, password, Int(length))
    return length
}
