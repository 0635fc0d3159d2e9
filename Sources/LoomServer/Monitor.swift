#if canImport(Glibc)
import Glibc
#endif

/// A mutex and a condition variable on the monotonic clock: the server's internal waiting room
/// (shutdown waiting for the loop, `serverClose()` waiting for handlers, pool workers waiting for work).
///
/// The pthread objects live in their own heap allocations, so their addresses never move.
// @unchecked Sendable: every access to the pthread objects goes through pthread calls, which are thread-safe.
final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the mutex held.
    @inline(__always)
    func withLock<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Waits for a broadcast. Call with the mutex held (inside ``withLock(_:)``), in a predicate loop.
    func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Waits for a broadcast until `deadline`; false once the deadline has passed.
    /// Call with the mutex held, in a predicate loop.
    func wait(until deadline: MonotonicInstant) -> Bool {
        if deadline.hasPassed { return false }
        var absolute = deadline.timespec
        _ = pthread_cond_timedwait(condition, mutex, &absolute)
        return !deadline.hasPassed
    }

    /// Wakes every waiter. Call with the mutex held.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

/// A point on `CLOCK_MONOTONIC` (the clock the condition variable waits on).
struct MonotonicInstant: Comparable, Sendable {
    let nanoseconds: Int64

    static var now: MonotonicInstant {
        var time = Glibc.timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// `now + duration`, saturating instead of overflowing for huge durations.
    init(after duration: Duration) {
        self.nanoseconds = MonotonicInstant.now.nanoseconds.saturatingAdding(duration.nanoseconds)
    }

    var hasPassed: Bool { MonotonicInstant.now >= self }

    /// Time left until the instant, never negative.
    var remaining: Duration {
        .nanoseconds(max(0, nanoseconds.saturatingAdding(-MonotonicInstant.now.nanoseconds)))
    }

    /// Whole milliseconds left for `poll`, rounded up so a wait never ends early.
    var remainingMilliseconds: Int32 { remaining.pollMilliseconds }

    /// `self + duration`, saturating.
    func advanced(by duration: Duration) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds.saturatingAdding(duration.nanoseconds))
    }

    var timespec: Glibc.timespec {
        Glibc.timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}
