import COpenSSL
import LoomSockets
import LoomSystem

/// Python's `ssl.SSLContext`, made as `ssl.create_default_context(purpose)` makes it: the
/// settings and credentials shared by many TLS connections.
///
/// ```swift
/// // A client that verifies the server against the system's roots and its host name:
/// let client = try TLSContext(purpose: .serverAuth)
/// let tls = try client.connect(host: "example.com", port: 443)
///
/// // A server:
/// let server = try TLSContext(purpose: .clientAuth)
/// try server.loadCertChain(certificate: "cert.pem", privateKey: "key.pem")
/// let stream = try server.wrap(connection, serverSide: true)
/// ```
///
/// Defaults, as Python's: TLS 1.2 minimum; for `.serverAuth` (clients) ``verifyMode``
/// `.required`, ``checkHostname`` on and the system's CA store loaded; for `.clientAuth`
/// (servers) no client certificate asked for. A context is safe to share between threads; change
/// its settings before connections use it (a connection takes them when it is wrapped).
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is only mutated under `settings`' lock, and OpenSSL allows
    // concurrent SSL_new/handshakes on one SSL_CTX; Swift-side state lives in `settings`.
    let context: OpaquePointer
    /// What the context was created for.
    public let purpose: TLSPurpose
    let settings: Protected<Settings>

    struct Settings {
        var checkHostname: Bool
        var verifyMode: VerifyMode
        var minimumVersion: TLSVersion = .tlsv1_2
        var maximumVersion: TLSVersion = .maximumSupported
        var alpnProtocols: [String] = []
        /// ALPN protocols in TLS wire format (length-prefixed), for the server's selection.
        var alpnWire: [UInt8] = []
        var serverNameCallback: (@Sendable (String?) -> TLSContext?)?
    }

    /// Python's `ssl.create_default_context(purpose)`.
    public init(purpose: TLSPurpose = .serverAuth) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        let method = purpose == .serverAuth ? TLS_client_method() : TLS_server_method()
        guard let context = SSL_CTX_new(method) else {
            throw TLSError("create context", kind: .protocolError,
                           reason: OpenSSLErrorQueue.drain() ?? "SSL_CTX_new failed")
        }
        self.context = context
        self.purpose = purpose
        let client = purpose == .serverAuth
        settings = Protected(Settings(checkHostname: client, verifyMode: client ? .required : .none))
        _ = copenssl_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        _ = SSL_CTX_set_options(context, copenssl_default_options())
        // Idle connections give their 34 KB of record buffers back (many connections per server).
        _ = copenssl_CTX_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))
        if client {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            _ = SSL_CTX_set_default_verify_paths(context)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            // Resumption of sessions that carried a client certificate needs an id context.
            let id: [UInt8] = Array("loom".utf8)
            _ = SSL_CTX_set_session_id_context(context, id, UInt32(id.count))
            _ = copenssl_CTX_set_tlsext_servername_callback(context, serverNameTrampoline)
        }
        OpenSSLErrorQueue.clear()
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// Python's `check_hostname`: clients verify that the certificate names the server.
    /// Turning it on raises a ``verifyMode`` of `.none` to `.required`, as Python does.
    public var checkHostname: Bool {
        get { settings.withLock { $0.checkHostname } }
        set {
            settings.withLock { settings in
                settings.checkHostname = newValue
                if newValue && settings.verifyMode == .none { applyVerifyMode(.required, to: &settings) }
            }
        }
    }

    /// Python's `verify_mode`. A server that needs client certificates (mutual TLS) sets
    /// `.required` and loads the CA that signs them with ``loadVerifyLocations(caFile:caPath:)``.
    /// `.none` with ``checkHostname`` on is rejected when a connection is wrapped, as Python rejects it.
    public var verifyMode: VerifyMode {
        get { settings.withLock { $0.verifyMode } }
        set { settings.withLock { applyVerifyMode(newValue, to: &$0) } }
    }

    private func applyVerifyMode(_ mode: VerifyMode, to settings: inout Settings) {
        settings.verifyMode = mode
        let flags: Int32 = switch mode {
        case .none: SSL_VERIFY_NONE
        case .optional: SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE
        case .required: SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE
        }
        SSL_CTX_set_verify(context, flags, nil)
    }

    /// Python's `minimum_version` (default TLS 1.2).
    public var minimumVersion: TLSVersion {
        get { settings.withLock { $0.minimumVersion } }
        set {
            settings.withLock {
                $0.minimumVersion = newValue
                _ = copenssl_CTX_set_min_proto_version(context, newValue.openSSLValue)
            }
        }
    }

    /// Python's `maximum_version` (default: the highest supported, TLS 1.3).
    public var maximumVersion: TLSVersion {
        get { settings.withLock { $0.maximumVersion } }
        set {
            settings.withLock {
                $0.maximumVersion = newValue
                _ = copenssl_CTX_set_max_proto_version(context, newValue.openSSLValue)
            }
        }
    }

    /// Python's `set_alpn_protocols`: the application protocols offered (client) or accepted
    /// (server, in order of preference), for example `["h2", "http/1.1"]`. Each name is 1 to
    /// 255 bytes; anything else throws ``TLSError/Kind/invalidConfiguration``.
    public func setALPNProtocols(_ protocols: [String]) throws(TLSError) {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TLSError("setALPNProtocols", kind: .invalidConfiguration,
                               reason: "protocol name must be 1 to 255 bytes: \"\(name)\"")
            }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        settings.withLock { settings in
            settings.alpnProtocols = protocols
            settings.alpnWire = wire
            if purpose == .serverAuth {
                _ = SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count))
            } else {
                SSL_CTX_set_alpn_select_cb(context, alpnSelectTrampoline,
                                           Unmanaged.passUnretained(self).toOpaque())
            }
        }
    }

    /// The protocols given to ``setALPNProtocols(_:)``.
    public var alpnProtocols: [String] { settings.withLock { $0.alpnProtocols } }

    /// Python's `sni_callback`, on a server: called during each handshake with the name the
    /// client asked for (or nil), it returns the context whose certificate to present, or nil
    /// to keep this one. The returned context supplies the certificate, key and ALPN choice;
    /// verification settings stay this context's.
    public var serverNameCallback: (@Sendable (String?) -> TLSContext?)? {
        get { settings.withLock { $0.serverNameCallback } }
        set { settings.withLock { $0.serverNameCallback = newValue } }
    }
}

/// The server's ALPN choice: the first of the server's protocols the client offered. No
/// overlap means no ALPN, not a failed handshake (as Python).
private let alpnSelectTrampoline: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, argument in
    guard let argument, let out, let outLength, let offered else { return SSL_TLSEXT_ERR_NOACK }
    // The engine keeps its context alive for the whole handshake, so the pointer is valid.
    let context = Unmanaged<TLSContext>.fromOpaque(argument).takeUnretainedValue()
    return context.settings.withLock { settings -> Int32 in
        var position = 0
        let wire = settings.alpnWire
        while position < wire.count {
            let length = Int(wire[position])
            var offset = 0
            while offset < Int(offeredLength) {
                let candidateLength = Int(offered[offset])
                if candidateLength == length, offset + 1 + length <= Int(offeredLength),
                   (0..<length).allSatisfy({ offered[offset + 1 + $0] == wire[position + 1 + $0] }) {
                    // Point into the client's list: it outlives the callback, our array may not.
                    out.pointee = offered + offset + 1
                    outLength.pointee = UInt8(length)
                    return SSL_TLSEXT_ERR_OK
                }
                offset += 1 + candidateLength
            }
            position += 1 + length
        }
        return SSL_TLSEXT_ERR_NOACK
    }
}

/// The server's SNI hook: asks the context's ``TLSContext/serverNameCallback`` and switches
/// the connection to the context it returns.
private let serverNameTrampoline: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, _, _ in
    guard let ssl, let enginePointer = copenssl_get_app_data(ssl) else { return SSL_TLSEXT_ERR_OK }
    // The engine set itself as app data and is running this handshake, so it is alive.
    let engine = Unmanaged<TLSEngine>.fromOpaque(enginePointer).takeUnretainedValue()
    guard let callback = engine.context.serverNameCallback else { return SSL_TLSEXT_ERR_OK }
    let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
    if let chosen = callback(name), chosen !== engine.context {
        _ = SSL_set_SSL_CTX(ssl, chosen.context)
        engine.serverNameContext = chosen
    }
    return SSL_TLSEXT_ERR_OK
}
