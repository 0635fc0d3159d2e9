import COpenSSL

extension TLSEngine {
    /// The negotiated protocol, `TLSv1.2` or `TLSv1.3` (Python's `version()`); nil before the handshake.
    public var version: String? {
        guard isHandshakeComplete, let text = SSL_get_version(ssl) else { return nil }
        return String(cString: text)
    }

    /// The negotiated cipher suite (Python's `cipher()`); nil before the handshake.
    public var cipher: TLSCipher? {
        guard isHandshakeComplete, let cipher = SSL_get_current_cipher(ssl) else { return nil }
        var bits: Int32 = 0
        _ = SSL_CIPHER_get_bits(cipher, &bits)
        return TLSCipher(name: String(cString: SSL_CIPHER_get_name(cipher)),
                         protocolVersion: String(cString: SSL_CIPHER_get_version(cipher)),
                         secretBits: Int(bits))
    }

    /// The peer's certificate (Python's `getpeercert()`), or nil if it sent none.
    public var peerCertificate: TLSCertificate? {
        guard let x509 = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(x509) }
        return TLSCertificate(x509)
    }

    /// The application protocol ALPN chose (Python's `selected_alpn_protocol()`), or nil.
    public var selectedALPNProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The server name the client asked for (SNI): on a server, what the client sent; on a
    /// client, its ``serverHostname`` when that is a DNS name.
    public var serverName: String? {
        guard let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    /// The session to resume with later (client side; Python's `SSLSocket.session`).
    public var session: TLSSession? {
        guard let session = SSL_get1_session(ssl) else { return nil }
        return TLSSession(owning: session)
    }

    /// True when this connection resumed an earlier session (Python's `session_reused`).
    public var sessionReused: Bool { SSL_session_reused(ssl) == 1 }
}

extension TLSEngine {
    /// Decrypted bytes already buffered inside the engine, readable without feeding more
    /// (Python's `pending()`): an event loop reads them before waiting for the socket again.
    public var bufferedPlaintextCount: Int { Int(SSL_pending(ssl)) }
}
