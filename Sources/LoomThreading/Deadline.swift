import CLoomShims
import Glibc

/// A point on CLOCK_MONOTONIC, in nanoseconds: every Loom timeout is measured against it, so
/// wall-clock jumps never shorten or stretch a wait. The kernel's futex takes the same clock as an
/// absolute deadline, so a wait can never return before its deadline.
struct Deadline: Sendable, Comparable {
    var nanoseconds: Int64

    static func now() -> Deadline {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Deadline(nanoseconds: Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec))
    }

    /// The deadline `timeout` from now; a negative timeout gives a deadline already past.
    /// Never below zero (the clock's origin, long past): a negative absolute deadline is one the
    /// kernel rejects (EINVAL), which a waiter would take for a wake-up and retry at once.
    static func after(_ timeout: Duration) -> Deadline {
        let now = Deadline.now().nanoseconds
        let (sum, overflow) = now.addingReportingOverflow(timeout.nanosecondsClamped)
        return Deadline(nanoseconds: overflow ? (timeout < .zero ? 0 : Int64.max) : max(0, sum))
    }

    /// `nil` (wait forever) for a `nil` timeout.
    static func after(_ timeout: Duration?) -> Deadline? {
        timeout.map { after($0) }
    }

    var hasPassed: Bool { Deadline.now() >= self }

    /// What is left, never negative.
    var remaining: Duration {
        let left = nanoseconds - Deadline.now().nanoseconds
        return .nanoseconds(max(0, left))
    }

    var absoluteTimespec: timespec {
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}

extension Duration {
    /// Nanoseconds, clamped to the range of Int64 (about 292 years either way).
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? Int64.min : Int64.max }
        return sum
    }
}
