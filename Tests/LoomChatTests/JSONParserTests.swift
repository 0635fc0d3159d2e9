import Foundation
import Testing
@testable import LoomChat

/// The chat's own JSON reader against Foundation's `JSONSerialization`, which it replaced: the
/// same lines must be objects or not, and the same fields read. Two documented exceptions, where
/// Loom refuses as RFC 8259 and Python's `json` do: trailing commas and a byte-order mark.
@Suite struct JSONParserTests {
    /// Whether `JSONSerialization` reads the line as an object, as the previous reader did, with
    /// the two laxities of this Foundation that Loom and Python refuse taken out.
    private func foundation(_ line: [UInt8]) -> [String: Any]? {
        guard String(validating: line, as: UTF8.self) != nil else { return nil }
        if line.starts(with: [0xEF, 0xBB, 0xBF]) || Self.hasTrailingComma(line) { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line), options: [])) as? [String: Any]
    }

    private func loom(_ line: [UInt8]) -> JSONObject? {
        try? JSONObject(parsing: line[...])
    }

    /// A comma followed (after whitespace) by `]` or `}` outside strings.
    private static func hasTrailingComma(_ line: [UInt8]) -> Bool {
        var inString = false, escaped = false, pendingComma = false
        for byte in line {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true; pendingComma = false
            case UInt8(ascii: ","): pendingComma = true
            case UInt8(ascii: "]"), UInt8(ascii: "}"): if pendingComma { return true }
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: pendingComma = false
            }
        }
        return false
    }

    static let corpus: [String] = [
        #"{}"#, #"[]"#, #" { } "#, "\t{\"a\":1}\r\n", #"{"a":"b"}"#, #"{"a":true,"b":false,"c":null}"#,
        #"{"name":"大熊猫","msg":"不要回答"}"#, #"{"a":"\u00e9\ud83d\ude00"}"#, #"{"a":"\"\\\/\b\f\n\r\t"}"#,
        #"{"a":[1,2.5,-0,1e10,1E-2,-3.25e+7]}"#, #"{"a":{"b":{"c":[[[]]]}}}"#, #"{"a":1,"a":"again"}"#,
        #"{"names":["x","y"]}"#, #"{"names":["x",1]}"#, #"{"leave":true}"#, #"{"leave":1}"#,
        // refused by both
        "", " ", "{", "}", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#, #"[1,]"#, #"{a:1}"#, #"{'a':1}"#,
        #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":1e}"#, #"{"a":+1}"#, #"{"a":-}"#,
        #"{"a":NaN}"#, #"{"a":Infinity}"#, #"{"a":tru}"#, #"{"a":nul}"#, #"{"a":"\x"}"#,
        #"{"a":"\u12"}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00"}"#, #"{"a":"\ud800\u0041"}"#,
        "{\"a\":\"tab\there\"}", "{\"a\":\"nl\nhere\"}", #"{} {}"#, #"{}x"#, "\u{FEFF}{}",
        #"{"a":1}]"#, #"[}"#, #"{"a" 1}"#, #"{,"a":1}"#, #"{"a":1e310}"#, "0", " 1", #""x""#, "null",
    ]

    @Test(arguments: corpus)
    func acceptsAndRefusesWhatFoundationDoes(line: String) {
        let bytes = Array(line.utf8)
        let theirs = foundation(bytes)
        let ours = loom(bytes)
        #expect((theirs == nil) == (ours == nil), "Foundation \(theirs == nil ? "refuses" : "accepts"), Loom \(ours == nil ? "refuses" : "accepts")")
    }

    @Test func readsTheSameFields() throws {
        let line = Array(#"{"name":"a\u00e9\ud83d\ude00","leave":true,"one":1,"names":["x","y"],"mixed":["x",2],"n":null,"name2":"x","name2":"last"}"#.utf8)
        let object = try JSONObject(parsing: line[...])
        let reference = try #require(foundation(line))
        #expect(object.string("name") == reference["name"] as? String && object.string("name") == "aé😀")
        #expect(object.isTrue("leave") && !object.isTrue("one") && !object.isTrue("absent"))
        #expect(object.strings("names") == ["x", "y"] && object.strings("mixed") == nil)
        #expect(object.has("n") && object.string("n") == nil && !object.has("absent"))
        #expect(object.string("name2") == reference["name2"] as? String && object.string("name2") == "last")
    }

    @Test func trailingCommasAndAByteOrderMarkAreRefusedAsPythonDoes() {
        for line in [#"{"a":1,}"#, #"{"a":[1,]}"#, "\u{FEFF}{}"] {
            #expect(loom(Array(line.utf8)) == nil, "\(line)")
        }
        #expect(loom(Array(#"{"a":[1],"b":{}}"#.utf8)) != nil)
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000)
        #expect(loom(Array("{\"a\":".utf8) + deep + [UInt8(ascii: "}")]) == nil)
        let fine = Array(repeating: UInt8(ascii: "["), count: 100) + Array(repeating: UInt8(ascii: "]"), count: 100)
        #expect(loom(Array("{\"a\":".utf8) + fine + [UInt8(ascii: "}")]) != nil)
    }

    /// 20,000 mutations of valid lines (fixed seed): accepted and refused exactly as Foundation does.
    @Test func mutatedLinesAgreeWithFoundation() {
        var random = SplitMix(seed: 0x10_0A_11)
        let seeds = Self.corpus.prefix(16).map { Array($0.utf8) }
        let alphabet = Array(#"{}[]":,\ u0123456789abcdefnrtlsEe+-.ud800dc00"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9]
        var disagreements: [String] = []
        for _ in 0..<20_000 {
            var line = seeds[Int(random.next() % UInt64(seeds.count))]
            for _ in 0...(random.next() % 3) {
                let position = line.isEmpty ? 0 : Int(random.next() % UInt64(line.count + 1))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: line.insert(byte, at: position)
                case 1: if position < line.count { line.remove(at: position) }
                default: if position < line.count { line[position] = byte }
                }
            }
            if (foundation(line) == nil) != (loom(line) == nil), disagreements.count < 5 {
                disagreements.append(String(decoding: line, as: UTF8.self).debugDescription)
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
    }
}

/// A small deterministic generator, so that a failure replays.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
