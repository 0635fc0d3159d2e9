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
        if let header = completeLine(bytes) { return .header(header) }
        return try parseByteByByte(bytes)
    }

    /// The common case, a whole valid line (proxies send it in one segment), checked in one
    /// tight pass. Nil for anything else (incomplete, invalid): the byte-by-byte parser then
    /// answers, with the error at the first bad byte, so both always agree.
    private static func completeLine(_ bytes: UnsafeRawBufferPointer) -> ProxyHeader? {
        let limit = min(bytes.count, maxLength)
        var end = signature.count
        var spaces = (0, 0, 0, 0, 0)
        var spaceCount = 0
        while end < limit {
            let byte = bytes[end]
            if byte == cr { break }
            if byte == space {
                switch spaceCount {
                case 0: spaces.0 = end
                case 1: spaces.1 = end
                case 2: spaces.2 = end
                case 3: spaces.3 = end
                default: spaces.4 = end
                }
                spaceCount += 1
            } else if byte < 0x21 || byte > 0x7E {
                return nil
            }
            end += 1
        }
        guard end + 1 < limit, bytes[end] == cr, bytes[end + 1] == lf else { return nil }
        let protoEnd = spaceCount == 0 ? end : spaces.0
        let proto = UnsafeRawBufferPointer(rebasing: bytes[signature.count..<protoEnd])
        if proto.elementsEqual(protocols[2]) {
            return header(.unknown, Fields(), length: end + 2)
        }
        let isV6: Bool
        if proto.elementsEqual(protocols[0]) { isV6 = false }
        else if proto.elementsEqual(protocols[1]) { isV6 = true }
        else { return nil }
        guard spaceCount == 4 else { return nil }
        var fields = Fields()
        let sourceText = UnsafeRawBufferPointer(rebasing: bytes[(spaces.0 + 1)..<spaces.1])
        let destinationText = UnsafeRawBufferPointer(rebasing: bytes[(spaces.1 + 1)..<spaces.2])
        guard sourceText.count <= (isV6 ? 45 : 15), destinationText.count <= (isV6 ? 45 : 15),
              sourceText.allSatisfy({ isAddressCharacter($0, v6: isV6) }),
              destinationText.allSatisfy({ isAddressCharacter($0, v6: isV6) }),
              withUnsafeMutableBytes(of: &fields.source, { address(sourceText, v6: isV6, into: $0) }),
              withUnsafeMutableBytes(of: &fields.destination, { address(destinationText, v6: isV6, into: $0) }),
              let sourcePort = port(UnsafeRawBufferPointer(rebasing: bytes[(spaces.2 + 1)..<spaces.3])),
              let destinationPort = port(UnsafeRawBufferPointer(rebasing: bytes[(spaces.3 + 1)..<end]))
        else { return nil }
        fields.sourcePort = sourcePort
        fields.destinationPort = destinationPort
        return header(isV6 ? .tcp6 : .tcp4, fields, length: end + 2)
    }

    /// 1 to 5 digits, at most 65535.
    private static func port(_ text: UnsafeRawBufferPointer) -> UInt16? {
        guard (1...5).contains(text.count) else { return nil }
        var value = 0
        for byte in text {
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value <= 65_535 ? UInt16(value) : nil
    }

    private static func parseByteByByte(_ bytes: UnsafeRawBufferPointer) throws(ProxyProtocolError) -> ProxyHeaderParser.Result {
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

    private static let protocols: [[UInt8]] = [Array("TCP4".utf8), Array("TCP6".utf8), Array("UNKNOWN".utf8)]

    /// A field still arriving, whose last byte just came: the bytes before it were checked when
    /// they came, so only this one and the field's length are (one pass over the line in all).
    private static func checkPartial(
        proto: LineProtocol, _ field: Int, _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>
    ) throws(ProxyProtocolError) {
        let byte = bytes[range.upperBound - 1]
        switch field {
        case 0:
            // At most 7 bytes: the whole prefix is compared, since "UNP" is no protocol's prefix
            // although each of its bytes is some protocol's at that position.
            let text = UnsafeRawBufferPointer(rebasing: bytes[range])
            let matchesOne = protocols.contains { name in
                text.count <= name.count && text.elementsEqual(name.prefix(text.count))
            }
            guard matchesOne else { throw .v1Malformed("unknown protocol (TCP4, TCP6 or UNKNOWN)") }
        case 1, 2:
            let isV6 = proto == .tcp6
            guard range.count <= (isV6 ? 45 : 15), isAddressCharacter(byte, v6: isV6) else {
                throw .v1Malformed("invalid \(field == 1 ? "source" : "destination") address")
            }
        default:
            guard range.count <= 5, (0x30...0x39).contains(byte) else {
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
            var parsedAddress = in6_addr()
            let parsed = withUnsafeMutableBytes(of: &parsedAddress) { address(text, v6: proto == .tcp6, into: $0) }
            if field == 1 { fields.source = parsedAddress } else { fields.destination = parsedAddress }
            guard parsed else {
                throw .v1Malformed("invalid \(field == 1 ? "source" : "destination") address for \(proto == .tcp6 ? "TCP6" : "TCP4")")
            }
        default:
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
        let source = withUnsafeBytes(of: fields.source) {
            try? SocketAddress(ipBytes: UnsafeRawBufferPointer(rebasing: $0.prefix(size)), port: fields.sourcePort)
        }
        let destination = withUnsafeBytes(of: fields.destination) {
            try? SocketAddress(ipBytes: UnsafeRawBufferPointer(rebasing: $0.prefix(size)), port: fields.destinationPort)
        }
        return ProxyHeader(version: .v1, command: .proxy, transport: .stream,
                           source: source, destination: destination, length: length)
    }
}
