/// The incremental PROXY protocol parser (versions 1 and 2), for an event loop: give it the
/// bytes received so far, as often as more arrive, and it answers as early as the bytes allow.
///
/// ```swift
/// switch try parser.parse(bytesSoFar) {
/// case .needMoreData: break                         // wait for the next read
/// case .header(let header): consume(header.length)  // the application's bytes follow
/// case .notProxyHeader: break                       // .optional mode: a plain connection
/// }
/// ```
///
/// It decides on the smallest prefix possible: a first byte that starts neither signature is
/// ``Result/notProxyHeader``; a byte that no valid header could have there, a v1 line without
/// CRLF within 107 bytes, or a v2 length above ``maxV2Length`` is an error at once, never a
/// wait. It does not allocate, except for the TLV block of a complete v2 header that has one.
public struct ProxyHeaderParser: Sendable, Hashable {
    /// What the bytes received so far are.
    public enum Result: Sendable, Hashable {
        /// A valid prefix of a header: wait for more bytes.
        case needMoreData
        /// A complete header, the first ``ProxyHeader/length`` bytes; the application's data
        /// (possibly already received) follows it.
        case header(ProxyHeader)
        /// The bytes do not start a PROXY header: a plain connection (or an error in
        /// ``ProxyProtocolMode/required`` mode: the caller decides).
        case notProxyHeader
    }

    /// The largest v2 length (the bytes after the 16-byte fixed part) accepted; a longer
    /// declared length is refused as soon as the length field arrives. The default, 2,048, is
    /// ample for addresses and the TLVs proxies send (HAProxy's unique id is at most 128 bytes);
    /// the protocol's own maximum is 65,535.
    public var maxV2Length: Int
    /// Whether a CRC32C TLV is checked (on by default, as the specification asks).
    public var verifiesChecksum: Bool

    /// Creates a parser.
    public init(maxV2Length: Int = 2048, verifiesChecksum: Bool = true) {
        self.maxV2Length = max(0, min(maxV2Length, 65_535))
        self.verifiesChecksum = verifiesChecksum
    }

    /// The most bytes a header this parser accepts can have: the size of a buffer that is
    /// always enough to decide.
    public var maxHeaderLength: Int { max(ProxyV1.maxLength, ProxyV2.fixedLength + maxV2Length) }

    /// Parses the bytes received so far.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(ProxyProtocolError) -> Result {
        switch Self.signature(of: bytes) {
        case .none: return .notProxyHeader
        case .partial: return .needMoreData
        case .v1: return try ProxyV1.parse(bytes)
        case .v2: return try ProxyV2.parse(bytes, maxLength: maxV2Length, verifiesChecksum: verifiesChecksum)
        }
    }

    /// Parses the bytes received so far.
    public func parse(_ bytes: [UInt8]) throws(ProxyProtocolError) -> Result {
        let outcome = bytes.withUnsafeBytes { raw in Swift.Result { () throws(ProxyProtocolError) in try parse(raw) } }
        return try outcome.get()
    }

    /// How far the bytes match a signature (`PROXY ` or v2's 12 bytes).
    enum Signature { case none, partial, v1, v2 }

    static func signature(of bytes: UnsafeRawBufferPointer) -> Signature {
        guard let first = bytes.first else { return .partial }
        let (candidate, complete): ([UInt8], Signature) = first == ProxyV1.signature[0]
            ? (ProxyV1.signature, .v1) : (ProxyV2.signature, .v2)
        let count = min(bytes.count, candidate.count)
        for index in 0..<count where bytes[index] != candidate[index] {
            return .none
        }
        return count == candidate.count ? complete : .partial
    }

    /// True once the bytes hold a whole signature: from then on they are a header or an error,
    /// never a plain connection, so a reader may consume them.
    static func isCommitted(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch signature(of: bytes) {
        case .v1, .v2: true
        case .none, .partial: false
        }
    }
}
