import LoomTestSupport
import LoomThreading
import Testing

@Suite struct QueueTests {
    @Test func fifoLifoAndPriorityOrder() throws {
        let fifo = Queue<Int>()
        let lifo = LifoQueue<Int>()
        let priority = PriorityQueue<Int>()
        for value in [3, 1, 2] {
            try fifo.put(value)
            try lifo.put(value)
            try priority.put(value)
        }
        #expect(try (0..<3).map { _ in try fifo.get() } == [3, 1, 2])
        #expect(try (0..<3).map { _ in try lifo.get() } == [2, 1, 3])
        #expect(try (0..<3).map { _ in try priority.get() } == [1, 2, 3])
        let byLength = PriorityQueue<String>(by: { $0.count < $1.count })
        for word in ["three", "a", "to"] { try byLength.put(word) }
        #expect(try byLength.get() == "a")
        // A queue that wraps around its ring many times keeps its order.
        for round in 0..<100 {
            for value in 0..<7 { try fifo.put(round * 7 + value) }
            for value in 0..<7 { #expect(try fifo.get() == round * 7 + value) }
        }
    }

    @Test func sizesAndNowaitErrors() throws {
        let queue = Queue<Int>(maxsize: 2)
        #expect(queue.isEmpty && !queue.isFull && queue.qsize == 0)
        try queue.putNowait(1)
        try queue.putNowait(2)
        #expect(queue.isFull && queue.qsize == 2)
        #expect(throws: QueueError.full) { try queue.putNowait(3) }
        #expect(try queue.getNowait() == 1)
        #expect(try queue.getNowait() == 2)
        #expect(throws: QueueError.empty) { try queue.getNowait() }
        // maxsize may change; each put re-reads it.
        try queue.put(1)
        queue.maxsize = 1
        #expect(throws: QueueError.full) { try queue.putNowait(2) }
        queue.maxsize = 0
        try queue.putNowait(2)
        #expect(!queue.isFull)
    }

    @Test func timeoutsAndNegativeTimeouts() throws {
        let queue = Queue<Int>(maxsize: 1)
        var took = elapsed { #expect(throws: QueueError.empty) { try queue.get(timeout: .milliseconds(100)) } }
        #expect(took >= 0.1 && took < 5.1)
        #expect(throws: QueueError.empty) { try queue.get(timeout: .zero) }
        #expect(throws: QueueError.negativeTimeout) { try queue.get(timeout: .seconds(-1)) }
        try queue.put(1)
        #expect(throws: QueueError.negativeTimeout, "even with an item available") { try queue.get(timeout: .seconds(-1)) }
        took = elapsed { #expect(throws: QueueError.full) { try queue.put(2, timeout: .milliseconds(100)) } }
        #expect(took >= 0.1 && took < 5.1)
        #expect(throws: QueueError.full) { try queue.put(2, timeout: .zero) }
        #expect(throws: QueueError.negativeTimeout) { try queue.put(2, timeout: .seconds(-1)) }
        // Unbounded queues never block on put and never check its timeout, as in Python.
        let unbounded = Queue<Int>()
        try unbounded.put(1, timeout: .seconds(-1))
        #expect(unbounded.qsize == 1)
    }

    @Test func blockingPutAndGetHandOff() throws {
        let queue = Queue<Int>(maxsize: 1)
        let consumer = try spawn { () throws in
            sleep(seconds: 0.05)
            for expected in 0..<5 { #expect(try queue.get(timeout: generous) == expected) }
        }
        for value in 0..<5 { try queue.put(value, timeout: generous) }
        #expect(try consumer.join(timeout: generous))
    }

    @Test func taskDoneAndJoin() throws {
        let queue = Queue<Int>()
        queue.join()  // nothing pending: returns at once
        for value in 0..<3 { try queue.put(value) }
        let processed = Counter()
        let worker = try spawn {
            for _ in 0..<3 {
                _ = try queue.get()
                sleep(seconds: 0.01)
                processed.increment()
                try queue.taskDone()
            }
        }
        queue.join()
        #expect(processed.value == 3)
        #expect(try worker.join(timeout: generous))
        #expect(throws: QueueError.taskDoneTooManyTimes) { try queue.taskDone() }
        #expect(QueueError.taskDoneTooManyTimes.description == "task_done() called too many times")
    }

    @Test func shutdownLetsConsumersDrainThenThrows() throws {
        let queue = Queue<Int>(maxsize: 2)
        try queue.put(1)
        try queue.put(2)
        let blockedPut = Shared<QueueError?>(nil)
        let producer = try spawn {
            do { try queue.put(3) } catch { blockedPut.value = error as? QueueError }
        }
        sleep(seconds: 0.05)
        queue.shutdown()
        #expect(try producer.join(timeout: generous))
        #expect(blockedPut.value == .shutDown, "a blocked put is woken with ShutDown")
        #expect(queue.isShutDown)
        #expect(throws: QueueError.shutDown) { try queue.putNowait(9) }
        #expect(try queue.get() == 1)
        #expect(try queue.get() == 2)
        #expect(throws: QueueError.shutDown) { try queue.get() }
        #expect(throws: QueueError.shutDown) { try queue.getNowait() }
    }

    @Test func shutdownWakesBlockedGetters() throws {
        let queue = Queue<Int>()
        let errors = Shared<[QueueError]>([])
        let getters = try (0..<3).map { _ in
            try spawn { do { _ = try queue.get() } catch { errors.update { $0.append(error as! QueueError) } } }
        }
        sleep(seconds: 0.05)
        queue.shutdown()
        for getter in getters { #expect(try getter.join(timeout: generous)) }
        #expect(errors.value == [.shutDown, .shutDown, .shutDown])
    }

    @Test func immediateShutdownDropsItemsAndReleasesJoin() throws {
        let queue = Queue<Int>()
        for value in 0..<5 { try queue.put(value) }
        _ = try queue.get()
        let joined = Event()
        let joiner = try spawn {
            queue.join()
            joined.set()
        }
        sleep(seconds: 0.05)
        #expect(!joined.isSet)
        queue.shutdown()
        #expect(queue.qsize == 4, "a plain shutdown keeps the items")
        queue.shutdown(immediate: true)
        #expect(queue.qsize == 0)
        #expect(throws: QueueError.shutDown) { try queue.get() }
        // One item was taken but never marked done: join still waits for it.
        #expect(!joined.wait(timeout: .milliseconds(50)))
        try queue.taskDone()
        #expect(joined.wait(timeout: generous))
        #expect(try joiner.join(timeout: generous))
    }
}

@Suite struct ThreadPoolTests {
    @Test func submitReturnsResultsAndErrors() throws {
        let pool = try ThreadPool(maxWorkers: 2)
        defer { pool.shutdown() }
        #expect(pool.maxWorkers == 2)
        let answer = try pool.submit { 6 * 7 }
        #expect(try answer.result(timeout: generous) == 42)
        #expect(answer.isDone)
        let failing = try pool.submit { () throws -> Int in throw Boom() }
        #expect(throws: Boom.self) { try failing.result() }
    }

    @Test func resultTimeoutDoesNotStopTheTask() throws {
        let pool = try ThreadPool(maxWorkers: 1)
        defer { pool.shutdown() }
        let release = Event()
        let slow = try pool.submit { release.wait(); return 1 }
        let took = elapsed { #expect(throws: FutureError.timeout) { try slow.result(timeout: .milliseconds(100)) } }
        #expect(took >= 0.1 && took < 5.1)
        // Queued behind the slow task, so still cancellable.
        let queued = try pool.submit { 2 }
        #expect(queued.cancel())
        #expect(throws: FutureError.cancelled) { try queued.result() }
        release.set()
        #expect(try slow.result(timeout: generous) == 1)
        #expect(!slow.cancel(), "a finished task cannot be cancelled")
    }

    @Test func mapKeepsOrderAndUsesEveryWorker() throws {
        let pool = try ThreadPool(maxWorkers: 4, threadNamePrefix: "mapper")
        defer { pool.shutdown() }
        let names = Shared<Set<String>>([])
        let squares = try pool.map(1...40) { (n: Int) -> Int in
            names.update { _ = $0.insert(LoomThreading.Thread.current.name) }
            sleep(seconds: 0.002)
            return n * n
        }
        #expect(squares == (1...40).map { $0 * $0 })
        #expect(names.value.allSatisfy { $0.hasPrefix("mapper_") })
        #expect(throws: Boom.self) { _ = try pool.map([1, 2, 3]) { (n: Int) -> Int in if n == 2 { throw Boom() }; return n } }
    }

    @Test func shutdownFinishesQueuedWorkAndRefusesMore() throws {
        let pool = try ThreadPool(maxWorkers: 2)
        let done = Counter()
        for _ in 0..<10 { _ = try pool.submit { sleep(seconds: 0.005); done.increment() } }
        pool.shutdown(wait: true)
        #expect(done.value == 10)
        #expect(throws: ThreadingError.submitAfterShutdown) { _ = try pool.submit { 1 } }
        pool.shutdown()
    }

    @Test func shutdownCancellingFutures() throws {
        let pool = try ThreadPool(maxWorkers: 1)
        let release = Event()
        let running = try pool.submit { release.wait() }
        #expect(eventually { running.isRunning })
        let queued = try (0..<3).map { _ in try pool.submit { 1 } }
        let shutter = try spawn { pool.shutdown(wait: true, cancelFutures: true) }
        #expect(eventually { queued.allSatisfy(\.isCancelled) })
        release.set()
        #expect(try shutter.join(timeout: generous))
        try running.result()
    }
}
