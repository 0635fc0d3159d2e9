import LoomTestSupport
import LoomThreading
import Testing

@Suite struct BarrierTests {
    @Test func releasesAllPartiesWithDistinctIndicesAndRunsTheActionOnce() throws {
        let actions = Counter()
        let barrier = try Barrier(parties: 4, action: { actions.increment() })
        #expect(barrier.parties == 4)
        let indices = Shared<[Int]>([])
        for _ in 0..<3 {  // reusable round after round
            let threads = try (0..<4).map { _ in try spawn { let index = try barrier.wait(); indices.update { $0.append(index) } } }
            for thread in threads { #expect(try thread.join(timeout: generous)) }
        }
        #expect(actions.value == 3)
        #expect(indices.value.sorted() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        #expect(!barrier.isBroken)
        #expect(barrier.nWaiting == 0)
    }

    @Test func invalidParties() {
        #expect(throws: ThreadingError.invalidArgument("parties must be > 0")) { try Barrier(parties: 0) }
    }

    @Test func timeoutBreaksItForEveryone() throws {
        let barrier = try Barrier(parties: 3)
        let otherBroken = Shared(false)
        let other = try spawn {
            do { try barrier.wait() } catch { otherBroken.value = true }
        }
        #expect(eventually { barrier.nWaiting == 1 })
        var broken = false
        let took = elapsed {
            do { try barrier.wait(timeout: .milliseconds(100)) } catch { broken = true }
        }
        #expect(try other.join(timeout: generous))
        #expect(broken)
        #expect(otherBroken.value)
        #expect(took >= 0.1 && took < 5.1)
        #expect(barrier.isBroken)
        #expect(throws: BrokenBarrierError.self) { try barrier.wait() }
        barrier.reset()
        #expect(!barrier.isBroken)
    }

    @Test func defaultTimeoutFromTheInitializer() throws {
        let barrier = try Barrier(parties: 2, timeout: .milliseconds(50))
        #expect(throws: BrokenBarrierError.self) { try barrier.wait() }
        #expect(barrier.isBroken)
    }

    @Test func abortBreaksWaitersAndLaterCallers() throws {
        let barrier = try Barrier(parties: 3)
        let brokenCount = Counter()
        let threads = try (0..<2).map { _ in
            try spawn { do { try barrier.wait() } catch { brokenCount.increment() } }
        }
        #expect(eventually { barrier.nWaiting == 2 })
        barrier.abort()
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(brokenCount.value == 2)
        #expect(barrier.nWaiting == 0)
        #expect(throws: BrokenBarrierError.self) { try barrier.wait(timeout: generous) }
    }

    @Test func resetWhileWaitingBreaksWaitersThenTheBarrierWorksAgain() throws {
        let barrier = try Barrier(parties: 2)
        let broken = Shared(false)
        let waiter = try spawn { do { try barrier.wait() } catch { broken.value = true } }
        #expect(eventually { barrier.nWaiting == 1 })
        barrier.reset()
        #expect(try waiter.join(timeout: generous))
        #expect(broken.value)
        #expect(!barrier.isBroken)
        let partner = try spawn { try barrier.wait(timeout: generous) }
        #expect(try barrier.wait(timeout: generous) >= 0)
        #expect(try partner.join(timeout: generous))
    }

    @Test func failingActionBreaksTheBarrier() throws {
        let barrier = try Barrier(parties: 2, action: { throw Boom() })
        let otherError = Shared<BrokenBarrierError?>(nil)
        let other = try spawn { do { try barrier.wait() } catch { otherError.value = error as? BrokenBarrierError } }
        #expect(eventually { barrier.nWaiting == 1 })
        var mine: BrokenBarrierError?
        do { try barrier.wait() } catch { mine = error }
        #expect(try other.join(timeout: generous))
        #expect(mine?.actionError is Boom, "the thread that ran the action gets its error")
        #expect(otherError.value != nil && otherError.value?.actionError == nil)
        #expect(barrier.isBroken)
    }
}
