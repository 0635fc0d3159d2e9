#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// Python's `ssl.SSLObject`: one TLS connection as a state machine over memory buffers, tied to
/// no socket. Bytes from the peer go in with ``feed(_:)``; ciphertext for the peer comes out
/// with ``takeOutput(into:)``; in between, ``doHandshake()``, ``read(into:)``,
/// ``write(_:)`` and ``shutdown()`` return what they need next as a value.
///
/// It never blocks and, once the handshake is done, makes no Swift allocation per call: reads go
/// into the caller's buffer and input is copied from a borrowed one. That is what an event loop
/// needs, and ``TLSSocket`` drives the same engine for blocking streams.
///
/// ```swift
/// let engine = try TLSEngine(context: context, serverSide: true)
/// engine.feed(bytesFromPeer)                   // whatever recv returned
/// switch try engine.read(into: plaintext) {
/// case .bytes(let n): deliver(plaintext[..<n])
/// case .wantRead: break                        // wait for more bytes from the peer
/// case .wantWrite: break                       // not with memory buffers
/// case .closed: finish()                       // close_notify
/// }
/// while engine.pendingOutputCount > 0 {         // handshake replies, alerts, records
///     send(outbox[..<engine.takeOutput(into: outbox)])
/// }
/// ```
///
/// Not thread-safe: one thread at a time (it is not `Sendable`). After a thrown error, send
/// whatever output is pending (it may hold an alert telling the peer why) and discard the engine.
public final class TLSEngine {
    let ssl: OpaquePointer
    private let input: OpaquePointer
    private let output: OpaquePointer
    /// The context the engine was made from; kept alive because OpenSSL's callbacks reach it.
    public let context: TLSContext
    /// The context a server-name callback switched to, kept alive for the same reason.
    var serverNameContext: TLSContext?
    /// True for the server side of the connection.
    public let serverSide: Bool
    /// The name the client asked for (`server_hostname`): sent as SNI and checked against the
    /// certificate when ``TLSContext/checkHostname`` is on.
    public let serverHostname: String?

    /// A new connection. A client (`serverSide: false`) with ``TLSContext/checkHostname`` on
    /// needs `serverHostname` (a DNS name or an IP address); `session` resumes an earlier one.
    public init(context: TLSContext, serverSide: Bool, serverHostname: String? = nil,
                session: TLSSession? = nil) throws(TLSError) {
        let (checkHostname, verifyMode) = context.settings.withLock { ($0.checkHostname, $0.verifyMode) }
        if serverSide != (context.purpose == .clientAuth) {
            throw TLSError("wrap", kind: .invalidConfiguration, reason: serverSide
                ? "a server-side connection needs a context made for .clientAuth"
                : "a client-side connection needs a context made for .serverAuth")
        }
        if !serverSide && checkHostname {
            if serverHostname == nil || serverHostname!.isEmpty {
                throw TLSError("wrap", kind: .invalidConfiguration, reason: "checkHostname requires serverHostname")
            }
            if verifyMode == .none {
                throw TLSError("wrap", kind: .invalidConfiguration,
                               reason: "checkHostname requires verifyMode .optional or .required")
            }
        }
        if serverSide && serverHostname != nil {
            throw TLSError("wrap", kind: .invalidConfiguration, reason: "serverHostname is only for the client side")
        }
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.context) else {
            throw TLSError("wrap", kind: .protocolError, reason: OpenSSLErrorQueue.drain() ?? "SSL_new failed")
        }
        guard let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError("wrap", kind: .protocolError, reason: OpenSSLErrorQueue.drain() ?? "BIO_new failed")
        }
        // An empty input buffer means "no bytes yet" (retry), not end of file, until feedEndOfInput.
        _ = copenssl_BIO_set_mem_eof_return(input, -1)
        _ = copenssl_BIO_set_mem_eof_return(output, -1)
        SSL_set_bio(ssl, input, output)  // the SSL owns both BIOs from here
        _ = copenssl_set_mode(ssl, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        self.ssl = ssl
        self.input = input
        self.output = output
        self.context = context
        self.serverSide = serverSide
        self.serverHostname = serverHostname
        if serverSide {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverHostname, !serverHostname.isEmpty {
                try configureServerName(serverHostname, check: checkHostname)
            }
            if let session { _ = SSL_set_session(ssl, session.session) }
        }
        // The server-name callback finds the engine here; unretained: the engine owns the SSL.
        _ = copenssl_set_app_data(ssl, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        SSL_free(ssl)
    }

    /// SNI for a DNS name (never for an IP address, RFC 6066) and the host-name check.
    private func configureServerName(_ name: String, check: Bool) throws(TLSError) {
        let isAddress = Self.isIPAddress(name)
        if !isAddress { _ = copenssl_set_tlsext_host_name(ssl, name) }
        guard check else { return }
        let ok: Bool
        if isAddress {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1
        } else {
            SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            ok = SSL_set1_host(ssl, name) == 1
        }
        if !ok {
            OpenSSLErrorQueue.clear()
            throw TLSError("wrap", kind: .invalidConfiguration, reason: "invalid serverHostname \"\(name)\"")
        }
    }

    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    // MARK: Ciphertext in and out

    /// Copies bytes received from the peer into the engine. Always takes all of them; the caller
    /// bounds how much it reads ahead.
    @inline(__always)
    public func feed(_ ciphertext: UnsafeRawBufferPointer) {
        guard let base = ciphertext.baseAddress, !ciphertext.isEmpty else { return }
        var written = 0
        _ = BIO_write_ex(input, base, ciphertext.count, &written)
    }

    /// Tells the engine that the transport reached end of file: a read or handshake now fails
    /// with ``TLSError/Kind/unexpectedEOF`` instead of asking for more, unless a close_notify
    /// had arrived.
    public func feedEndOfInput() {
        _ = copenssl_BIO_set_mem_eof_return(input, 0)
    }

    /// Ciphertext fed and not yet consumed by the engine.
    public var pendingInputCount: Int { Int(BIO_ctrl_pending(input)) }

    /// Ciphertext waiting to be sent to the peer.
    @inline(__always)
    public var pendingOutputCount: Int { Int(BIO_ctrl_pending(output)) }

    /// Moves up to `buffer.count` bytes of pending ciphertext into `buffer` and returns the count.
    @inline(__always)
    public func takeOutput(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        var read = 0
        return BIO_read_ex(output, base, buffer.count, &read) == 1 ? read : 0
    }

    /// Removes and returns the input not consumed by TLS: after the closing handshake
    /// (``shutdown()`` returned `.complete`), the plaintext the peer sent after its close_notify.
    public func takeUnprocessedInput() -> [UInt8] {
        let count = pendingInputCount
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var read = 0
            _ = BIO_read_ex(input, buffer.baseAddress, count, &read)
            initialized = read
        }
    }

    // MARK: TLS steps

    /// True once the handshake has completed.
    public var isHandshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }

    /// One handshake step (Python's `do_handshake`). Send the pending output after every call,
    /// whatever it returned: it carries the handshake's messages, and alerts on failure.
    public func doHandshake() throws(TLSError) -> TLSStatus {
        OpenSSLErrorQueue.clear()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .complete }
        switch try classify(result, operation: "tls handshake") {
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closed, .bytes:
            throw TLSError("tls handshake", kind: .unexpectedEOF, reason: "the peer closed the connection during the handshake")
        }
    }

    /// Decrypts available bytes into `buffer` (Python's `SSLObject.read`). Runs the handshake
    /// first if it is not done. Returns `.bytes(0)` only for an empty buffer.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> TLSIOResult {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return .bytes(0) }
        OpenSSLErrorQueue.clear()
        var count = 0
        let result = SSL_read_ex(ssl, base, buffer.count, &count)
        if result == 1 { return .bytes(count) }
        return try classify(result, operation: "tls recv")
    }

    /// Encrypts all of `plaintext` into the pending output (Python's `SSLObject.write`) and
    /// returns `.bytes(plaintext.count)`, or what the handshake needs first.
    @inline(__always)
    public func write(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) -> TLSIOResult {
        guard let base = plaintext.baseAddress, !plaintext.isEmpty else { return .bytes(0) }
        OpenSSLErrorQueue.clear()
        var count = 0
        let result = SSL_write_ex(ssl, base, plaintext.count, &count)
        if result == 1 { return .bytes(count) }
        return try classify(result, operation: "tls send")
    }

    /// One step of the closing handshake (Python's `unwrap`): the first call queues our
    /// close_notify and returns `.wantRead` until the peer's arrives, then `.complete`.
    /// A caller that will not read the peer's answer may stop after the first call.
    public func shutdown() throws(TLSError) -> TLSStatus {
        OpenSSLErrorQueue.clear()
        let result = SSL_shutdown(ssl)
        if result == 1 { return .complete }
        if result == 0 { return .wantRead }
        switch try classify(result, operation: "tls shutdown") {
        case .wantWrite: return .wantWrite
        case .closed: return .complete
        case .wantRead, .bytes: return .wantRead
        }
    }

    /// Turns an OpenSSL failure into a value (wanting bytes) or a thrown ``TLSError``, and
    /// always leaves the thread's error queue empty.
    private func classify(_ result: Int32, operation: String) throws(TLSError) -> TLSIOResult {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ:
            OpenSSLErrorQueue.clear()
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            OpenSSLErrorQueue.clear()
            return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            OpenSSLErrorQueue.clear()
            return .closed
        case SSL_ERROR_SYSCALL:
            // Memory BIOs make no system call: this is end of input without close_notify.
            OpenSSLErrorQueue.clear()
            throw TLSError(operation, kind: .unexpectedEOF, reason: "EOF occurred in violation of protocol")
        default:
            let first = ERR_peek_error()
            let reason = ERR_GET_REASON(first)
            let text = OpenSSLErrorQueue.drain() ?? "TLS failure \(code)"
            if reason == SSL_R_UNEXPECTED_EOF_WHILE_READING {
                throw TLSError(operation, kind: .unexpectedEOF, reason: "EOF occurred in violation of protocol")
            }
            if reason == SSL_R_CERTIFICATE_VERIFY_FAILED {
                let verify = SSL_get_verify_result(ssl)
                if verify != X509_V_OK {
                    let why = String(cString: X509_verify_cert_error_string(verify))
                    throw TLSError(operation, kind: .certificateVerification, reason: why, verifyCode: Int32(verify))
                }
            }
            throw TLSError(operation, kind: .protocolError, reason: text)
        }
    }
}

// An engine is a mutable OpenSSL state machine: confine it to one thread at a time.
@available(*, unavailable)
extension TLSEngine: Sendable {}
