import LoomTestSupport
import LoomThreading
import Testing

@Suite struct ConditionTests {
    @Test func misuseWithoutTheLockThrows() throws {
        for condition in [Condition(), Condition(Lock()), Condition(RLock())] {
            #expect(throws: ThreadingError.waitUnacquired) { try condition.wait(timeout: .zero) }
            #expect(throws: ThreadingError.waitUnacquired) { try condition.wait(for: { true }) }
            #expect(throws: ThreadingError.notifyUnacquired) { try condition.notify() }
            #expect(throws: ThreadingError.notifyUnacquired) { try condition.notifyAll() }
        }
    }

    @Test func plainLockOwnershipIsExact() throws {
        // Python only checks that a plain Lock is locked by someone; Loom checks the caller holds it.
        let lock = Lock()
        let condition = Condition(lock)
        lock.acquire()
        let failure = Shared<ThreadingError?>(nil)
        try spawn {
            do { try condition.notify() } catch { failure.value = error as? ThreadingError }
        }.join()
        #expect(failure.value == .notifyUnacquired)
        try condition.notify()
        try lock.release()
    }

    @Test func waitTimesOutWithoutNotification() throws {
        let condition = Condition()
        try condition.withLock {
            var notified = true
            let took = try elapsed { notified = try condition.wait(timeout: .milliseconds(150)) }
            #expect(!notified)
            #expect(took >= 0.15 && took < 5.15)
            #expect(try !condition.wait(timeout: .zero))
            #expect(try !condition.wait(timeout: .seconds(-1)))
        }
    }

    @Test func notifyWakesAWaiterAndRestoresRecursion() throws {
        let lock = RLock()
        let condition = Condition(lock)
        let ready = Counter()
        let result = Shared<Bool?>(nil)
        let waiter = try spawn {
            lock.acquire()
            lock.acquire()
            ready.increment()
            result.value = try condition.wait(timeout: generous)
            // Both levels are held again: two releases succeed, a third fails.
            try lock.release()
            try lock.release()
            do { try lock.release(); result.value = false } catch {}
        }
        #expect(eventually { ready.value > 0 })
        // The waiter released every level while waiting, so we can take the lock.
        try condition.withLock { try condition.notify() }
        #expect(try waiter.join(timeout: generous))
        #expect(result.value == true)
    }

    @Test func notifyNWakesAtMostNInFifoOrder() throws {
        let condition = Condition(Lock())
        let woken = Shared<[Int]>([])
        let waiting = Counter()
        var threads: [LoomThreading.Thread] = []
        for index in 0..<4 {
            threads.append(try spawn {
                try condition.withLock {
                    waiting.increment()
                    if try condition.wait(timeout: generous) { woken.update { $0.append(index) } }
                }
            })
            // Enqueue in a known order.
            #expect(eventually { waiting.value > index })
        }
        try condition.withLock { try condition.notify(n: 2) }
        #expect(eventually { woken.value.count >= 2 })
        sleep(seconds: 0.05)
        #expect(Set(woken.value) == [0, 1], "the two oldest waiters, and no more")
        try condition.withLock { try condition.notify(n: 0); try condition.notifyAll() }
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(woken.value.count == 4)
    }

    @Test func notificationsAreNotRemembered() throws {
        let condition = Condition()
        try condition.withLock {
            try condition.notify()
            #expect(try !condition.wait(timeout: .milliseconds(50)))
        }
    }

    @Test func waitForHasOneOverallDeadlineAndReturnsThePredicate() throws {
        let condition = Condition()
        let stop = Event()
        // A thread that notifies often, so a per-wait timeout would never expire.
        let notifier = try spawn {
            while !stop.isSet {
                try condition.withLock { try condition.notifyAll() }
                sleep(seconds: 0.01)
            }
        }
        // In a thread of its own, so a wait that never ends fails the test instead of hanging it.
        let outcome = Shared<(Bool, Double)?>(nil)
        let waiter = try spawn {
            var result = true
            let took = try elapsed {
                try condition.withLock { result = try condition.wait(for: { false }, timeout: .milliseconds(200)) }
            }
            outcome.value = (result, took)
        }
        #expect(try waiter.join(timeout: .seconds(10)))
        stop.set()
        #expect(try notifier.join(timeout: generous))
        let (result, took) = try #require(outcome.value)
        #expect(!result)
        #expect(took >= 0.2 && took < 5.2)
        let calls = Counter()
        try condition.withLock { () throws in
            #expect(try condition.wait(for: { calls.increment() > 0 }, timeout: .zero))
        }
        #expect(calls.value == 1, "a true predicate is checked once, with no wait")
    }

    @Test func waitForReturnsWhenThePredicateTurnsTrue() throws {
        let condition = Condition(Lock())
        let items = Unprotected()
        let producer = try spawn {
            sleep(seconds: 0.05)
            try condition.withLock {
                items.value = 3
                try condition.notify()
            }
        }
        try condition.withLock { () throws in
            #expect(try condition.wait(for: { items.value == 3 }, timeout: generous))
        }
        #expect(try producer.join(timeout: generous))
    }
}
