import Glibc
import Synchronization

/// A fault a test injects into one system call.
@usableFromInline
package enum InjectedFault: Sendable, Equatable {
    /// The call fails with this errno without reaching the kernel (`EINTR` is retried like a real one).
    case error(Int32)
    /// A read or write moves at most this many bytes (at least 1).
    case transferAtMost(Int)
}

/// A test's plan for the descriptors it marks: asked before each system call on them, it answers
/// with a fault or `nil` (the real call). Descriptors accepted from a marked listener inherit its
/// plan, so a test that marks a server's listening socket reaches every connection it serves.
package final class FaultPlan: Sendable {
    private let decide: @Sendable (SystemCall, Int32) -> InjectedFault?
    private let count = Atomic<Int>(0)

    /// A plan answering with `decide(call, fd)`.
    package init(_ decide: @escaping @Sendable (_ call: SystemCall, _ fd: Int32) -> InjectedFault?) {
        self.decide = decide
    }

    /// Faults injected so far: a test checks that its plan really fired.
    package var injected: Int { count.load(ordering: .relaxed) }

    func fault(_ call: SystemCall, _ fd: Int32) -> InjectedFault? {
        let fault = decide(call, fd)
        if fault != nil { count.add(1, ordering: .relaxed) }
        return fault
    }

    /// `EINTR` on every other attempt of every call: each call is interrupted once, then runs.
    package static func interruptEveryOtherCall() -> FaultPlan {
        let flip = Toggle()
        return FaultPlan { _, _ in flip.next() ? .error(EINTR) : nil }
    }
}

/// A flag that flips on every read, shared by concurrent callers.
private final class Toggle: Sendable {
    private let value = Atomic<Bool>(false)
    func next() -> Bool { value.logicalXor(true, ordering: .relaxed).newValue }
}

/// The seam on Loom's one system-call path (``systemCall(_:on:length:retryingInterrupts:_:)``):
/// tests make calls fail on demand, deterministically, on the descriptors they mark and no others,
/// so suites running in parallel never see each other's faults. Modelled on swift-system's mocking
/// driver, but always compiled: a process that marks nothing pays one relaxed load per call.
@usableFromInline
package enum FaultInjection {
    @usableFromInline static let marked = Atomic<Int>(0)
    private static let plans = Protected<[Int32: FaultPlan]>([:])

    @inlinable @inline(__always)
    static var isArmed: Bool { marked.load(ordering: .relaxed) != 0 }

    /// Applies `plan` to every later system call on `fd` (and on descriptors accepted from it).
    package static func apply(_ plan: FaultPlan, to fd: Int32) {
        plans.withLock { plans in
            if plans.updateValue(plan, forKey: fd) == nil { marked.add(1, ordering: .relaxed) }
        }
    }

    /// Stops injecting into `fd`.
    package static func remove(from fd: Int32) {
        forget(fd)
    }

    @usableFromInline @inline(never)
    static func fault(for call: SystemCall, on fd: Int32) -> InjectedFault? {
        guard fd >= 0, let plan = plans.withLock({ $0[fd] }) else { return nil }
        return plan.fault(call, fd)
    }

    @usableFromInline @inline(never)
    static func inherit(from listener: Int32, to accepted: Int32) {
        guard let plan = plans.withLock({ $0[listener] }) else { return }
        apply(plan, to: accepted)
    }

    /// A descriptor being closed: its number may be reused by anyone, so it leaves its plan first.
    @inline(never)
    static func forget(_ fd: Int32) {
        plans.withLock { plans in
            if plans.removeValue(forKey: fd) != nil { marked.subtract(1, ordering: .relaxed) }
        }
    }
}
