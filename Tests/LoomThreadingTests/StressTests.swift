import LoomThreading
import Testing

/// No lost wake-ups: many hand-offs between two threads, each bounded in time (a lost wake-up
/// shows up as a join that times out, not as a hang).
@Suite struct StressTests {
    static let handOffs = 100_000

    @Test func eventPingPong() throws {
        let ping = Event()
        let pong = Event()
        let rounds = Self.handOffs / 2
        let partner = try spawn {
            for _ in 0..<rounds {
                guard ping.wait(timeout: generous) else { return }
                ping.clear()
                pong.set()
            }
        }
        var completed = 0
        for _ in 0..<rounds {
            ping.set()
            guard pong.wait(timeout: generous) else { break }
            pong.clear()
            completed += 1
        }
        #expect(try partner.join(timeout: generous))
        #expect(completed == rounds)
    }

    @Test func conditionHandOffs() throws {
        let condition = Condition(Lock())
        let turn = Unprotected()  // guarded by the condition's lock: even = ours, odd = partner's
        let total = Self.handOffs
        let partner = try spawn {
            try condition.withLock {
                while turn.value < total {
                    guard try condition.wait(for: { turn.value % 2 == 1 || turn.value >= total }, timeout: generous) else { return }
                    if turn.value >= total { return }
                    turn.value += 1
                    try condition.notify()
                }
            }
        }
        try condition.withLock {
            while turn.value < total {
                guard try condition.wait(for: { turn.value % 2 == 0 || turn.value >= total }, timeout: generous) else { return }
                if turn.value >= total { break }
                turn.value += 1
                try condition.notify()
            }
        }
        #expect(try partner.join(timeout: generous))
        #expect(turn.value == total)
    }

    @Test func queueHandOffs() throws {
        let queue = Queue<Int>(maxsize: 8)
        let total = Self.handOffs
        let sum = Counter()
        let consumer = try spawn {
            var local = 0
            for _ in 0..<total { local += try queue.get(timeout: generous) }
            sum.increment(by: local)
        }
        for value in 0..<total { try queue.put(value, timeout: generous) }
        #expect(try consumer.join(timeout: generous))
        #expect(sum.value == total * (total - 1) / 2)
    }

    @Test func semaphoreHandOffs() throws {
        let full = try Semaphore(0)
        let empty = try Semaphore(1)
        let total = Self.handOffs / 2
        let received = Counter()
        let consumer = try spawn {
            for _ in 0..<total {
                guard try full.acquire(timeout: generous) else { return }
                received.increment()
                try empty.release()
            }
        }
        for _ in 0..<total {
            guard try empty.acquire(timeout: generous) else { break }
            try full.release()
        }
        #expect(try consumer.join(timeout: generous))
        #expect(received.value == total)
    }

    @Test func contendedLockCounts() throws {
        let lock = Lock()
        let box = Unprotected()
        let threads = try (0..<4).map { _ in
            try spawn {
                for _ in 0..<25_000 {
                    lock.acquire()
                    box.value += 1
                    try lock.release()
                }
            }
        }
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(box.value == 100_000)
    }
}
