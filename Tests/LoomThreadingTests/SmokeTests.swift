import LoomThreading
import Testing

@Suite struct SmokeTests {
    @Test func threadRunsAndJoins() throws {
        let lock = Lock()
        let counter = Counter()
        var threads: [LoomThreading.Thread] = []
        for _ in 0..<10 {
            let t = Thread { for _ in 0..<1000 { lock.withLock { counter.value += 1 } } }
            try t.start()
            threads.append(t)
        }
        for t in threads { try t.join() }
        #expect(counter.value == 10_000)
        lock.acquire()
        try lock.release()
        let q = Queue<Int>()
        try q.put(1)
        #expect(try q.get() == 1)
    }
}

final class Counter: @unchecked Sendable {
    var value = 0
}
