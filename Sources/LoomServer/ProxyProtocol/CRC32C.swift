/// CRC-32C (Castagnoli), the checksum of the PROXY v2 CRC32C TLV: bitwise-reflected
/// polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF.
enum CRC32C {
    // 1 KiB, built once: the checksum is only computed for headers that carry the TLV.
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? (value >> 1) ^ 0x82F6_3B78 : value >> 1 }
        return value
    }

    /// The checksum of `bytes`, with the 4 bytes at `zeroed` (if any) taken as zero, as the
    /// specification computes it over a header whose own CRC field is blanked.
    static func checksum(_ bytes: some Sequence<UInt8>, zeroing zeroed: Range<Int>? = nil) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        var index = 0
        for byte in bytes {
            let value = zeroed?.contains(index) == true ? 0 : byte
            crc = table[Int((crc ^ UInt32(value)) & 0xFF)] ^ (crc >> 8)
            index += 1
        }
        return crc ^ 0xFFFF_FFFF
    }
}
