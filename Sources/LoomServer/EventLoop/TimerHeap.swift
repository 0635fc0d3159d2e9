import LoomSystem
import Synchronization

/// A callback scheduled on an ``EventLoop`` with ``EventLoop/schedule(after:_:)`` (asyncio's
/// `TimerHandle`): ``cancel()`` it, from any thread, and it will not run.
public final class Cancellable: Sendable {
    private let cancelled = Atomic<Bool>(false)
    let action: @Sendable () -> Void

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = action
    }

    /// Stops the callback from running, if it has not run yet. Safe from any thread; idempotent.
    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// True once ``cancel()`` was called.
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

/// The loop's one timer queue: a binary min-heap of deadlines on Loom's monotonic clock. It drives
/// users' ``EventLoop/schedule(after:_:)`` callbacks and the loop's own wake-ups (the idle sweep,
/// the end of the grace period, the end of an accept back-off). A loop wake-up carries no action:
/// when it is due the loop runs its housekeeping, which checks each condition against the clock,
/// so a wake-up left over from an earlier plan costs one check and nothing else.
struct TimerHeap {
    enum Kind {
        case user(Cancellable)
        case wakeUp
    }

    struct Entry {
        let deadline: Int64
        let sequence: UInt64  // equal deadlines fire in scheduling order, as asyncio's
        let kind: Kind

        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The earliest deadline, in nanoseconds of ``Deadline``.
    var nextDeadline: Int64? { entries.first?.deadline }

    mutating func schedule(at deadline: Int64, _ kind: Kind) {
        nextSequence &+= 1
        entries.append(Entry(deadline: deadline, sequence: nextSequence, kind: kind))
        siftUp(entries.count - 1)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: Int64) -> Entry? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first
    }

    mutating func removeAll() {
        entries.removeAll()
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var smallest = left
            if left + 1 < entries.count, entries[left + 1].precedes(entries[left]) { smallest = left + 1 }
            guard entries[smallest].precedes(entries[parent]) else { return }
            entries.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
