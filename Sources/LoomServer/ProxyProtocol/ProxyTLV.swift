/// One type-length-value entry of a PROXY v2 header.
public struct ProxyTLV: Sendable, Hashable {
    /// The registered TLV types (HAProxy's specification, section 2.2).
    public enum Kind: UInt8, Sendable, Hashable {
        /// `PP2_TYPE_ALPN`: the negotiated application protocol.
        case alpn = 0x01
        /// `PP2_TYPE_AUTHORITY`: the host name (SNI) the client sent.
        case authority = 0x02
        /// `PP2_TYPE_CRC32C`: a checksum of the whole header (checked by the parser).
        case crc32c = 0x03
        /// `PP2_TYPE_NOOP`: padding.
        case noop = 0x04
        /// `PP2_TYPE_UNIQUE_ID`: an opaque id of the connection, at most 128 bytes.
        case uniqueID = 0x05
        /// `PP2_TYPE_SSL`: TLS facts, with sub-TLVs 0x21 to 0x25.
        case ssl = 0x20
        /// `PP2_TYPE_NETNS`: the network namespace's name.
        case netns = 0x30
    }

    /// The type byte (see ``Kind`` for the registered ones).
    public let type: UInt8
    /// The value.
    public let value: [UInt8]

    /// Creates a TLV.
    public init(type: UInt8, value: [UInt8]) {
        self.type = type
        self.value = value
    }

    /// The registered kind, or nil for a custom or unknown type.
    public var kind: Kind? { Kind(rawValue: type) }

    /// Walks a block the parser has already checked: every entry's value lies inside it.
    static func forEach(in block: some RandomAccessCollection<UInt8>, _ body: (UInt8, Range<Int>) -> Bool) {
        var offset = 0
        let count = block.count
        let start = block.startIndex
        func byte(_ i: Int) -> UInt8 { block[block.index(start, offsetBy: i)] }
        while offset + 3 <= count {
            let length = Int(byte(offset + 1)) << 8 | Int(byte(offset + 2))
            guard offset + 3 + length <= count else { return }
            if !body(byte(offset), (offset + 3)..<(offset + 3 + length)) { return }
            offset += 3 + length
        }
    }

    static func list(in block: [UInt8]) -> [ProxyTLV] {
        var result: [ProxyTLV] = []
        forEach(in: block) { type, range in
            result.append(ProxyTLV(type: type, value: Array(block[range])))
            return true
        }
        return result
    }

    static func first(_ type: UInt8, in block: [UInt8]) -> [UInt8]? {
        var found: [UInt8]?
        forEach(in: block) { candidate, range in
            guard candidate == type else { return true }
            found = Array(block[range])
            return false
        }
        return found
    }
}
