import LoomChat

/// The chat server's line parser (`ClientMessage.parse`, one JSON object a line) on what a
/// client sends.
@_spi(Fuzzing) public enum ChatLineHarness {
    /// Input: a flag byte (whether the sender has joined), then one line. Properties: it never
    /// crashes; a line it accepts, encoded again (``ClientMessage/encoded``) parses back to the
    /// same message (names and texts survive escapes, Unicode, control characters).
    public static func run(_ data: [UInt8]) throws(FuzzFailure) {
        var input = FuzzInput(data)
        let joined = input.byte() & 1 == 1
        let line = input.rest()
        guard let message = try? ClientMessage.parse(line[...], joined: joined) else { return }
        let encoded = message.encoded
        try fuzzCheck(encoded.last == 0x0A && !encoded.dropLast().contains(0x0A), "the encoding of \(message) is not one line")
        let again = Swift.Result { () throws(ChatProtocolError) in try ClientMessage.parse(encoded.dropLast(), joined: joined) }
        try fuzzCheck(again == .success(message), "\(message) encoded as \(String(decoding: encoded, as: UTF8.self)) parses as \(again)")
    }
}
