import LoomTestSupport
import LoomThreading
import Testing

@Suite struct LockTests {
    @Test func acquireReleaseAndLocked() throws {
        let lock = Lock()
        #expect(!lock.locked)
        lock.acquire()
        #expect(lock.locked)
        #expect(try !lock.acquire(blocking: false), "not reentrant")
        try lock.release()
        #expect(!lock.locked)
        #expect(try lock.acquire(blocking: false))
        try lock.release()
    }

    @Test func releaseUnlockedThrows() {
        let lock = Lock()
        #expect(throws: ThreadingError.releaseUnlocked) { try lock.release() }
        #expect(ThreadingError.releaseUnlocked.description == "release unlocked lock")
    }

    @Test func anyThreadMayRelease() throws {
        let lock = Lock()
        lock.acquire()
        let failure = Shared<ThreadingError?>(nil)
        try spawn {
            do { try lock.release() } catch { failure.value = error as? ThreadingError }
        }.join()
        #expect(failure.value == nil)
        #expect(!lock.locked)
    }

    @Test func argumentErrors() {
        let lock = Lock()
        #expect(throws: ThreadingError.timeoutOnNonBlocking) { try lock.acquire(blocking: false, timeout: .seconds(1)) }
        #expect(throws: ThreadingError.negativeTimeout) { try lock.acquire(timeout: .seconds(-1)) }
        #expect(!lock.locked)
    }

    @Test func timedAcquireWaitsItsTimeoutAndLeavesTheLockAlone() throws {
        let lock = Lock()
        lock.acquire()
        var got = true
        let took = try elapsed { got = try lock.acquire(timeout: .milliseconds(150)) }
        #expect(!got)
        #expect(took >= 0.15 && took < 5.15)
        #expect(lock.locked)
        #expect(try !lock.acquire(timeout: .zero))
        try lock.release()
        #expect(try lock.acquire(timeout: .zero))
        try lock.release()
    }

    @Test func timedAcquireSucceedsWhenReleased() throws {
        let lock = Lock()
        lock.acquire()
        let releaser = try spawn {
            sleep(seconds: 0.05)
            try lock.release()
        }
        #expect(try lock.acquire(timeout: generous))
        try lock.release()
        #expect(try releaser.join(timeout: generous))
    }

    @Test func mutualExclusion() throws {
        let lock = Lock()
        let box = Unprotected()
        let threads = try (0..<4).map { _ in
            try spawn { for _ in 0..<20_000 { lock.withLock { box.value += 1 } } }
        }
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(box.value == 80_000)
    }

    @Test func withLockReleasesOnError() {
        let lock = Lock()
        #expect(throws: Boom.self) { try lock.withLock { throw Boom() } }
        #expect(!lock.locked)
    }
}

/// Deliberately unsynchronised storage, guarded by the lock under test.
final class Unprotected: @unchecked Sendable {
    // @unchecked Sendable: only touched under the lock being tested.
    var value = 0
}

@Suite struct RLockTests {
    @Test func reentrant() throws {
        let lock = RLock()
        lock.acquire()
        lock.acquire()
        #expect(try lock.acquire(blocking: false))
        try lock.release()
        try lock.release()
        #expect(lock.locked)
        try lock.release()
        #expect(!lock.locked)
        #expect(throws: ThreadingError.releaseUnacquired) { try lock.release() }
    }

    @Test func nonOwnerCannotRelease() throws {
        let lock = RLock()
        lock.acquire()
        let failure = Shared<ThreadingError?>(nil)
        let acquiredElsewhere = Shared<Bool?>(nil)
        try spawn {
            do { try lock.release() } catch { failure.value = error as? ThreadingError }
            acquiredElsewhere.value = try lock.acquire(blocking: false)
        }.join()
        #expect(failure.value == .releaseUnacquired)
        #expect(acquiredElsewhere.value == false)
        #expect(lock.locked)
        try lock.release()
        #expect(ThreadingError.releaseUnacquired.description == "cannot release un-acquired lock")
    }

    @Test func otherThreadsWaitUntilFullyReleased() throws {
        let lock = RLock()
        lock.acquire()
        lock.acquire()
        let got = Shared<Bool?>(nil)
        let waiter = try spawn { got.value = try lock.acquire(timeout: generous); try lock.release() }
        try lock.release()
        sleep(seconds: 0.05)
        #expect(got.value == nil, "still held once")
        try lock.release()
        #expect(try waiter.join(timeout: generous))
        #expect(got.value == true)
    }

    @Test func argumentErrorsAndTimeout() throws {
        let lock = RLock()
        #expect(throws: ThreadingError.timeoutOnNonBlocking) { try lock.acquire(blocking: false, timeout: .seconds(1)) }
        #expect(throws: ThreadingError.negativeTimeout) { try lock.acquire(timeout: .seconds(-1)) }
        lock.acquire()
        let result = Shared<(Bool, Double)?>(nil)
        try spawn {
            var got = true
            let took = try elapsed { got = try lock.acquire(timeout: .milliseconds(100)) }
            result.value = (got, took)
        }.join()
        try lock.release()
        let (got, took) = try #require(result.value)
        #expect(!got)
        #expect(took >= 0.1 && took < 5.1)
    }

    @Test func mutualExclusionWithNesting() throws {
        let lock = RLock()
        let box = Unprotected()
        let threads = try (0..<4).map { _ in
            try spawn { for _ in 0..<10_000 { lock.withLock { lock.withLock { box.value += 1 } } } }
        }
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(box.value == 40_000)
    }
}
