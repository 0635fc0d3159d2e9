import Foundation

/// Reading one line of the protocol: strict UTF-8, then one JSON object (Foundation's
/// `JSONSerialization`, which rejects trailing bytes, unescaped control characters and lone
/// surrogates), then typed fields. Only this file and the two message types see Foundation.
struct JSONObject {
    private let fields: [String: Any]

    /// Parses `line` (no newline) or throws the error the client is told.
    init(parsing line: ArraySlice<UInt8>) throws(ChatProtocolError) {
        // JSONSerialization guesses UTF-16/32 from the first bytes; the protocol is UTF-8 only,
        // so check it first (and get the error the client should see).
        guard String(validating: line, as: UTF8.self) != nil else { throw .notUTF8 }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(line), options: [])
        } catch {
            throw .notJSONObject
        }
        guard let fields = value as? [String: Any] else { throw .notJSONObject }
        self.fields = fields
    }

    /// Whether `key` is present at all (any type, even null).
    func has(_ key: String) -> Bool { fields[key] != nil }

    /// The string at `key`, nil when absent or not a string.
    func string(_ key: String) -> String? { fields[key] as? String }

    /// True only for the JSON literal `true` (as Python's `obj.get(key) is True`): `1` is not.
    func isTrue(_ key: String) -> Bool {
        guard let number = fields[key] as? NSNumber else { return false }
        // JSONSerialization makes booleans NSNumbers of type "c" (char); integers are "i"/"q".
        return String(cString: number.objCType) == "c" && number.boolValue
    }

    /// The array of strings at `key`, nil when absent or not an array of strings.
    func strings(_ key: String) -> [String]? { fields[key] as? [String] }
}
