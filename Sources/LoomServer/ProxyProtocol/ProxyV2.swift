import LoomSockets

/// The binary header (version 2): a 16-byte fixed part, then addresses and TLVs.
enum ProxyV2 {
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    static let fixedLength = 16

    /// Address block sizes by family nibble: unspecified, IPv4, IPv6, Unix.
    static let addressLengths = [0, 12, 36, 216]

    static func parse(
        _ bytes: UnsafeRawBufferPointer, maxLength: Int, verifiesChecksum: Bool
    ) throws(ProxyProtocolError) -> ProxyHeaderParser.Result {
        // Each fixed byte is checked as soon as it is there, so garbage never waits for more.
        guard bytes.count > 12 else { return .needMoreData }
        let versionCommand = bytes[12]
        guard versionCommand >> 4 == 2 else { throw .v2UnsupportedVersion(versionCommand >> 4) }
        guard versionCommand & 0x0F <= 1 else { throw .v2UnsupportedCommand(versionCommand & 0x0F) }
        let isProxy = versionCommand & 0x0F == 1
        guard bytes.count > 13 else { return .needMoreData }
        let familyTransport = bytes[13]
        let family = Int(familyTransport >> 4)
        let transportNibble = familyTransport & 0x0F
        guard family <= 3, transportNibble <= 2 else { throw .v2UnsupportedFamily(familyTransport) }
        guard bytes.count >= fixedLength else { return .needMoreData }
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard length <= maxLength else { throw .v2TooLong(length: length, limit: maxLength) }
        let addressLength = addressLengths[family]
        if isProxy && length < addressLength {
            throw .v2AddressesTooShort(length: length, needed: addressLength)
        }
        let total = fixedLength + length
        guard bytes.count >= total else { return .needMoreData }

        // LOCAL: the block is to be ignored, addresses included; its TLVs are still read when
        // the block holds the family's addresses.
        let tlvStart = fixedLength + (length >= addressLength ? addressLength : length)
        let tlvBlock = UnsafeRawBufferPointer(rebasing: bytes[tlvStart..<total])
        try checkTLVs(tlvBlock, header: UnsafeRawBufferPointer(rebasing: bytes[0..<total]),
                      tlvOffset: tlvStart, verifiesChecksum: verifiesChecksum)

        var source: SocketAddress?
        var destination: SocketAddress?
        if isProxy && family != 0 {
            let block = UnsafeRawBufferPointer(rebasing: bytes[fixedLength..<(fixedLength + addressLength)])
            (source, destination) = addresses(family: family, block)
        }
        let transport: ProxyTransport = switch (isProxy, transportNibble) {
        case (true, 1): .stream
        case (true, 2): .datagram
        default: .unspecified
        }
        return .header(ProxyHeader(
            version: .v2, command: isProxy ? .proxy : .local, transport: transport,
            source: source, destination: destination,
            rawTLVs: tlvBlock.isEmpty ? [] : Array(tlvBlock), length: total))
    }

    /// Checked lengths make these conversions infallible: 4 or 16 bytes, at most 108.
    private static func addresses(family: Int, _ block: UnsafeRawBufferPointer) -> (SocketAddress?, SocketAddress?) {
        func port(_ offset: Int) -> UInt16 { UInt16(block[offset]) << 8 | UInt16(block[offset + 1]) }
        switch family {
        case 1:
            return (try? SocketAddress(ipBytes: UnsafeRawBufferPointer(rebasing: block[0..<4]), port: port(8)),
                    try? SocketAddress(ipBytes: UnsafeRawBufferPointer(rebasing: block[4..<8]), port: port(10)))
        case 2:
            return (try? SocketAddress(ipBytes: UnsafeRawBufferPointer(rebasing: block[0..<16]), port: port(32)),
                    try? SocketAddress(ipBytes: UnsafeRawBufferPointer(rebasing: block[16..<32]), port: port(34)))
        default:
            return (try? SocketAddress(unixPathBytes: UnsafeRawBufferPointer(rebasing: block[0..<108])),
                    try? SocketAddress(unixPathBytes: UnsafeRawBufferPointer(rebasing: block[108..<216])))
        }
    }

    /// Every TLV (and every sub-TLV of the SSL one) must lie inside its block; the registered
    /// types' fixed sizes are enforced and a CRC32C is verified.
    private static func checkTLVs(
        _ block: UnsafeRawBufferPointer, header: UnsafeRawBufferPointer, tlvOffset: Int, verifiesChecksum: Bool
    ) throws(ProxyProtocolError) {
        var offset = 0
        while offset < block.count {
            guard offset + 3 <= block.count else {
                throw .v2MalformedTLV("TLV header at offset \(tlvOffset + offset) overruns the block")
            }
            let type = block[offset]
            let length = Int(block[offset + 1]) << 8 | Int(block[offset + 2])
            let start = offset + 3
            guard start + length <= block.count else {
                throw .v2MalformedTLV("TLV 0x\(String(type, radix: 16)) of length \(length) overruns the block")
            }
            switch ProxyTLV.Kind(rawValue: type) {
            case .crc32c:
                guard length == 4 else { throw .v2MalformedTLV("CRC32C TLV of length \(length), not 4") }
                if verifiesChecksum {
                    let expected = UInt32(block[start]) << 24 | UInt32(block[start + 1]) << 16
                        | UInt32(block[start + 2]) << 8 | UInt32(block[start + 3])
                    let field = (tlvOffset + start)..<(tlvOffset + start + 4)
                    guard CRC32C.checksum(header, zeroing: field) == expected else { throw .v2ChecksumMismatch }
                }
            case .uniqueID:
                guard length <= 128 else { throw .v2MalformedTLV("unique ID of \(length) bytes, more than 128") }
            case .ssl:
                guard length >= 5 else { throw .v2MalformedTLV("SSL TLV of length \(length), less than 5") }
                var sub = start + 5
                while sub < start + length {
                    guard sub + 3 <= start + length,
                          sub + 3 + (Int(block[sub + 1]) << 8 | Int(block[sub + 2])) <= start + length
                    else { throw .v2MalformedTLV("SSL sub-TLV overruns the SSL TLV") }
                    sub += 3 + (Int(block[sub + 1]) << 8 | Int(block[sub + 2]))
                }
            case .alpn, .authority, .noop, .netns, nil:
                break
            }
            offset = start + length
        }
    }
}
