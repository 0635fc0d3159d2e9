import LoomSockets

/// Why a PROXY protocol header was refused. Each description is one line for the log, for
/// example `PROXY v1: no CRLF within 107 bytes`.
public enum ProxyProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection did not start with a PROXY header, in ``ProxyProtocolMode/required`` mode.
    case notProxyHeader
    /// A v1 line without CRLF within its 107-byte limit.
    case v1LineTooLong
    /// A v1 line that breaks the grammar; the text says where.
    case v1Malformed(String)
    /// A v2 version nibble other than 2.
    case v2UnsupportedVersion(UInt8)
    /// A v2 command nibble other than LOCAL (0) or PROXY (1).
    case v2UnsupportedCommand(UInt8)
    /// A v2 family/transport byte outside the specification's (family 0-3, transport 0-2).
    case v2UnsupportedFamily(UInt8)
    /// A v2 header longer than the receiver accepts (``ProxyHeaderParser/maxV2Length``).
    case v2TooLong(length: Int, limit: Int)
    /// A v2 PROXY header whose length cannot hold its family's addresses.
    case v2AddressesTooShort(length: Int, needed: Int)
    /// A v2 TLV that overruns its block or breaks its type's rules; the text says which.
    case v2MalformedTLV(String)
    /// The v2 CRC32C TLV does not match the header.
    case v2ChecksumMismatch
    /// The peer closed the connection after `received` bytes, before the header was complete.
    case truncated(received: Int)
    /// The header was not complete when the reader's time ran out (`received` bytes so far).
    case timedOut(received: Int)
    /// The socket failed while the header was being read.
    case socket(SocketError)

    /// One line naming the protocol, the version and the reason.
    public var description: String {
        switch self {
        case .notProxyHeader: "PROXY protocol: the connection does not start with a PROXY header"
        case .v1LineTooLong: "PROXY v1: no CRLF within 107 bytes"
        case .v1Malformed(let reason): "PROXY v1: \(reason)"
        case .v2UnsupportedVersion(let version): "PROXY v2: unsupported version \(version)"
        case .v2UnsupportedCommand(let command): "PROXY v2: unsupported command \(command)"
        case .v2UnsupportedFamily(let byte):
            "PROXY v2: unsupported family/transport byte 0x\(String(byte, radix: 16))"
        case .v2TooLong(let length, let limit): "PROXY v2: declared length \(length) exceeds the limit of \(limit)"
        case .v2AddressesTooShort(let length, let needed):
            "PROXY v2: declared length \(length) cannot hold the \(needed) bytes of its addresses"
        case .v2MalformedTLV(let reason): "PROXY v2: \(reason)"
        case .v2ChecksumMismatch: "PROXY v2: CRC32C checksum mismatch"
        case .truncated(let received): "PROXY protocol: the peer closed after \(received) bytes of an incomplete header"
        case .timedOut(let received): "PROXY protocol: header incomplete after \(received) bytes when the time ran out"
        case .socket(let error): "PROXY protocol: \(error)"
        }
    }
}
