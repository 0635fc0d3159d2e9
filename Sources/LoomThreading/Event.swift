import LoomSystem

/// A flag threads can wait for: Python's `threading.Event`.
///
/// `set()` raises the flag and wakes every waiter; `clear()` lowers it; `wait(timeout:)` blocks
/// until the flag is raised. A waiter woken by `set()` returns `true` even if another thread
/// cleared the flag before the waiter ran (Python's behaviour since gh-57711).
///
/// ```swift
/// let ready = Event()
/// Thread { prepare(); ready.set() }.start()
/// if ready.wait(timeout: .seconds(2)) { … }
/// ```
public final class Event: @unchecked Sendable {
    // @unchecked Sendable: the only state is the atomic futex word.
    //
    // Word layout: bit 0 the flag, bit 1 "someone may be sleeping", bits 2… a generation that
    // every set() bumps, so a sleeper can tell it was woken by a set() even if it was cleared
    // again, and a set() with no sleepers makes no system call.
    private let word = FutexWord(0)
    private static let flag: UInt32 = 1
    private static let sleeping: UInt32 = 2
    private static let generationStep: UInt32 = 4

    /// A new event, not set.
    public init() {}

    /// Whether the flag is raised.
    public var isSet: Bool { word.cell.pointee.load(ordering: .acquiring) & Self.flag != 0 }

    /// Whether a waiter has gone to sleep since the last `set()`: lets a test act only once a
    /// waiter is surely inside `wait`, whatever the scheduler did.
    var hasSleepers: Bool { word.cell.pointee.load(ordering: .acquiring) & Self.sleeping != 0 }

    /// Raises the flag and wakes every waiting thread.
    public func set() {
        var current = word.cell.pointee.load(ordering: .relaxed)
        while true {
            if current & Self.flag != 0 { return }
            let next = ((current & ~(Self.flag | Self.sleeping)) &+ Self.generationStep) | Self.flag
            let (exchanged, original) = word.cell.pointee.compareExchange(expected: current, desired: next, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        if current & Self.sleeping != 0 { word.wake(Int32.max) }
    }

    /// Lowers the flag.
    public func clear() {
        word.cell.pointee.bitwiseAnd(~Self.flag, ordering: .acquiringAndReleasing)
    }

    /// Blocks until the flag is raised or `timeout` has passed (`nil`: forever; zero or
    /// negative: just looks). Returns `true` if the flag was raised, `false` on timeout.
    @discardableResult
    public func wait(timeout: Duration? = nil) -> Bool {
        let start = word.cell.pointee.load(ordering: .acquiring)
        if start & Self.flag != 0 { return true }
        return waitSlow(start: start, deadline: Deadline.after(timeout))
    }

    private func waitSlow(start: UInt32, deadline: Deadline?) -> Bool {
        let generation = start & ~(Self.flag | Self.sleeping)
        var current = start
        // Spin a little first: a set() from a thread running on another core is often imminent.
        for _ in 0..<spinLimit {
            current = word.cell.pointee.load(ordering: .acquiring)
            if current & Self.flag != 0 || current & ~(Self.flag | Self.sleeping) != generation { return true }
        }
        while true {
            if current & Self.flag != 0 || current & ~(Self.flag | Self.sleeping) != generation { return true }
            if let deadline, deadline.hasPassed { return false }
            if current & Self.sleeping == 0 {
                let (exchanged, original) = word.cell.pointee.compareExchange(
                    expected: current, desired: current | Self.sleeping, ordering: .acquiringAndReleasing)
                if !exchanged {
                    current = original
                    continue
                }
                current |= Self.sleeping
            }
            _ = word.wait(expected: current, deadline: deadline)
            current = word.cell.pointee.load(ordering: .acquiring)
        }
    }
}
