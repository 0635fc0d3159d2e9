import COpenSSL

/// Python's `ssl.SSLSession`: a client's resumable session with one server. Pass it to the
/// next connection (`wrap(…, session:)`) to skip the full handshake (``TLSSocket/sessionReused``).
///
/// With TLS 1.3 the server sends its tickets after the handshake, so take ``TLSSocket/session``
/// after some data has been received.
public final class TLSSession: @unchecked Sendable {
    // @unchecked: an SSL_SESSION is reference-counted and immutable once established; OpenSSL
    // locks it internally, so sharing it between threads is safe.
    let session: OpaquePointer

    /// Takes over one reference to `session`.
    init(owning session: OpaquePointer) {
        self.session = session
    }

    deinit {
        SSL_SESSION_free(session)
    }

    /// True when the server gave a ticket or id that a new connection can resume with.
    public var isResumable: Bool { SSL_SESSION_is_resumable(session) == 1 }

    /// The session's lifetime hint from the server, in seconds.
    public var timeout: Int { Int(SSL_SESSION_get_timeout(session)) }
}
