import Synchronization
import Testing
@testable import LoomThreading

/// `join()` without a timeout reaps the thread with `pthread_join` directly; with a timeout it
/// waits on the thread's finished flag. Mixed, concurrent joiners must all return, after the body.
@Suite struct JoinTests {
    @Test(.timeLimit(.minutes(1)))
    func concurrentJoinersWithAndWithoutTimeoutAllReturnAfterTheBody() throws {
        for _ in 0..<50 {
            let release = Event()
            let bodyDone = Atomic<Bool>(false)
            let worker = Thread {
                _ = release.wait(timeout: .seconds(20))
                bodyDone.store(true, ordering: .releasing)
            }
            try worker.start()
            let sawBodyDone = Atomic<Int>(0)
            let joiners = (0..<4).map { index in
                Thread {
                    if index % 2 == 0 {
                        try worker.join()
                    } else {
                        #expect(try worker.join(timeout: .seconds(20)))
                    }
                    if bodyDone.load(ordering: .acquiring) { sawBodyDone.add(1, ordering: .relaxed) }
                }
            }
            for joiner in joiners { try joiner.start() }
            release.set()
            try worker.join()
            for joiner in joiners { #expect(try joiner.join(timeout: .seconds(20))) }
            #expect(sawBodyDone.load(ordering: .relaxed) == 4)
            #expect(!worker.isAlive)
            #expect(!Thread.enumerate().contains { $0 === worker })
        }
    }

    @Test func joinAfterTheThreadFinishedReturnsAtOnceEveryTime() throws {
        let worker = Thread {}
        try worker.start()
        try worker.join()
        try worker.join()
        #expect(try worker.join(timeout: .zero))
        #expect(!worker.isAlive)
    }
}
