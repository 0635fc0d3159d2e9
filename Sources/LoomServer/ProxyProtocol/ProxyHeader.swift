import LoomSockets

/// What a PROXY protocol header says about a connection that reached this server through a
/// proxy (HAProxy, nginx, Envoy, a cloud load balancer): who the original client was, which
/// address it connected to, and, for version 2, extra facts as TLVs.
///
/// ```swift
/// let reader = ProxyHeaderReader(mode: .required, timeout: .seconds(5))
/// if let header = try reader.read(from: connection) {
///     let client = header.source ?? peerAddress   // nil: keep the connection's own address
/// }
/// ```
public struct ProxyHeader: Sendable, Hashable {
    /// The header's version: the text line (1) or the binary form (2).
    public enum Version: Sendable, Hashable {
        /// `PROXY TCP4 … \r\n`.
        case v1
        /// The binary header starting `\r\n\r\n\0\r\nQUIT\n`.
        case v2
    }

    /// The header's version.
    public let version: Version
    /// PROXY (a relayed connection) or LOCAL (the proxy's own, for example a health check).
    public let command: ProxyCommand
    /// Stream or datagram, as the proxy received it.
    public let transport: ProxyTransport
    /// The original client. Nil for LOCAL, v1 `UNKNOWN` and v2's unspecified family: then the
    /// connection's own peer address is the one to use.
    public let source: SocketAddress?
    /// The address the client connected to (the proxy's side). Nil when ``source`` is.
    public let destination: SocketAddress?
    /// The v2 TLV block exactly as received (already checked: every length inside the block);
    /// empty for v1 and for v2 without TLVs. Decoded views: ``tlvs``, ``tls``, ``uniqueID``.
    public let rawTLVs: [UInt8]
    /// The header's size on the wire: exactly what was consumed before the application's bytes.
    public let length: Int

    /// Creates a header (the parsers do; tests and proxies writing their own may too).
    public init(
        version: Version, command: ProxyCommand, transport: ProxyTransport, source: SocketAddress?,
        destination: SocketAddress?, rawTLVs: [UInt8] = [], length: Int
    ) {
        self.version = version
        self.command = command
        self.transport = transport
        self.source = source
        self.destination = destination
        self.rawTLVs = rawTLVs
        self.length = length
    }

    /// The client address a handler should see: ``source`` for a relayed connection, else nil
    /// (keep the connection's own peer address).
    public var clientAddress: SocketAddress? { command == .proxy ? source : nil }

    /// Every TLV, in order (type and value; values copied out of ``rawTLVs``).
    public var tlvs: [ProxyTLV] { ProxyTLV.list(in: rawTLVs) }

    /// The value of the first TLV of `type`, or nil.
    public func tlv(_ type: ProxyTLV.Kind) -> [UInt8]? {
        ProxyTLV.first(type.rawValue, in: rawTLVs)
    }

    /// The proxy's unique connection id (TLV 0x05, HAProxy's `unique-id`), or nil.
    public var uniqueID: [UInt8]? { tlv(.uniqueID) }

    /// The ALPN protocol the client negotiated with the proxy (TLV 0x01), or nil.
    public var alpn: String? { tlv(.alpn).map { String(decoding: $0, as: UTF8.self) } }

    /// The host name the client asked for, SNI (TLV 0x02), or nil.
    public var authority: String? { tlv(.authority).map { String(decoding: $0, as: UTF8.self) } }

    /// What the proxy knows about the client's TLS (TLV 0x20 and its sub-TLVs), or nil.
    public var tls: ProxyTLSInfo? { tlv(.ssl).flatMap(ProxyTLSInfo.init(value:)) }
}
