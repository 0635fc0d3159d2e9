import LoomSockets

/// The one error type of LoomTLS: Python's `ssl.SSLError` family, with the failing operation
/// and OpenSSL's own reason.
///
/// Match on ``kind``:
/// ```swift
/// do { try tls.doHandshake() }
/// catch let error where error.kind == .certificateVerification { print(error.reason) }
/// ```
/// Its description is one line, for example
/// `tls handshake: certificate verify failed: self-signed certificate`.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, after Python's exception classes.
    public enum Kind: Sendable, Equatable {
        /// The peer closed the TLS session with close_notify (`SSLZeroReturnError`). ``TLSSocket``
        /// reports it as end of file (0 bytes) on reads; it is thrown where data was required.
        case zeroReturn
        /// A non-blocking call needs more bytes from the peer first (`SSLWantReadError`).
        case wantRead
        /// A non-blocking call needs the transport to take bytes first (`SSLWantWriteError`).
        case wantWrite
        /// The peer closed the transport without close_notify (`SSLEOFError`): the data may have
        /// been truncated by an attacker.
        case unexpectedEOF
        /// The peer's certificate failed verification (`SSLCertVerificationError`); ``reason``
        /// is OpenSSL's: "self-signed certificate", "hostname mismatch", "certificate has expired"…
        case certificateVerification
        /// A certificate, key or CA file could not be loaded (missing, unreadable, malformed, or a
        /// key that does not match its certificate). Python raises `SSLError` or `OSError`.
        case loadFailure
        /// A setting Python rejects with `ValueError` (for example `checkHostname` without a server name).
        case invalidConfiguration
        /// The transport failed (reset, timeout, closed…): ``socketError`` has the details.
        /// Python raises the `OSError` itself.
        case transport
        /// Any other TLS failure (`SSLError`): a protocol error, an alert from the peer, no
        /// shared cipher or version, a plaintext peer…
        case protocolError
    }

    /// What went wrong.
    public let kind: Kind
    /// The operation: `tls handshake`, `tls recv`, `loadCertChain`…
    public let operation: String
    /// OpenSSL's reason, or Loom's where OpenSSL gave none.
    public let reason: String
    /// For ``Kind/certificateVerification``: OpenSSL's `X509_V_ERR_*` code (Python's `verify_code`).
    public let verifyCode: Int32?
    /// For ``Kind/transport``: the socket's error.
    public let socketError: SocketError?

    /// Creates an error.
    public init(_ operation: String, kind: Kind, reason: String, verifyCode: Int32? = nil, socketError: SocketError? = nil) {
        self.operation = operation
        self.kind = kind
        self.reason = reason
        self.verifyCode = verifyCode
        self.socketError = socketError
    }

    /// A transport failure during `operation`.
    public init(_ operation: String, transport error: SocketError) {
        self.init(operation, kind: .transport, reason: error.description, socketError: error)
    }

    /// One line: the operation and the reason.
    public var description: String {
        kind == .certificateVerification
            ? "\(operation): certificate verify failed: \(reason)"
            : "\(operation): \(reason)"
    }

    /// The closest ``SocketError`` (Python's `SSLError` is an `OSError`), for ``ByteStream``
    /// users such as ``BufferedReader``: the TLS description stays in ``SocketError/detail``.
    public var asSocketError: SocketError {
        if let socketError { return socketError }
        let socketKind: SocketError.Kind = switch kind {
        case .wantRead, .wantWrite: .wouldBlock
        case .zeroReturn, .unexpectedEOF: .endOfFile
        case .invalidConfiguration: .invalidArgument
        default: .other
        }
        return SocketError(operation, kind: socketKind, detail: "TLS: \(reason)")
    }
}
