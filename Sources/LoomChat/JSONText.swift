/// The JSON the chat server writes, by hand: its messages are a few string fields, so a small
/// encoder is faster than Foundation's and fixes the key order the protocol documents.
///
/// Strings are written as UTF-8 (a Swift `String` is always valid UTF-8), escaping only what
/// JSON requires: the quote, the backslash and the control characters below U+0020.
enum JSONText {
    /// Appends `text` as a JSON string literal, quotes included.
    static func appendString(_ text: String, to output: inout [UInt8]) {
        output.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])  // \"
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])  // \\
            case 0x0A: output.append(contentsOf: [0x5C, 0x6E])  // \n
            case 0x0D: output.append(contentsOf: [0x5C, 0x72])  // \r
            case 0x09: output.append(contentsOf: [0x5C, 0x74])  // \t
            case 0x00..<0x20:
                output.append(contentsOf: Array("\\u00".utf8))
                output.append(hexDigit(byte >> 4))
                output.append(hexDigit(byte & 0x0F))
            default: output.append(byte)
            }
        }
        output.append(0x22)
    }

    /// Appends `"key":` followed by the string `value`.
    static func appendField(_ key: StaticString, _ value: String, to output: inout [UInt8]) {
        appendKey(key, to: &output)
        appendString(value, to: &output)
    }

    /// Appends `"key":`.
    static func appendKey(_ key: StaticString, to output: inout [UInt8]) {
        output.append(0x22)
        key.withUTF8Buffer { output.append(contentsOf: $0) }
        output.append(contentsOf: [0x22, 0x3A])
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x61 + value - 10
    }
}
