/// Python's `SSLSocket.cipher()`: the negotiated cipher suite.
public struct TLSCipher: Sendable, Equatable, CustomStringConvertible {
    /// OpenSSL's name, for example `TLS_AES_256_GCM_SHA384`.
    public let name: String
    /// The protocol version that defined it, for example `TLSv1.3`.
    public let protocolVersion: String
    /// The secret bits of its symmetric cipher.
    public let secretBits: Int

    /// `TLS_AES_256_GCM_SHA384 (TLSv1.3, 256 bits)`.
    public var description: String { "\(name) (\(protocolVersion), \(secretBits) bits)" }
}
