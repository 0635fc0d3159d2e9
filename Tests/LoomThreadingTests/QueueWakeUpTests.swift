import Glibc
import Synchronization
import Testing
@testable import LoomThreading

/// `put` and `get` only call into a wait list when someone is parked there (counted under the
/// queue's mutex): a parked getter or putter, with or without a timeout, must still be woken.
@Suite struct QueueWakeUpTests {
    /// Waits, bounded, until `condition` holds.
    private func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<2000 {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    @Test(arguments: [nil, Duration.seconds(30)])
    func aParkedGetterIsWokenByPut(timeout: Duration?) throws {
        let queue = Queue<Int>()
        let got = Atomic<Int>(-1)
        let consumer = Thread { got.store(try queue.get(timeout: timeout), ordering: .releasing) }
        try consumer.start()
        #expect(eventually { queue.mutex.withLock { queue.waitingGetters } == 1 })
        try queue.put(42)
        let woken = try consumer.join(timeout: .seconds(10))
        #expect(woken)
        if !woken { queue.shutdown(immediate: true) }  // wakes it regardless, so nothing is left behind
        #expect(got.load(ordering: .acquiring) == 42)
    }

    @Test(arguments: [nil, Duration.seconds(30)])
    func aParkedPutterIsWokenByGet(timeout: Duration?) throws {
        let queue = Queue<Int>(maxsize: 1)
        try queue.put(1)
        let producer = Thread { try queue.put(2, timeout: timeout) }
        try producer.start()
        #expect(eventually { queue.mutex.withLock { queue.waitingPutters } == 1 })
        #expect(try queue.get() == 1)
        let woken = try producer.join(timeout: .seconds(10))
        #expect(woken)
        if !woken { queue.shutdown(immediate: true) }
        #expect(try queue.get(timeout: .seconds(10)) == 2)
    }
}
