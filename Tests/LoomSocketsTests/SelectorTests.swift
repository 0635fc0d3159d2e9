#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import Dispatch
import Synchronization
import Testing
@testable import LoomSockets

/// Python's `selectors` semantics (python-semantics.md §3.2) on epoll.
@Suite("Selector")
struct SelectorTests {
    @Test func readinessIsLevelTriggeredAndCarriesData() throws {
        let selector = try Selector<String>()
        let (a, b) = try Socket.pair()
        try selector.register(a, events: .read, data: "a")
        #expect(try selector.select(timeout: .zero).isEmpty)
        try b.sendAll("x")
        for _ in 0..<2 {  // reported again until consumed
            let ready = try selector.select(timeout: .seconds(5))
            #expect(ready.count == 1)
            #expect(ready.first?.key.data == "a")
            #expect(ready.first?.key.socket === a)
            #expect(ready.first?.events == .read)
        }
        _ = try a.recv(maxBytes: 10)
        #expect(try selector.select(timeout: .zero).isEmpty)
    }

    @Test func readableAndWritableInOneCall() throws {
        let selector = try Selector<Void>()
        let (a, b) = try Socket.pair()
        try selector.register(a, events: [.read, .write])
        let writable = try selector.select(timeout: .seconds(5))
        #expect(writable.count == 1 && writable[0].events == .write)
        try b.sendAll("x")
        let both = try selector.select(timeout: .seconds(5))
        #expect(both.count == 1 && both[0].events == [.read, .write])
        // Only what the key asked for is reported.
        try selector.modify(a, events: .write)
        #expect(try selector.select(timeout: .seconds(5)).first?.events == .write)
    }

    @Test func peerHangUpReportsReadable() throws {
        let selector = try Selector<Void>()
        let (a, b) = try Socket.pair()
        try selector.register(a, events: .read)
        b.close()
        let ready = try selector.select(timeout: .seconds(5))
        #expect(ready.first?.events == .read)
        #expect(try a.recv(maxBytes: 1) == [])
    }

    @Test func misuseThrowsPythonsErrors() throws {
        let selector = try Selector<Int>()
        let (a, b) = try Socket.pair()
        try selector.register(a, events: .read, data: 1)
        #expect(throws: SelectorError.self) { try selector.register(a, events: .read, data: 2) }
        do {
            try selector.register(fileDescriptor: a.fileDescriptor, events: .write, data: 3)
            Issue.record("same descriptor registered twice")
        } catch {
            #expect(error.kind == .alreadyRegistered)
            #expect("\(error)" == "register fd \(a.fileDescriptor): already registered")
        }
        #expect(try selector.key(for: a).data == 1)
        for events in [SelectorEvents(), SelectorEvents(rawValue: 4), SelectorEvents(rawValue: 5)] {
            do { try selector.register(b, events: events, data: 0); Issue.record("accepted \(events)") }
            catch { #expect(error.kind == .invalidEvents) }
        }
        do { try selector.unregister(b); Issue.record("unregistered an unknown socket") }
        catch { #expect(error.kind == .notRegistered) }
        do { try selector.modify(b, events: .read, data: 0); Issue.record("modified an unknown socket") }
        catch { #expect(error.kind == .notRegistered) }
        do { _ = try selector.key(forFileDescriptor: 99_999); Issue.record("found an unknown descriptor") }
        catch { #expect(error.kind == .notRegistered) }
        do { try selector.register(fileDescriptor: -1, events: .read, data: 0); Issue.record("registered -1") }
        catch { #expect(error.kind == .invalidDescriptor) }
        let closed = try Socket()
        closed.close()
        do { try selector.register(closed, events: .read, data: 0); Issue.record("registered a closed socket") }
        catch { #expect(error.kind == .invalidDescriptor) }
        // A regular file: epoll refuses (EPERM), nothing stays registered.
        let file = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        defer { Glibc.close(file) }
        do { try selector.register(fileDescriptor: file, events: .read, data: 0); Issue.record("registered a file") }
        catch { #expect(error.kind == .system && error.underlying?.errno == EPERM) }
        #expect(selector.count == 1)
    }

    @Test func modifyKeepsOrReplacesTheKey() throws {
        let selector = try Selector<String>()
        let (a, _) = try Socket.pair()
        try selector.register(a, events: .read, data: "one")
        let dataOnly = try selector.modify(a, events: .read, data: "two")
        #expect(dataOnly.events == .read && dataOnly.data == "two")
        let both = try selector.modify(a, events: .write, data: "three")
        #expect(both.events == .write && both.data == "three")
        #expect(try selector.select(timeout: .seconds(5)).first?.key.data == "three")
        let removed = try selector.unregister(a)
        #expect(removed.data == "three" && selector.count == 0 && selector.keys.isEmpty)
    }

    @Test func closedSelectorRefusesEverything() throws {
        let selector = try Selector<Void>()
        let (a, _) = try Socket.pair()
        try selector.register(a, events: .read)
        let epfd = selector.fileDescriptor
        #expect(fcntl(epfd, F_GETFD) >= 0)
        selector.close()
        selector.close()  // idempotent
        #expect(selector.isClosed && selector.count == 0)
        #expect(fcntl(epfd, F_GETFD) < 0 || epfd != selector.fileDescriptor)
        do { _ = try selector.select(timeout: .zero); Issue.record("closed selector selected") }
        catch { #expect(error.kind == .closed) }
        do { try selector.register(a, events: .read); Issue.record("closed selector registered") }
        catch { #expect(error.kind == .closed) }
        do { try selector.unregister(a); Issue.record("closed selector unregistered") }
        catch { #expect(error.kind == .closed) }
        selector.wakeup()  // harmless
    }

    @Test func closedDescriptorIsDroppedAndUnregisterStillWorks() throws {
        let selector = try Selector<String>()
        // The kernel hands out the lowest free number, and suites running in parallel take low
        // numbers all the time (CI once saw one held for the whole run). So the test works on a
        // number far above theirs, where only F_DUPFD's "lowest free at or above" reaches.
        let high = Self.numberNobodyElseUses()
        var (a, b) = try Self.pair(atOrAbove: high)
        let oldFD = a.fileDescriptor
        try #require(oldFD >= high)
        try selector.register(a, events: .read, data: "old")
        try b.sendAll("x")
        a.close()  // without unregistering: epoll drops it silently
        #expect(try selector.select(timeout: .milliseconds(50)).isEmpty)
        // The descriptor number comes back for a new socket: Python's rule, it must be registered anew.
        let (newSocket, peer) = try Self.pair(atOrAbove: high)
        b = peer
        try #require(newSocket.fileDescriptor == oldFD)
        do { try selector.register(newSocket, events: .read, data: "new"); Issue.record("stale key not reported") }
        catch { #expect(error.kind == .alreadyRegistered) }
        // The closed socket is found by identity and unregisters without an OSError.
        #expect(try selector.unregister(a).data == "old")
        try selector.register(newSocket, events: .read, data: "new")
        try b.sendAll("y")
        #expect(try selector.select(timeout: .seconds(5)).first?.key.data == "new")
    }

    /// A descriptor number far above what the suites use (flood tests hold a couple of
    /// thousand at once), inside the soft limit.
    private static func numberNobodyElseUses() -> Int32 {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int32(clamping: min(UInt64(limit.rlim_cur) - 16, 60_000))
    }

    /// A socket pair whose first socket sits at the lowest free number at or above `floor`.
    private static func pair(atOrAbove floor: Int32) throws -> (Socket, Socket) {
        let (low, peer) = try Socket.pair()
        let moved = fcntl(low.fileDescriptor, F_DUPFD_CLOEXEC, floor)
        try #require(moved >= 0, "F_DUPFD_CLOEXEC: errno \(errno)")
        low.close()
        return (try Socket(adopting: moved), peer)
    }

    @Test func eventForARegistrationRemovedInTheSameBatchIsNotDelivered() throws {
        let selector = try Selector<Int>()
        let (a, b) = try Socket.pair()
        let (c, d) = try Socket.pair()
        try selector.register(a, events: .read, data: 1)
        try selector.register(c, events: .read, data: 2)
        try b.sendAll("x")
        try d.sendAll("x")
        var seen: [Int] = []
        let delivered = try selector.select(timeout: .seconds(5)) { fd, _, data in
            seen.append(data)
            // The first handler drops the other registration: its pending event must vanish.
            let other = fd == a.fileDescriptor ? c : a
            _ = try? selector.unregister(other)
        }
        #expect(seen.count == 1 && delivered == 1)
    }

    @Test func twoThousandDescriptors() throws {
        try raiseDescriptorLimit(to: 4_500)
        let selector = try Selector<Int>()
        var sockets: [Socket] = []
        for _ in 0..<1_000 {
            let (x, y) = try Socket.pair()
            sockets += [x, y]
        }
        for (index, socket) in sockets.enumerated() {
            try selector.register(socket, events: .read, data: index)
        }
        #expect(selector.count == 2_000)
        #expect(sockets.map(\.fileDescriptor).max()! > 1_024)
        for socket in sockets { try socket.sendAll("z") }  // every socket's partner becomes readable
        var seen = Set<Int>()
        var rounds = 0
        while seen.count < 2_000 && rounds < 100 {
            rounds += 1
            for (key, events) in try selector.select(timeout: .seconds(5)) {
                #expect(events == .read)
                if seen.insert(key.data).inserted { _ = try key.socket!.recv(maxBytes: 1) }
            }
        }
        #expect(seen.count == 2_000)
        #expect(try selector.select(timeout: .zero).isEmpty)
        for socket in sockets { try selector.unregister(socket) }
        #expect(selector.count == 0)
    }

    @Test func timeoutNeverReturnsEarlyEvenWhenEmpty() throws {
        let selector = try Selector<Void>()
        let start = ContinuousClock.now
        #expect(try selector.select(timeout: .milliseconds(120)).isEmpty)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(120) && elapsed < .seconds(30))
    }

    @Test func wakeupFromAnotherThread() throws {
        let selector = try Selector<Void>()
        let (a, b) = try Socket.pair()
        defer { b.close() }
        try selector.register(a, events: .read)
        let waker = selector.waker
        let start = ContinuousClock.now
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { waker.wakeup() }
        #expect(try selector.select(timeout: .seconds(20)).isEmpty)
        #expect(ContinuousClock.now - start < .seconds(10))
        // Drained: the next select waits again.
        #expect(try selector.select(timeout: .milliseconds(30)).isEmpty)
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        // Coalesced wake-ups before a select make it return once, not spin.
        for _ in 0..<100 { waker.wakeup() }
        #expect(try selector.select(timeout: .seconds(5)).isEmpty)
        let again = ContinuousClock.now
        #expect(try selector.select(timeout: .milliseconds(50)).isEmpty)
        #expect(ContinuousClock.now - again >= .milliseconds(50))
    }

    @Test func signalsDoNotShortenTheTimeout() throws {
        let signal = installNoOpSignalHandler()
        let before = signalsReceived.load(ordering: .relaxed)
        let result = Protected<(Duration, Bool)?>(nil)
        let thread = try spawn {
            unblock(signal)  // threads inherit the creator's mask; pool threads block signals
            let selector = try! Selector<Void>()
            let start = ContinuousClock.now
            let empty = (try? selector.select(timeout: .seconds(2)))?.isEmpty ?? false
            result.withLock { $0 = (ContinuousClock.now - start, empty) }
        }
        // Signals every 50 ms for as long as the wait lasts (a long wait, so that a descheduled
        // test thread still lands some inside it).
        for _ in 0..<400 where result.withLock({ $0 }) == nil {
            usleep(50_000)
            pthread_kill(thread, signal)
        }
        pthread_join(thread, nil)
        let (elapsed, empty) = try #require(result.withLock { $0 })
        #expect(signalsReceived.load(ordering: .relaxed) > before)
        #expect(empty, "select threw or reported an event after EINTR")
        #expect(elapsed >= .seconds(2))
    }
}

// MARK: - Helpers

/// Counts the no-op handler's runs, to prove the signals arrived.
let signalsReceived = Atomic<Int>(0)

/// A spare real-time signal with a no-op handler and no `SA_RESTART`, so blocked calls see EINTR.
func installNoOpSignalHandler() -> Int32 {
    let signal = __libc_current_sigrtmin() + 8   // InterruptTests, which may run meanwhile, has + 7
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in signalsReceived.add(1, ordering: .relaxed) }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0
    sigaction(signal, &action, nil)
    return signal
}

/// Lets `signal` reach the calling thread.
func unblock(_ signal: Int32) {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, signal)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// Starts a joinable pthread running `body`.
func spawn(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, box)
    try #require(rc == 0)
    return thread
}

/// Raises the soft descriptor limit (never above the hard one).
func raiseDescriptorLimit(to wanted: rlim_t) throws {
    var limit = rlimit()
    getrlimit(RLIMIT_NOFILE_INT, &limit)
    if limit.rlim_cur < wanted {
        limit.rlim_cur = min(wanted, limit.rlim_max)
        setrlimit(RLIMIT_NOFILE_INT, &limit)
    }
    try #require(limit.rlim_cur >= wanted, "RLIMIT_NOFILE hard limit \(limit.rlim_max) is too low")
}

let RLIMIT_NOFILE_INT = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
