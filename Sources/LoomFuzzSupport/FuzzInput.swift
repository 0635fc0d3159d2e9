/// A fuzzer's input read front to back: each harness takes its decisions (lengths, faults,
/// modes) from the first bytes and uses the rest as the peer's data, so libFuzzer's mutations
/// reach both. Reading past the end yields zeros: every input, even the empty one, is valid.
@_spi(Fuzzing) public struct FuzzInput {
    private let bytes: [UInt8]
    private var cursor = 0

    /// Wraps the bytes libFuzzer hands to `LLVMFuzzerTestOneInput`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard cursor < bytes.count else { return 0 }
        defer { cursor += 1 }
        return bytes[cursor]
    }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, cursor + max(0, count))
        defer { cursor = end }
        return Array(bytes[cursor..<end])
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] { take(bytes.count - cursor) }
}

/// A broken invariant, with what the harness saw. The fuzz targets turn it into a crash (so that
/// libFuzzer keeps the input); the test suite, replaying the corpora, reports it as a failure.
@_spi(Fuzzing) public struct FuzzFailure: Error, CustomStringConvertible {
    /// What broke, in words.
    public let description: String
}

/// Throws ``FuzzFailure`` with `message` unless `condition` holds (never compiled out, unlike
/// `precondition` in an `-Ounchecked` build).
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    guard !condition else { return }
    throw FuzzFailure(description: message())
}
