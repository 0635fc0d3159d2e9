#if canImport(Glibc)
import Glibc
#endif
@testable import LoomServer
import LoomSockets

/// Builds PROXY headers byte by byte from the specification, independently of the parser.
enum ProxyHeaderBuilder {
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    static func v1(_ line: String) -> [UInt8] { Array(line.utf8) }

    static func tlv(_ type: UInt8, _ value: [UInt8]) -> [UInt8] {
        [type, UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
    }

    static func tlv(_ type: UInt8, _ text: String) -> [UInt8] { tlv(type, Array(text.utf8)) }

    static func ipv4(_ text: String) -> [UInt8] {
        var address = in_addr()
        precondition(inet_pton(AF_INET, text, &address) == 1)
        return withUnsafeBytes(of: address) { Array($0) }
    }

    static func ipv6(_ text: String) -> [UInt8] {
        var address = in6_addr()
        precondition(inet_pton(AF_INET6, text, &address) == 1)
        return withUnsafeBytes(of: address) { Array($0) }
    }

    static func port(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func unixPath(_ path: [UInt8]) -> [UInt8] { path + [UInt8](repeating: 0, count: 108 - path.count) }

    /// A v2 header: version/command byte, family/transport byte, then `body` (addresses and TLVs).
    static func v2(command: UInt8 = 0x21, family: UInt8, body: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
        let length = declaredLength ?? body.count
        return v2Signature + [command, family, UInt8(length >> 8), UInt8(length & 0xFF)] + body
    }

    static func v2IPv4(source: String, _ sourcePort: UInt16, destination: String, _ destinationPort: UInt16,
                       tlvs: [UInt8] = [], datagram: Bool = false) -> [UInt8] {
        v2(family: datagram ? 0x12 : 0x11,
           body: ipv4(source) + ipv4(destination) + port(sourcePort) + port(destinationPort) + tlvs)
    }

    static func v2IPv6(source: String, _ sourcePort: UInt16, destination: String, _ destinationPort: UInt16,
                       tlvs: [UInt8] = []) -> [UInt8] {
        v2(family: 0x21, body: ipv6(source) + ipv6(destination) + port(sourcePort) + port(destinationPort) + tlvs)
    }

    /// Adds a CRC32C TLV and fills it in, as a sender does: checksum over the header with the field zeroed.
    static func withChecksum(_ header: [UInt8]) -> [UInt8] {
        var bytes = header + tlv(0x03, [0, 0, 0, 0])
        let length = bytes.count - 16
        bytes[14] = UInt8(length >> 8)
        bytes[15] = UInt8(length & 0xFF)
        let crc = referenceCRC32C(bytes)
        let end = bytes.count
        bytes[end - 4] = UInt8(crc >> 24)
        bytes[end - 3] = UInt8((crc >> 16) & 0xFF)
        bytes[end - 2] = UInt8((crc >> 8) & 0xFF)
        bytes[end - 1] = UInt8(crc & 0xFF)
        return bytes
    }

    /// Bit by bit, no table: an independent check of the parser's table-driven CRC32C.
    static func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}

/// A deterministic generator (SplitMix64), so a randomized test fails the same way every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
