import Glibc
import LoomThreading
import LoomTestSupport
import Synchronization

/// Monotonic time in seconds, on the same clock as Loom's timeouts.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// How long `body` takes, in seconds.
func elapsed(_ body: () throws -> Void) rethrows -> Double {
    let start = now()
    try body()
    return now() - start
}

/// Starts a Loom thread running `body` and returns it.
@discardableResult
func spawn(_ body: @escaping @Sendable () throws -> Void) throws -> LoomThreading.Thread {
    let thread = LoomThreading.Thread(daemon: true, target: body)
    try thread.start()
    return thread
}

/// A counter any thread may bump.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    init(_ value: Int = 0) { storage.store(value, ordering: .relaxed) }
    var value: Int { storage.load(ordering: .sequentiallyConsistent) }
    @discardableResult func increment(by n: Int = 1) -> Int { storage.add(n, ordering: .sequentiallyConsistent).newValue }
    func decrement() { storage.subtract(1, ordering: .sequentiallyConsistent) }
    func max(with other: Int) { storage.max(other, ordering: .sequentiallyConsistent) }
}

/// A generous bound for "this must have finished by now" waits (a lost wake-up shows up as a
/// join that times out, not as a hang).
let generous: Duration = .seconds(30)
