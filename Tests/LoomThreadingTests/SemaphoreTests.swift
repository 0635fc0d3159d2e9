import LoomTestSupport
@testable import LoomThreading
import Testing

@Suite struct SemaphoreTests {
    @Test func countsAndBlocks() throws {
        let semaphore = try Semaphore(2)
        #expect(semaphore.value == 2)
        semaphore.acquire()
        #expect(try semaphore.acquire(blocking: false))
        #expect(try !semaphore.acquire(blocking: false))
        var got = true
        let took = try elapsed { got = try semaphore.acquire(timeout: .milliseconds(100)) }
        #expect(!got)
        #expect(took >= 0.1 && took < 5.1)
        #expect(try !semaphore.acquire(timeout: .zero))
        #expect(try !semaphore.acquire(timeout: .seconds(-1)), "a negative timeout polls, as in Python")
        try semaphore.release(2)
        #expect(semaphore.value == 2)
        try semaphore.release()
        #expect(semaphore.value == 3, "an unbounded semaphore may exceed its initial value")
    }

    @Test func argumentErrors() throws {
        #expect(throws: ThreadingError.invalidArgument("semaphore initial value must be >= 0")) { try Semaphore(-1) }
        let semaphore = try Semaphore(0)
        #expect(throws: ThreadingError.invalidArgument("n must be one or more")) { try semaphore.release(0) }
        #expect(throws: ThreadingError.timeoutOnNonBlocking) { try semaphore.acquire(blocking: false, timeout: .seconds(1)) }
    }

    @Test func releaseWakesWaiters() throws {
        let semaphore = try Semaphore(0)
        let acquired = Counter()
        let threads = try (0..<3).map { _ in
            try spawn { if try semaphore.acquire(timeout: generous) { acquired.increment() } }
        }
        sleep(seconds: 0.05)
        try semaphore.release(2)
        #expect(eventually { acquired.value == 2 })
        sleep(seconds: 0.05)
        #expect(acquired.value == 2)
        try semaphore.release()
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(acquired.value == 3)
    }

    @Test func boundedRefusesOverRelease() throws {
        let semaphore = try BoundedSemaphore(2)
        #expect(throws: ThreadingError.semaphoreReleasedTooManyTimes) { try semaphore.release() }
        semaphore.acquire()
        #expect(throws: ThreadingError.semaphoreReleasedTooManyTimes) { try semaphore.release(2) }
        #expect(semaphore.value == 1, "a refused release changes nothing")
        try semaphore.release()
        #expect(semaphore.value == 2)
        #expect(ThreadingError.semaphoreReleasedTooManyTimes.description == "Semaphore released too many times")
    }

    @Test func deinitNeverCrashes() throws {
        // DispatchSemaphore traps when freed below its initial value; these must not.
        for _ in 0..<10 {
            let bounded = try BoundedSemaphore(3)
            bounded.acquire()
            bounded.acquire()
            let plain = try Semaphore(1)
            plain.acquire()
            _ = (bounded, plain)
        }
    }

    @Test func limitsConcurrency() throws {
        let semaphore = try BoundedSemaphore(3)
        let inside = Counter()
        let highWater = Counter()
        let threads = try (0..<12).map { _ in
            try spawn {
                semaphore.withAcquired {
                    highWater.max(with: inside.increment())
                    sleep(seconds: 0.01)
                    inside.decrement()
                }
            }
        }
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(highWater.value <= 3)
        #expect(highWater.value >= 1)
        #expect(semaphore.value == 3)
    }
}

@Suite struct EventTests {
    @Test func setClearIsSet() {
        let event = Event()
        #expect(!event.isSet)
        event.set()
        #expect(event.isSet)
        #expect(event.wait(timeout: .zero))
        #expect(event.wait())
        event.clear()
        #expect(!event.isSet)
    }

    @Test func waitTimesOut() {
        let event = Event()
        var result = true
        let took = elapsed { result = event.wait(timeout: .milliseconds(150)) }
        #expect(!result)
        #expect(took >= 0.15 && took < 5.15)
        #expect(!event.wait(timeout: .zero))
        #expect(!event.wait(timeout: .seconds(-1)))
    }

    @Test func setWakesEveryWaiter() throws {
        let event = Event()
        let woken = Counter()
        let threads = try (0..<5).map { _ in try spawn { if event.wait(timeout: generous) { woken.increment() } } }
        sleep(seconds: 0.05)
        event.set()
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(woken.value == 5)
    }

    @Test func waiterWokenBySetReturnsTrueEvenIfClearedAgain() throws {
        // gh-57711: set() then an immediate clear() still releases the waiters with true.
        for _ in 0..<20 {
            let event = Event()
            let result = Shared<Bool?>(nil)
            let started = Event()
            let waiter = try spawn {
                started.set()
                result.value = event.wait(timeout: generous)
            }
            started.wait()
            // Only a waiter already inside wait() is owed true; one that arrives after the
            // clear() rightly waits on. So set() only once it sleeps (flake check, run 8 of 10).
            #expect(eventually { event.hasSleepers })
            event.set()
            event.clear()
            #expect(try waiter.join(timeout: generous))
            #expect(result.value == true)
        }
    }
}

@Suite struct TimerTests {
    @Test func firesOnceAfterItsInterval() throws {
        let fired = Counter()
        let start = now()
        let firedAt = Shared<Double>(0)
        let timer = LoomThreading.Timer(interval: .milliseconds(100)) {
            firedAt.value = now()
            fired.increment()
        }
        try timer.start()
        #expect(try timer.join(timeout: generous))
        #expect(fired.value == 1)
        #expect(firedAt.value - start >= 0.1)
        #expect(timer.isFinished)
        #expect(throws: ThreadingError.startedTwice) { try timer.start() }
    }

    @Test func cancelBeforeItFires() throws {
        let fired = Counter()
        let timer = LoomThreading.Timer(interval: .seconds(10)) { fired.increment() }
        try timer.start()
        sleep(seconds: 0.02)
        let took = try elapsed { () throws in
            timer.cancel()
            #expect(try timer.join(timeout: generous))
        }
        #expect(fired.value == 0)
        #expect(took < 5)
    }

    @Test func cancelBeforeStartMeansNever() throws {
        let fired = Counter()
        let timer = LoomThreading.Timer(interval: .zero) { fired.increment() }
        timer.cancel()
        try timer.start()
        #expect(try timer.join(timeout: generous))
        #expect(fired.value == 0)
    }
}
