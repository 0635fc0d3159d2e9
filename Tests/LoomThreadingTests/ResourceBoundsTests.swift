import LoomTestSupport
@testable import LoomThreading
import Testing

/// Bounds that only show over long runs or at scale: per-thread bookkeeping that must not grow
/// with use, limits that must not exist, waits that must not spin, objects that must be freed.
@Suite struct ResourceBoundsTests {
    @Test func settingAndClearingAThreadLocalAddsNoPerCallCleanup() throws {
        let local = ThreadLocal<Int>()
        let counts = Shared<(before: Int, after: Int)?>(nil)
        try spawn {
            local.value = 0
            let before = LoomThreading.Thread.current.threadCleanups.count
            for i in 0..<100_000 {
                local.value = i
                local.value = nil
            }
            local.value = 1
            counts.value = (before, LoomThreading.Thread.current.threadCleanups.count)
        }.join()
        let result = try #require(counts.value)
        #expect(result.before == 1, "one cleanup per thread")
        #expect(result.after == result.before, "100,000 set/clear cycles registered no more cleanups")
    }

    @Test func thousandsOfThreadLocalsAliveAtOnce() throws {
        let live = Counter()
        var locals: [ThreadLocal<Tracked>] = (0..<5_000).map { _ in ThreadLocal<Tracked>() }
        for (index, local) in locals.enumerated() { local.value = Tracked(index, live: live) }
        let shared = Shared(locals)
        let seenOwn = Counter()
        try spawn {
            let locals = shared.value
            for (index, local) in locals.enumerated() where local.value == nil {
                local.value = Tracked(-index, live: live)
            }
            for (index, local) in locals.enumerated() where local.value?.id == -index { seenOwn.increment() }
        }.join()
        #expect(seenOwn.value == 5_000, "each thread sees only its own values")
        #expect(live.value == 5_000, "the other thread's values were destroyed as it ended")
        #expect(locals.enumerated().allSatisfy { $0.element.value?.id == $0.offset })
        shared.value = []
        locals = []
        #expect(live.value == 0, "freeing a ThreadLocal destroys its values")
    }

    /// A timeout more negative than the system's uptime made the futex deadline negative: the
    /// kernel answered EINVAL, taken for a wake-up, and the waiter spun until notified.
    @Test func hugelyNegativeTimeoutsPollAndReturn() throws {
        let timeout = Duration.seconds(-1_000_000_000)
        let condition = Condition()
        let event = Event()
        let semaphore = try Semaphore(0)
        let results = Shared<[String: Bool]>([:])
        let thread = try spawn {
            let notified = try condition.withLock { () throws(ThreadingError) in try condition.wait(timeout: timeout) }
            results.update { $0["condition"] = notified }
            results.update { $0["event"] = event.wait(timeout: timeout) }
            results.update { $0["semaphore"] = try? semaphore.acquire(timeout: timeout) }
        }
        let finished = try thread.join(timeout: .seconds(10))
        if !finished {
            // Release the spinning waiter so it does not burn a core for the rest of the run.
            while thread.isAlive {
                condition.withLock { try? condition.notifyAll() }
                event.set()
                try? semaphore.release()
                sleep(seconds: 0.01)
            }
        }
        #expect(finished, "each wait returned at once instead of spinning")
        #expect(results.value == ["condition": false, "event": false, "semaphore": false])
    }

    @Test func settingMaxsizeToZeroReleasesABlockedPut() throws {
        let queue = Queue<Int>(maxsize: 1)
        try queue.put(1)
        let putting = Event()
        let thread = try spawn {
            putting.set()
            try queue.put(2)
        }
        putting.wait()
        sleep(seconds: 0.05)  // let it block (if it has not, the test still holds)
        queue.maxsize = 0
        let finished = try thread.join(timeout: .seconds(10))
        if !finished { queue.shutdown() }
        #expect(finished, "an unbounded queue has room")
        #expect(queue.qsize == 2)
    }

    @Test func aReleasedPoolFreesItsQueue() throws {
        weak var queue: Queue<ThreadPool.Job>?
        do {
            let pool = try ThreadPool(maxWorkers: 2)
            queue = pool.jobs
            #expect(try pool.submit { 6 * 7 }.result(timeout: generous) == 42)
            pool.shutdown()
        }
        #expect(eventually { queue == nil }, "the exit hook no longer keeps the queue alive")
    }

    /// The ring buffer under `Queue` keeps its items in raw memory: every item must come out in
    /// order across wrap-around and growth, and a freed queue must release what it still holds.
    @Test func queueKeepsOrderAcrossGrowthAndReleasesItsItems() throws {
        let live = Counter()
        var queue: Queue<Tracked>? = Queue<Tracked>()
        var next = 0
        var expected = 0
        for round in 0..<5 {
            for _ in 0..<(10 + round * 13) {
                try queue!.put(Tracked(next, live: live))
                next += 1
            }
            for _ in 0..<(7 + round * 5) {
                #expect(try queue!.get(block: false).id == expected)
                expected += 1
            }
        }
        #expect(live.value == next - expected)
        #expect(live.value > 0)
        queue = nil
        #expect(live.value == 0, "a freed queue releases the items it still held")
    }
}
