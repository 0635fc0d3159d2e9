/// A strict RFC 8259 reader for one protocol line, so that the chat (and every program that
/// links `Loom`) does not load Foundation: linking it cost `loom serve` 6 MB of resident memory
/// before its first connection (22.3 MB with it, 16.2 MB without, release builds).
///
/// It accepts what `JSONSerialization` (the previous reader) accepts as an object — no trailing
/// bytes but whitespace, no unescaped control characters, no lone surrogates, no leading zeros,
/// no `NaN`/`Infinity`, no number beyond a Double's range — except two laxities of this
/// Foundation that RFC 8259 and Python's `json.loads` (the course's server) refuse, and so does
/// Loom: a trailing comma (`[1,]`, `{"a":1,}`) and a leading byte-order mark. Nesting deeper
/// than ``maximumDepth`` is refused rather than allowed to exhaust the stack. A repeated key
/// keeps its last value, as in both.
struct JSONParser {
    /// A JSON value as far as the protocol reads it: numbers are recognised, never converted.
    enum Value {
        case string(String)
        case bool(Bool)
        case number
        case null
        case array([Value])
        case object([String: Value])
    }

    /// The refusal: the protocol tells the client only that the line is not a JSON object.
    struct Invalid: Error {}

    /// Deeper than this is refused; Foundation's scanner has the same bound.
    static let maximumDepth = 512

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    /// Parses the whole of `bytes` (already checked to be UTF-8) as one JSON value.
    static func parse(_ bytes: ArraySlice<UInt8>) throws(Invalid) -> Value {
        var parser = JSONParser(bytes: bytes, index: bytes.startIndex)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.endIndex else { throw Invalid() }
        return value
    }

    private var next: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(Invalid) {
        let count = literal.utf8CodeUnitCount
        guard bytes.endIndex - index >= count else { throw Invalid() }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { throw Invalid() }
        index += count
    }

    private mutating func value(depth: Int) throws(Invalid) -> Value {
        guard let byte = next else { throw Invalid() }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: try number(); return .number
        }
    }

    private mutating func object(depth: Int) throws(Invalid) -> Value {
        guard depth <= Self.maximumDepth else { throw Invalid() }
        index += 1  // {
        var fields: [String: Value] = [:]
        skipWhitespace()
        if next == UInt8(ascii: "}") { index += 1; return .object(fields) }
        while true {
            guard next == UInt8(ascii: "\"") else { throw Invalid() }
            let key = try string()
            skipWhitespace()
            guard next == UInt8(ascii: ":") else { throw Invalid() }
            index += 1
            skipWhitespace()
            fields[key] = try value(depth: depth)
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): index += 1; skipWhitespace()
            case UInt8(ascii: "}"): index += 1; return .object(fields)
            default: throw Invalid()
            }
        }
    }

    private mutating func array(depth: Int) throws(Invalid) -> Value {
        guard depth <= Self.maximumDepth else { throw Invalid() }
        index += 1  // [
        var elements: [Value] = []
        skipWhitespace()
        if next == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            elements.append(try value(depth: depth))
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): index += 1; skipWhitespace()
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw Invalid()
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, within a Double's range (as
    /// Foundation: `1e310` is refused).
    private mutating func number() throws(Invalid) {
        let start = index
        try numberSyntax()
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else {
            throw Invalid()
        }
    }

    private mutating func numberSyntax() throws(Invalid) {
        if next == UInt8(ascii: "-") { index += 1 }
        guard let first = next, isDigit(first) else { throw Invalid() }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if next == UInt8(ascii: ".") {
            index += 1
            try requireDigits()
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            index += 1
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { index += 1 }
            try requireDigits()
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while let byte = next, isDigit(byte) { index += 1 }
    }

    private mutating func requireDigits() throws(Invalid) {
        guard let byte = next, isDigit(byte) else { throw Invalid() }
        skipDigits()
    }

    private mutating func string() throws(Invalid) -> String {
        index += 1  // "
        let start = index
        // The common case, no escapes: one validated copy of the bytes.
        while let byte = next, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw Invalid() }
            index += 1
        }
        guard let stop = next else { throw Invalid() }
        if stop == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
        }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: String(decoding: bytes[start..<index], as: UTF8.self).unicodeScalars)
        var literal: [UInt8] = []
        while true {
            guard let byte = next else { throw Invalid() }
            if byte == UInt8(ascii: "\"") {
                index += 1
                flush(&literal, into: &scalars)
                return String(scalars)
            }
            guard byte >= 0x20 else { throw Invalid() }
            index += 1
            guard byte == UInt8(ascii: "\\") else { literal.append(byte); continue }
            flush(&literal, into: &scalars)
            scalars.append(try escape())
        }
    }

    private func flush(_ literal: inout [UInt8], into scalars: inout String.UnicodeScalarView) {
        guard !literal.isEmpty else { return }
        scalars.append(contentsOf: String(decoding: literal, as: UTF8.self).unicodeScalars)
        literal.removeAll(keepingCapacity: true)
    }

    /// After a backslash: one escape, or a surrogate pair written as two `\u` escapes.
    private mutating func escape() throws(Invalid) -> Unicode.Scalar {
        guard let byte = next else { throw Invalid() }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hexUnit()
            switch unit {
            case 0xD800...0xDBFF:
                try expect("\\u")
                let low = try hexUnit()
                guard (0xDC00...0xDFFF).contains(low) else { throw Invalid() }
                let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                guard let scalar = Unicode.Scalar(value) else { throw Invalid() }
                return scalar
            case 0xDC00...0xDFFF:
                throw Invalid()  // a lone low surrogate
            default:
                guard let scalar = Unicode.Scalar(unit) else { throw Invalid() }
                return scalar
            }
        default:
            throw Invalid()
        }
    }

    private mutating func hexUnit() throws(Invalid) -> UInt16 {
        guard bytes.endIndex - index >= 4 else { throw Invalid() }
        var unit: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Invalid()
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }
}
