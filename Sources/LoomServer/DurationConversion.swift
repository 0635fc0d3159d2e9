/// The server's one place where a `Duration` becomes an integer for the kernel. Every conversion
/// saturates: a huge duration (`.seconds(1 << 62)`, used to mean "forever") must wait a very long
/// time, never wrap round to a past instant or trap.
extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64.min` and `Int64.max`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        return scaled.saturatingAdding(attoseconds / 1_000_000_000)
    }

    /// Whole milliseconds for `poll`, rounded up so a wait never ends early, clamped to
    /// `0...Int32.max` (about 24 days; the callers loop).
    var pollMilliseconds: Int32 {
        let nanoseconds = max(0, self.nanoseconds)
        let milliseconds = nanoseconds / 1_000_000 + (nanoseconds % 1_000_000 == 0 ? 0 : 1)
        return Int32(clamping: milliseconds)
    }
}

extension Int64 {
    /// `self + other`, clamped to `Int64.min...Int64.max` instead of overflowing.
    func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other < 0 ? .min : .max
    }
}
