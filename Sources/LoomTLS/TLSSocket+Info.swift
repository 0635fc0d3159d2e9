extension TLSSocket {
    /// The negotiated protocol, `TLSv1.2` or `TLSv1.3` (Python's `version()`); nil before the handshake.
    public var version: String? { engineLock.withLock { engine.version } }
    /// The negotiated cipher suite (Python's `cipher()`).
    public var cipher: TLSCipher? { engineLock.withLock { engine.cipher } }
    /// The peer's certificate (Python's `getpeercert()`), or nil if it sent none.
    public var peerCertificate: TLSCertificate? { engineLock.withLock { engine.peerCertificate } }
    /// The application protocol ALPN chose (Python's `selected_alpn_protocol()`), or nil.
    public var selectedALPNProtocol: String? { engineLock.withLock { engine.selectedALPNProtocol } }
    /// The server name from SNI: what the client asked for (server side), or sent (client side).
    public var serverName: String? { engineLock.withLock { engine.serverName } }
    /// The session to resume with (Python's `session`); with TLS 1.3, read it after some data arrived.
    public var session: TLSSession? { engineLock.withLock { engine.session } }
    /// True when this connection resumed an earlier session (Python's `session_reused`).
    public var sessionReused: Bool { engineLock.withLock { engine.sessionReused } }
}
