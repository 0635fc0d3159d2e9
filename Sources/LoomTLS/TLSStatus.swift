/// The outcome of one read or write step of a ``TLSEngine``, as a value: wanting bytes is the
/// normal course of a non-blocking connection, not an error (SwiftNIO's `IOResult`, Python's
/// `SSLWantReadError` without the exception).
public enum TLSIOResult: Sendable, Equatable {
    /// This many plaintext bytes were read, or taken for writing (never 0 for a non-empty buffer).
    case bytes(Int)
    /// Feed more ciphertext from the peer (``TLSEngine/feed(_:)``), then call again.
    case wantRead
    /// Send the pending ciphertext (``TLSEngine/takeOutput(into:)``), then call again.
    case wantWrite
    /// The peer ended the TLS session with close_notify: end of file.
    case closed
}

/// The outcome of one handshake or shutdown step of a ``TLSEngine``.
public enum TLSStatus: Sendable, Equatable {
    /// Done: the handshake completed, or both close_notify alerts have been exchanged.
    case complete
    /// Send any pending output, feed more ciphertext from the peer, then call again.
    case wantRead
    /// Send the pending output, then call again.
    case wantWrite
}
