/// Reading one line of the protocol: strict UTF-8, then one JSON object (``JSONParser``, which
/// rejects trailing bytes, unescaped control characters and lone surrogates), then typed fields.
struct JSONObject {
    private let fields: [String: JSONParser.Value]

    /// Parses `line` (no newline) or throws the error the client is told.
    init(parsing line: ArraySlice<UInt8>) throws(ChatProtocolError) {
        guard String(validating: line, as: UTF8.self) != nil else { throw .notUTF8 }
        guard case .object(let fields) = try? JSONParser.parse(line) else { throw .notJSONObject }
        self.fields = fields
    }

    /// Whether `key` is present at all (any type, even null).
    func has(_ key: String) -> Bool { fields[key] != nil }

    /// The string at `key`, nil when absent or not a string.
    func string(_ key: String) -> String? {
        guard case .string(let text) = fields[key] else { return nil }
        return text
    }

    /// True only for the JSON literal `true` (as Python's `obj.get(key) is True`): `1` is not.
    func isTrue(_ key: String) -> Bool {
        guard case .bool(true) = fields[key] else { return false }
        return true
    }

    /// The array of strings at `key`, nil when absent or not an array of strings.
    func strings(_ key: String) -> [String]? {
        guard case .array(let elements) = fields[key] else { return nil }
        var texts: [String] = []
        texts.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { return nil }
            texts.append(text)
        }
        return texts
    }
}
