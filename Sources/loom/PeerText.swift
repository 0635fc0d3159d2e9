/// Bytes from a peer made safe for a log line, like Python's `%r`: a peer must not be able to
/// start a new line (`a\nerror: forged`), move the cursor or recolour the terminal.
///
/// Printable text, including non-ASCII such as `我下线了`, stays as it is; `\n`, `\r`, `\t` and
/// `\\` are escaped as in Swift and Python; other control and format characters (C0, DEL, C1,
/// bidirectional overrides, line separators) become `\u{…}`; bytes that are not UTF-8 become `\xNN`.
enum PeerText {
    static func escaped(_ bytes: [UInt8]) -> String {
        var output = ""
        var index = 0
        while index < bytes.count {
            // A fresh decoder per scalar, so each invalid byte is reported as itself.
            var decoder = Unicode.UTF8()
            var iterator = bytes[index...].makeIterator()
            if case .scalarValue(let scalar) = decoder.decode(&iterator) {
                output += escaped(scalar)
                index += UTF8.width(scalar)
            } else {
                output += "\\x" + hex(bytes[index], width: 2)
                index += 1
            }
        }
        return output
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\\": return "\\\\"
        default: break
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .unassigned, .privateUse, .surrogate:
            return "\\u{" + hex(scalar.value, width: 4) + "}"
        default:
            return String(scalar)
        }
    }

    private static func hex(_ value: some BinaryInteger, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: false)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
