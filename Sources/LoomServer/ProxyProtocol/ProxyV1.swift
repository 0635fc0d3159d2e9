#if canImport(Glibc)
import Glibc
#endif
import LoomSockets

/// The text header (version 1): `PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n`, at most
/// 107 bytes with its CRLF; `TCP6` likewise; `PROXY UNKNOWN…\r\n` says nothing (the rest of
/// the line is ignored).
///
/// Checked byte by byte as the bytes arrive: every field's characters and length, each field
/// as soon as the space after it arrives, so a bad line fails at its first wrong byte.
enum ProxyV1 {
    static let signature = Array("PROXY ".utf8)
    static let maxLength = 107

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let space: UInt8 = 0x20

    private enum LineProtocol { case pending, tcp4, tcp6, unknown }

    /// The fields after `PROXY`: protocol, source, destination, source port, destination port.
    private struct Fields {
        var source = in6_addr()
        var destination = in6_addr()
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProxyProtocolError) -> ProxyHeaderParser.Result {
        var proto = LineProtocol.pending
        var field = 0
        var fieldStart = signature.count
        var fields = Fields()
        var index = signature.count
        while index < min(bytes.count, maxLength) {
            let byte = bytes[index]
            if byte == cr {
                // CRLF must fit in the 107 bytes, so a CR at the last position is already too long.
                guard index + 1 < maxLength else { throw .v1LineTooLong }
                if proto != .unknown {
                    try finishField(proto: &proto, field, bytes, fieldStart..<index, into: &fields, last: true)
                }
                guard index + 1 < bytes.count else { return .needMoreData }
                guard bytes[index + 1] == lf else { throw .v1Malformed("CR not followed by LF") }
                return .header(header(proto, fields, length: index + 2))
            } else if byte == space {
                if proto != .unknown {
                    try finishField(proto: &proto, field, bytes, fieldStart..<index, into: &fields, last: false)
                    field += 1
                    fieldStart = index + 1
                    guard field <= 4 else { throw .v1Malformed("more than 5 fields after PROXY") }
                }
            } else if byte == lf {
                throw .v1Malformed("LF without CR")
            } else {
                guard (0x21...0x7E).contains(byte) else {
                    throw .v1Malformed("byte 0x\(String(byte, radix: 16)) at offset \(index)")
                }
                if proto != .unknown {
                    try checkPartial(proto: proto, field, bytes, fieldStart..<(index + 1))
                }
            }
            index += 1
        }
        if bytes.count >= maxLength { throw .v1LineTooLong }
        return .needMoreData
    }

    /// A field still arriving: only characters and a length it may have.
    private static func checkPartial(
        proto: LineProtocol, _ field: Int, _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>
    ) throws(ProxyProtocolError) {
        let text = UnsafeRawBufferPointer(rebasing: bytes[range])
        switch field {
        case 0:
            let matchesOne = ["TCP4", "TCP6", "UNKNOWN"].contains { name in
                text.count <= name.utf8.count && zip(text, name.utf8).allSatisfy { $0 == $1 }
            }
            guard matchesOne else { throw .v1Malformed("unknown protocol (TCP4, TCP6 or UNKNOWN)") }
        case 1, 2:
            let isV6 = proto == .tcp6
            guard text.count <= (isV6 ? 45 : 15), text.allSatisfy({ isAddressCharacter($0, v6: isV6) }) else {
                throw .v1Malformed("invalid \(field == 1 ? "source" : "destination") address")
            }
        default:
            guard text.count <= 5, text.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw .v1Malformed("invalid \(field == 3 ? "source" : "destination") port")
            }
        }
    }

    /// A field followed by a space (or, `last`, by CRLF): checked whole.
    private static func finishField(
        proto: inout LineProtocol, _ field: Int, _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>,
        into fields: inout Fields, last: Bool
    ) throws(ProxyProtocolError) {
        let text = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard !text.isEmpty else { throw .v1Malformed("empty field (two spaces in a row?)") }
        switch field {
        case 0:
            if text.elementsEqual("TCP4".utf8) { proto = .tcp4 }
            else if text.elementsEqual("TCP6".utf8) { proto = .tcp6 }
            else if text.elementsEqual("UNKNOWN".utf8) { proto = .unknown; return }
            else { throw .v1Malformed("unknown protocol (TCP4, TCP6 or UNKNOWN)") }
        case 1, 2:
            try checkPartial(proto: proto, field, bytes, range)
            var parsedAddress = in6_addr()
            let parsed = withUnsafeMutableBytes(of: &parsedAddress) { address(text, v6: proto == .tcp6, into: $0) }
            if field == 1 { fields.source = parsedAddress } else { fields.destination = parsedAddress }
            guard parsed else {
                throw .v1Malformed("invalid \(field == 1 ? "source" : "destination") address for \(proto == .tcp6 ? "TCP6" : "TCP4")")
            }
        default:
            try checkPartial(proto: proto, field, bytes, range)
            let value = text.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard value <= 65_535 else { throw .v1Malformed("port \(value) is outside 0-65535") }
            if field == 3 { fields.sourcePort = UInt16(value) } else { fields.destinationPort = UInt16(value) }
        }
        if last && proto != .unknown && field != 4 { throw .v1Malformed("line ends after \(field + 1) of 5 fields") }
    }

    private static func isAddressCharacter(_ byte: UInt8, v6: Bool) -> Bool {
        switch byte {
        case 0x30...0x39, 0x2E: true                              // digits and '.'
        case 0x3A, 0x41...0x46, 0x61...0x66: v6                   // ':' and hex letters
        default: false
        }
    }

    /// `inet_pton` on a field, through a NUL-terminated copy on the stack.
    private static func address(_ text: UnsafeRawBufferPointer, v6: Bool, into out: UnsafeMutableRawBufferPointer) -> Bool {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 48) { buffer in
            for (offset, byte) in text.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
            buffer[text.count] = 0
            return inet_pton(v6 ? AF_INET6 : AF_INET, buffer.baseAddress, out.baseAddress) == 1
        }
    }

    private static func header(_ proto: LineProtocol, _ fields: Fields, length: Int) -> ProxyHeader {
        guard proto == .tcp4 || proto == .tcp6 else {
            return ProxyHeader(version: .v1, command: .proxy, transport: .unspecified,
                               source: nil, destination: nil, length: length)
        }
        let size = proto == .tcp4 ? 4 : 16
        let source = withUnsafeBytes(of: fields.source) { try? SocketAddress(ipBytes: $0.prefix(size), port: fields.sourcePort) }
        let destination = withUnsafeBytes(of: fields.destination) {
            try? SocketAddress(ipBytes: $0.prefix(size), port: fields.destinationPort)
        }
        return ProxyHeader(version: .v1, command: .proxy, transport: .stream,
                           source: source, destination: destination, length: length)
    }
}
