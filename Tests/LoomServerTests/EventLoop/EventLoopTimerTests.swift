#if canImport(Glibc)
import Glibc
#endif
@testable import LoomServer
import LoomSockets
import LoomSystem
import LoomTestSupport
import Synchronization
import Testing

/// The loop's public timers and callbacks: `schedule(after:)` (asyncio's `call_later`) and
/// `execute(_:)` (`call_soon_threadsafe`), on the one timer heap that also drives idle timeouts
/// and grace periods.
@Suite("EventLoop timers and callbacks")
struct EventLoopTimerTests {
    /// Records (label, monotonic instant, on the loop thread?) from loop callbacks.
    final class Firings: Sendable {
        private let entries = Protected<[(String, Int64, Bool)]>([])
        func record(_ label: String, onLoop: Bool) {
            entries.withLock { $0.append((label, Deadline.now().nanoseconds, onLoop)) }
        }
        var all: [(label: String, at: Int64, onLoop: Bool)] { entries.withLock { $0.map { ($0.0, $0.1, $0.2) } } }
    }

    @Test func timersFireInDeadlineOrderNeverEarlyAndOnTheLoop() throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let loop = server.eventLoops[0]
        let firings = Firings()
        let start = Deadline.now().nanoseconds
        // Scheduled from the test's thread, out of order, one of them cancelled.
        for (label, ms) in [("c", 90), ("a", 30), ("b", 60), ("x", 45)] {
            let timer = loop.schedule(after: .milliseconds(ms)) { firings.record(label, onLoop: loop.inEventLoop) }
            if label == "x" { timer.cancel() }
        }
        #expect(eventually { firings.all.count == 3 })
        sleep(.milliseconds(100))  // a cancelled timer would have fired by now
        let all = firings.all
        #expect(all.map(\.label) == ["a", "b", "c"])
        #expect(all.allSatisfy { $0.onLoop })
        for (entry, ms) in zip(all, [30, 60, 90]) {
            #expect(entry.at - start >= Int64(ms) * 1_000_000, "\(entry.label) fired \((entry.at - start) / 1_000_000) ms after scheduling, before its \(ms) ms")
        }
    }

    @Test func aTimerScheduledOnTheLoopFromACallbackFires() throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let loop = server.eventLoops[0]
        let firings = Firings()
        #expect(loop.execute {
            firings.record("execute", onLoop: loop.inEventLoop)
            loop.schedule(after: .milliseconds(20)) { firings.record("later", onLoop: loop.inEventLoop) }
        })
        #expect(eventually { firings.all.count == 2 })
        #expect(firings.all.map(\.label) == ["execute", "later"])
        #expect(firings.all.allSatisfy { $0.onLoop })
    }

    @Test func executeAfterTheLoopStoppedRunsNothingAndSaysSo() throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { EchoProtocol() }
        server.start()
        let loop = server.eventLoops[0]
        server.shutdown(gracePeriod: .zero)
        let ran = Firings()
        #expect(!loop.execute { ran.record("late", onLoop: true) })
        loop.schedule(after: .zero) { ran.record("late timer", onLoop: true) }
        sleep(.milliseconds(50))
        #expect(ran.all.isEmpty)
    }

    @Test func theHeapOrdersEqualDeadlinesByScheduling() {
        var heap = TimerHeap()
        var fired: [Int] = []
        let deadlines: [Int64] = [50, 10, 30, 10, 40, 20, 10, 30]
        let timers = deadlines.indices.map { index in Cancellable { _ = index } }
        for (index, deadline) in deadlines.enumerated() { heap.schedule(at: deadline, .user(timers[index])) }
        #expect(heap.popDue(now: 9) == nil)
        while let entry = heap.popDue(now: 100) {
            guard case .user(let timer) = entry.kind else { continue }
            fired.append(timers.firstIndex { $0 === timer }!)
        }
        #expect(fired == [1, 3, 6, 5, 2, 7, 4, 0])
        #expect(heap.isEmpty)
    }
}
