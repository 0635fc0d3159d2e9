/// Loom's one place where a `Duration` becomes an integer for the kernel. Every conversion
/// saturates: a huge duration (`.seconds(1 << 62)`, used to mean "forever") must wait a very long
/// time, never wrap round to a past instant or trap.
extension Duration {
    /// Whole nanoseconds, clamped to the range of `Int64` (about 292 years either way).
    package var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        return scaled.saturatingAdding(attoseconds / 1_000_000_000)
    }

    /// Whole milliseconds, rounded up (a wait never ends early), saturating.
    package var saturatingMillisecondsRoundedUp: Int64 {
        let nanoseconds = saturatingNanoseconds
        let milliseconds = nanoseconds / 1_000_000
        return nanoseconds % 1_000_000 > 0 ? milliseconds + 1 : milliseconds
    }

    /// Milliseconds for `poll` and `epoll_wait`: rounded up, clamped to `0...Int32.max`.
    package var pollMilliseconds: Int32 {
        Int32(clamping: max(0, saturatingMillisecondsRoundedUp))
    }
}

extension Int64 {
    /// `self + other`, clamped to `Int64.min...Int64.max` instead of overflowing.
    @inlinable
    package func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other < 0 ? .min : .max
    }
}
