#if canImport(Glibc)
import Glibc
#endif

/// Deterministic test data with a prime period (65,521 bytes), so that a dropped, repeated or
/// reordered chunk of any other length shows. Built by copying, which stays fast in debug builds.
public func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    let period = 65_521
    let block = (0..<min(count, period)).map { UInt8(truncatingIfNeeded: ($0 &* 31) &+ ($0 >> 8) &+ seed) }
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        var offset = 0
        while offset < count {
            let n = min(block.count, count - offset)
            block.withUnsafeBufferPointer { source in
                UnsafeMutableRawPointer(buffer.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: n)
            }
            offset += n
        }
        initialized = count
    }
}

/// Byte-exact comparison (memcmp) that stays fast in debug builds.
public func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count && a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
    }
}

extension String {
    /// Without whitespace at either end (Python's `str.strip()`).
    public var trimmed: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
