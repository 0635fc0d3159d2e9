import CLoomShims
import Glibc

/// Loom's one clock: a point on `CLOCK_MONOTONIC`, in nanoseconds. Every timeout, deadline,
/// idle timer and grace period in Loom is measured against it, so wall-clock jumps never shorten
/// or stretch a wait, and the kernel's futex and `pthread_cond_timedwait` take the same clock as an
/// absolute deadline, so a wait can never return before its deadline.
package struct Deadline: Sendable, Comparable, Hashable {
    /// Nanoseconds since the clock's origin (boot); never negative.
    package var nanoseconds: Int64

    @inlinable
    package init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The current instant.
    @inline(__always)
    package static func now() -> Deadline {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Deadline(nanoseconds: Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec))
    }

    /// The deadline `timeout` from now; a negative timeout gives a deadline already past.
    /// Never below zero (the clock's origin, long past): a negative absolute deadline is one the
    /// kernel rejects (EINVAL), which a waiter would take for a wake-up and retry at once.
    package static func after(_ timeout: Duration) -> Deadline {
        Deadline.now().advanced(by: timeout)
    }

    /// `nil` (wait forever) for a `nil` timeout.
    package static func after(_ timeout: Duration?) -> Deadline? {
        timeout.map { after($0) }
    }

    /// This instant moved by `duration`, saturating instead of overflowing and never below zero.
    package func advanced(by duration: Duration) -> Deadline {
        Deadline(nanoseconds: max(0, nanoseconds.saturatingAdding(duration.saturatingNanoseconds)))
    }

    /// True once the clock has reached this instant.
    package var hasPassed: Bool { Deadline.now() >= self }

    /// What is left, never negative.
    package var remaining: Duration {
        .nanoseconds(max(0, nanoseconds.saturatingAdding(-Deadline.now().nanoseconds)))
    }

    /// Whole milliseconds left for `poll` and `epoll_wait`, rounded up so a wait never ends before
    /// the deadline, clamped to `0...Int32.max` (about 24 days; callers loop).
    package var remainingPollMilliseconds: Int32 { remaining.pollMilliseconds }

    /// The instant as the absolute `timespec` that futex and `pthread_cond_timedwait` take.
    package var absoluteTimespec: timespec {
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    /// The time from `earlier` to this instant (negative if `earlier` is later).
    package func duration(since earlier: Deadline) -> Duration {
        .nanoseconds(nanoseconds.saturatingAdding(-earlier.nanoseconds))
    }

    @inlinable
    package static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}
