/// The PROXY v2 SSL TLV (0x20): whether and how the client used TLS to reach the proxy.
///
/// Its value is a client bit field, a 32-bit verify result, then sub-TLVs: version (0x21),
/// the client certificate's common name (0x22), cipher (0x23), signature algorithm (0x24) and
/// key algorithm (0x25).
public struct ProxyTLSInfo: Sendable, Hashable {
    /// `PP2_CLIENT_*` bits: 0x01 TLS, 0x02 a certificate on this connection, 0x04 on the session.
    public let clientFlags: UInt8
    /// 0 when the client presented a certificate that verified; anything else otherwise.
    public let verify: UInt32
    /// The TLS version, for example `TLSv1.3` (sub-TLV 0x21).
    public let version: String?
    /// The client certificate's subject common name (sub-TLV 0x22).
    public let commonName: String?
    /// The cipher, for example `TLS_AES_256_GCM_SHA384` (sub-TLV 0x23).
    public let cipher: String?
    /// The certificate's signature algorithm, for example `RSA-SHA256` (sub-TLV 0x24).
    public let signatureAlgorithm: String?
    /// The certificate's key algorithm, for example `RSA2048` (sub-TLV 0x25).
    public let keyAlgorithm: String?
    /// Every sub-TLV, including unknown ones.
    public let subTLVs: [ProxyTLV]

    /// True when the client spoke TLS to the proxy (`PP2_CLIENT_SSL`).
    public var isTLS: Bool { clientFlags & 0x01 != 0 }
    /// True when the client sent a certificate on this connection (`PP2_CLIENT_CERT_CONN`).
    public var hasCertificateOnConnection: Bool { clientFlags & 0x02 != 0 }
    /// True when the client sent a certificate in this TLS session (`PP2_CLIENT_CERT_SESS`).
    public var hasCertificateInSession: Bool { clientFlags & 0x04 != 0 }

    /// Decodes the TLV's value; nil when shorter than its 5-byte fixed part (the parser
    /// refuses such headers, so this only happens for hand-made values).
    public init?(value: [UInt8]) {
        guard value.count >= 5 else { return nil }
        clientFlags = value[0]
        verify = UInt32(value[1]) << 24 | UInt32(value[2]) << 16 | UInt32(value[3]) << 8 | UInt32(value[4])
        let subs = ProxyTLV.list(in: Array(value[5...]))
        subTLVs = subs
        func text(_ type: UInt8) -> String? {
            subs.first { $0.type == type }.map { String(decoding: $0.value, as: UTF8.self) }
        }
        version = text(0x21)
        commonName = text(0x22)
        cipher = text(0x23)
        signatureAlgorithm = text(0x24)
        keyAlgorithm = text(0x25)
    }
}
