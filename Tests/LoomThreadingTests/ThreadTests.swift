import Glibc
import LoomTestSupport
import LoomThreading
import Testing

@Suite struct ThreadTests {
    @Test func closureThreadRunsAndJoins() throws {
        let ran = Counter()
        let thread = LoomThreading.Thread { ran.increment() }
        #expect(!thread.isAlive)
        try thread.start()
        try thread.join()
        #expect(ran.value == 1)
        #expect(!thread.isAlive)
    }

    final class Adder: LoomThreading.Thread, @unchecked Sendable {
        let counter: Counter
        let amount: Int
        init(_ counter: Counter, amount: Int) {
            self.counter = counter
            self.amount = amount
            super.init(name: "adder")
        }
        override func run() { counter.increment(by: amount) }
    }

    @Test func subclassOverridingRun() throws {
        let counter = Counter()
        let threads = (1...5).map { Adder(counter, amount: $0) }
        for thread in threads { try thread.start() }
        for thread in threads { try thread.join() }
        #expect(counter.value == 15)
        #expect(threads[0].name == "adder")
    }

    @Test func startTwiceThrows() throws {
        let thread = LoomThreading.Thread {}
        try thread.start()
        #expect(throws: ThreadingError.startedTwice) { try thread.start() }
        try thread.join()
        #expect(throws: ThreadingError.startedTwice) { try thread.start() }
        #expect(ThreadingError.startedTwice.description == "threads can only be started once")
    }

    @Test func joinMisuse() throws {
        let thread = LoomThreading.Thread {}
        #expect(throws: ThreadingError.joinBeforeStart) { try thread.join() }
        let selfJoin = Shared<ThreadingError?>(nil)
        let joiner = LoomThreading.Thread {
            do { try LoomThreading.Thread.current.join() } catch { selfJoin.value = error as? ThreadingError }
        }
        try joiner.start()
        try joiner.join()
        #expect(selfJoin.value == .joinCurrentThread)
    }

    @Test func joinTimeoutReturnsWhileThreadRuns() throws {
        let release = Event()
        let thread = try spawn { release.wait() }
        var finished = true
        let took = try elapsed { finished = try thread.join(timeout: .milliseconds(200)) }
        #expect(!finished)
        #expect(thread.isAlive, "join(timeout:) never stops the thread")
        #expect(took >= 0.2 && took < 5.2)
        release.set()
        #expect(try thread.join(timeout: generous))
        #expect(!thread.isAlive)
        // Zero and negative timeouts just look.
        #expect(try thread.join(timeout: .zero))
        #expect(try thread.join(timeout: .seconds(-1)))
    }

    @Test func sequentialJoinsEachHaveTheirOwnTimeout() throws {
        let release = Event()
        let threads = try (0..<3).map { _ in try spawn { release.wait() } }
        let took = try elapsed { () throws in
            for thread in threads { #expect(try !thread.join(timeout: .milliseconds(100))) }
        }
        #expect(took >= 0.3, "three joins of 0.1 s each wait 0.3 s, not 0.1 s")
        release.set()
        for thread in threads { #expect(try thread.join(timeout: generous)) }
    }

    @Test func manyThreadsMayJoinOneThread() throws {
        let release = Event()
        let target = try spawn { release.wait() }
        let joined = Counter()
        let joiners = try (0..<4).map { _ in try spawn { if try target.join(timeout: generous) { joined.increment() } } }
        sleep(seconds: 0.05)
        release.set()
        for joiner in joiners { try joiner.join() }
        #expect(joined.value == 4)
    }

    @Test func identityAndNames() throws {
        let release = Event()
        let seen = Shared<(UInt?, Int32?, String)>((nil, nil, ""))
        let thread = LoomThreading.Thread(name: "worker-7") {
            let current = LoomThreading.Thread.current
            seen.value = (current.ident, current.nativeID, current.name)
            release.wait()
        }
        #expect(thread.ident == nil)
        #expect(thread.nativeID == nil)
        try thread.start()
        let nativeID = thread.nativeID
        #expect(nativeID != nil && nativeID != getpid())
        #expect(thread.ident != nil)
        thread.name = "renamed"
        release.set()
        try thread.join()
        #expect(seen.value.0 == thread.ident)
        #expect(seen.value.1 == nativeID)
        #expect(thread.ident != nil, "ident is kept after the thread ends")
        #expect(thread.name == "renamed")
        let other = LoomThreading.Thread {}
        #expect(other.name.hasPrefix("Thread-"))
        #expect(other.name != LoomThreading.Thread().name)
    }

    @Test func daemonFlag() throws {
        let explicit = LoomThreading.Thread(daemon: false) {}
        #expect(!explicit.isDaemon)
        try explicit.setDaemon(true)
        #expect(explicit.isDaemon)
        try explicit.start()
        #expect(throws: ThreadingError.daemonOfActiveThread) { try explicit.setDaemon(false) }
        try explicit.join()
        // Inherited from the creating thread: a Loom non-daemon thread makes non-daemon threads.
        let inherited = Shared<Bool?>(nil)
        let parent = LoomThreading.Thread(daemon: false) { inherited.value = LoomThreading.Thread {}.isDaemon }
        try parent.start()
        try parent.join()
        #expect(inherited.value == false)
        let daemonParent = LoomThreading.Thread(daemon: true) { inherited.value = LoomThreading.Thread {}.isDaemon }
        try daemonParent.start()
        try daemonParent.join()
        #expect(inherited.value == true)
    }

    @Test func currentInsideThreadIsTheThread() throws {
        let same = Shared(false)
        let holder = Shared<LoomThreading.Thread?>(nil)
        let thread = LoomThreading.Thread {
            same.value = LoomThreading.Thread.current === holder.value
        }
        holder.value = thread
        try thread.start()
        try thread.join()
        #expect(same.value)
    }

    @Test func dummyThreadForForeignThreads() throws {
        // A thread not started by Loom gets a dummy Thread: alive, daemon, not joinable.
        let result = Shared<(String, Bool, Bool, Bool)?>(nil)
        var handle = pthread_t()
        let box = Unmanaged.passRetained(result).toOpaque()
        pthread_create(&handle, nil, { pointer in
            let result = Unmanaged<Shared<(String, Bool, Bool, Bool)?>>.fromOpaque(pointer!).takeRetainedValue()
            let current = LoomThreading.Thread.current
            let again = LoomThreading.Thread.current
            var joinable = true
            do { try current.join() } catch { joinable = false }
            result.value = (current.name, current.isDaemon, current === again && current.isAlive, joinable)
            return nil
        }, box)
        pthread_join(handle, nil)
        let value = try #require(result.value)
        #expect(value.0.hasPrefix("Dummy-"))
        #expect(value.1)
        #expect(value.2)
        #expect(!value.3)
    }

    @Test func mainThread() throws {
        let main = LoomThreading.Thread.main
        #expect(main.name == "MainThread")
        #expect(!main.isDaemon)
        #expect(main.isAlive)
        #expect(main.nativeID == getpid())
        #expect(LoomThreading.Thread.enumerate().contains { $0 === main })
    }

    @Test func enumerateAndActiveCount() throws {
        let release = Event()
        let thread = LoomThreading.Thread(daemon: true) { release.wait() }
        #expect(!LoomThreading.Thread.enumerate().contains { $0 === thread })
        try thread.start()
        #expect(LoomThreading.Thread.enumerate().contains { $0 === thread })
        #expect(LoomThreading.Thread.activeCount >= 2)
        release.set()
        try thread.join()
        #expect(!LoomThreading.Thread.enumerate().contains { $0 === thread }, "a joined thread is never listed")
    }

    @Test func stackSize() throws {
        #expect(throws: ThreadingError.invalidStackSize(1000)) { try LoomThreading.Thread.setStackSize(1000) }
        let deep = Shared(false)
        let thread = LoomThreading.Thread(stackSize: 4 << 20) {
            // The stack is the mapping that holds a local variable.
            var local = 0
            let address = withUnsafeMutablePointer(to: &local) { UInt(bitPattern: $0) }
            deep.value = stackMappingSize(containing: address) >= 4 << 20
        }
        #expect(thread.stackSize == 4 << 20)
        try thread.start()
        try thread.join()
        #expect(deep.value)
        let tooSmall = LoomThreading.Thread(stackSize: 100) {}
        #expect(throws: ThreadingError.invalidStackSize(100)) { try tooSmall.start() }
        #expect(!tooSmall.isAlive)
    }
}

struct Boom: Error, CustomStringConvertible {
    var description: String { "boom" }
}

@Suite(.serialized) struct ExcepthookTests {
    @Test func errorGoesToTheHookAndTheThreadEndsNormally() throws {
        let seen = Shared<[String]>([])
        LoomThreading.Thread.excepthook = { arguments in
            seen.update { $0.append("\(arguments.thread.name): \(arguments.error)") }
        }
        defer { LoomThreading.Thread.excepthook = LoomThreading.Thread.defaultExcepthook }
        let thread = LoomThreading.Thread(name: "failing") { throw Boom() }
        try thread.start()
        try thread.join()
        #expect(seen.value == ["failing: boom"])
        #expect(!thread.isAlive)
    }

    @Test func defaultHookPrintsToStderr() throws {
        // Redirect stderr into a pipe while the thread fails; a reader drains the pipe meanwhile,
        // so nothing else writing to stderr can ever block on it.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readEnd = fds[0]
        let captured = Shared<[UInt8]>([])
        let reader = try spawn {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count <= 0 { break }
                captured.update { $0 += buffer[0..<count] }
            }
        }
        let saved = dup(2)
        dup2(fds[1], 2)
        close(fds[1])
        let thread = LoomThreading.Thread(name: "noisy") { throw Boom() }
        try thread.start()
        try thread.join()
        dup2(saved, 2)
        close(saved)
        #expect(try reader.join(timeout: generous))
        close(readEnd)
        let text = String(decoding: captured.value, as: UTF8.self)
        #expect(text.contains("Exception in thread noisy: boom\n"))
    }
}

/// The size of the /proc/self/maps region containing `address`.
func stackMappingSize(containing address: UInt) -> Int {
    guard let file = fopen("/proc/self/maps", "r") else { return 0 }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!)
        let range = text.split(separator: " ")[0].split(separator: "-")
        guard range.count == 2, let low = UInt(range[0], radix: 16), let high = UInt(range[1], radix: 16) else { continue }
        if low <= address && address < high { return Int(high - low) }
    }
    return 0
}
