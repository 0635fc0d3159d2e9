import Glibc
import LoomTestSupport
import LoomThreading
import Testing

/// Counts its live instances, to see thread-local values destroyed.
final class Tracked: Sendable {
    let id: Int
    let live: Counter
    init(_ id: Int, live: Counter) {
        self.id = id
        self.live = live
        live.increment()
    }
    deinit { live.decrement() }
}

@Suite struct ThreadLocalTests {
    @Test func eachThreadSeesItsOwnValue() throws {
        let local = ThreadLocal<Int>()
        local.value = 1
        let seen = Shared<[Int?]>([])
        let threads = try (2...4).map { number in
            try spawn {
                let before = local.value
                local.value = number
                sleep(seconds: 0.01)
                seen.update { $0.append(before); $0.append(local.value) }
            }
        }
        for thread in threads { #expect(try thread.join(timeout: generous)) }
        #expect(local.value == 1)
        #expect(seen.value.filter { $0 == nil }.count == 3, "a new thread starts with no value")
        #expect(Set(seen.value.compactMap { $0 }) == [2, 3, 4])
    }

    @Test func initialValueIsMadeOncePerThread() throws {
        let made = Counter()
        let local = ThreadLocal<Int> { made.increment() }
        let first = local.value
        #expect(local.value == first)
        try spawn { _ = local.value; _ = local.value }.join()
        #expect(made.value == 2)
        local.value = nil
        _ = local.value
        #expect(made.value == 3, "setting nil forgets the value")
    }

    @Test func valueIsDestroyedWhenItsLoomThreadEnds() throws {
        let live = Counter()
        let local = ThreadLocal<Tracked>()
        let release = Event()
        let thread = try spawn {
            local.value = Tracked(1, live: live)
            release.wait()
        }
        #expect(eventually { live.value == 1 })
        release.set()
        #expect(try thread.join(timeout: generous))
        #expect(live.value == 0, "destroyed before join() returns")
    }

    /// Records, as it is destroyed, whether its thread still counted as alive.
    final class Witness: @unchecked Sendable {
        // @unchecked Sendable: `thread` is set once before the value is stored.
        let thread: Shared<LoomThreading.Thread?>
        let aliveAtDeinit: Shared<Bool?>
        init(thread: Shared<LoomThreading.Thread?>, aliveAtDeinit: Shared<Bool?>) {
            self.thread = thread
            self.aliveAtDeinit = aliveAtDeinit
        }
        deinit { aliveAtDeinit.value = thread.value?.isAlive }
    }

    @Test func loomThreadDestroysItsValuesBeforeItCountsAsFinished() throws {
        let local = ThreadLocal<Witness>()
        let holder = Shared<LoomThreading.Thread?>(nil)
        let aliveAtDeinit = Shared<Bool?>(nil)
        let thread = LoomThreading.Thread(daemon: true) {
            local.value = Witness(thread: holder, aliveAtDeinit: aliveAtDeinit)
        }
        holder.value = thread
        try thread.start()
        #expect(try thread.join(timeout: generous))
        #expect(aliveAtDeinit.value == true, "destroyed as the thread ends, before join() can return")
    }

    @Test func valueIsDestroyedWhenAForeignThreadEnds() throws {
        let live = Counter()
        let context = Unmanaged.passRetained(Shared<(ThreadLocal<Tracked>, Counter)>((ThreadLocal<Tracked>(), live)))
        var handle = pthread_t()
        pthread_create(&handle, nil, { pointer in
            let shared = Unmanaged<Shared<(ThreadLocal<Tracked>, Counter)>>.fromOpaque(pointer!).takeUnretainedValue()
            let (local, live) = shared.value
            local.value = Tracked(2, live: live)
            return nil
        }, context.toOpaque())
        pthread_join(handle, nil)
        #expect(live.value == 0, "the pthread key's destructor released it")
        context.release()
    }

    @Test func settingNilDestroysAndDeinitDestroysEveryThreadsValue() throws {
        let live = Counter()
        var local: ThreadLocal<Tracked>? = ThreadLocal<Tracked>()
        local!.value = Tracked(3, live: live)
        local!.value = nil
        #expect(live.value == 0)
        local!.value = Tracked(4, live: live)
        let box = Shared<ThreadLocal<Tracked>?>(local)
        let stored = Event()
        let release = Event()
        let thread = try spawn {
            box.value!.value = Tracked(5, live: live)
            stored.set()
            release.wait()
        }
        stored.wait()
        #expect(live.value == 2)
        box.value = nil
        local = nil
        #expect(live.value == 0, "freeing the ThreadLocal destroys the value of every thread still running")
        release.set()
        #expect(try thread.join(timeout: generous))
        #expect(live.value == 0)
    }
}
