#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import LoomTestSupport
import Synchronization
import Testing
@testable import LoomServer
@testable import LoomSockets

/// Faults and edge cases of the event loop: busy ports, huge durations, accept errors, shutdown
/// with stuck tasks, misuse of an async connection, releasing the server on its own loop.
@Suite("EventLoopServer, faults and edge cases")
struct EventLoopRobustnessTests {
    @Test func aSecondServerOnABusyPortThrowsAddressInUse() throws {
        let first = try EventLoopServer(configuration: .init(loops: 2)) { EchoProtocol() }
        defer { first.shutdown(gracePeriod: .zero) }
        let port = first.serverAddress.port
        for strategy in [EventLoopServer.AcceptStrategy.reusePort, .handOff] {
            #expect {
                _ = try EventLoopServer(configuration: .init(port: port, loops: 2, acceptStrategy: strategy)) { EchoProtocol() }
            } throws: { ($0 as? SocketError)?.kind == .addressInUse }
        }
        // The first server still gets every connection.
        first.start()
        let socket = try client(first)
        try socket.sendAll(Array("ping".utf8))
        #expect(try recvExactly(socket, 4) == Array("ping".utf8))
    }

    @Test func aConnectionBusyWritingIsNotIdle() throws {
        // Writes that the kernel takes at once (no buffering, no reads) must count as activity.
        // The pauses block the loop thread rather than sleep in a task: a Task.sleep resumes through
        // the cooperative pool, which other tests may keep busy for longer than the timeout. The
        // timeout is three seconds: with the machine overloaded (load 10 on 2 cores) the loop
        // thread itself was once descheduled longer than a 250 ms one between two sends.
        let server = try EventLoopServer(configuration: .init(loops: 1, idleTimeout: .seconds(3))) { connection in
            for _ in 0..<60 {
                try await connection.sendAll([UInt8](repeating: 65, count: 100))
                usleep(100_000)
                await Task.yield()  // a loop turn (and an idle sweep) between sends
            }
            try await connection.sendAll("DONE")
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let socket = try client(server)
        socket.timeout = .seconds(30)
        let bytes = try recvToEnd(socket)  // 6 s of streaming, two idle timeouts long
        #expect(bytes.count == 6004 && bytes.suffix(4) == Array("DONE".utf8), "\(bytes.count) bytes")
    }

    @Test func aConnectionArrivingAfterTheLoopSleptIsNotStampedStale() throws {
        // A connection stamped with the clock of the loop's last turn would look 2.5 s idle and
        // be closed at once; 2 s is also ample for the client's connect and send on a busy machine.
        let server = try EventLoopServer(configuration: .init(loops: 1, idleTimeout: .seconds(2))) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        usleep(2_500_000)  // the loop blocks in epoll_wait with nothing to do
        let socket = try client(server)
        try socket.sendAll([7])
        #expect(try recvExactly(socket, 1) == [7])
    }

    @Test func shutdownWithAStuckTaskNeitherSpinsNorStrandsIt() throws {
        let waiting = Shared<CheckedContinuation<Void, Never>?>(nil)
        let finished = Atomic<Int>(0)
        let server = try EventLoopServer(configuration: .init(loops: 1)) { _ in
            // Stuck on something outside the server, past the grace period and the loop's end.
            await withCheckedContinuation { continuation in waiting.value = continuation }
            finished.add(1, ordering: .relaxed)
        }
        server.start()
        let socket = try client(server)
        defer { socket.close() }
        #expect(eventually { waiting.value != nil })
        let before = server.loops[0].turns.load(ordering: .relaxed)
        server.shutdown(gracePeriod: .zero)  // returns 1 s after the deadline, the task still stuck
        let turns = server.loops[0].turns.load(ordering: .relaxed) - before
        #expect(turns < 100, "the loop turned \(turns) times waiting out the stuck task")
        #expect(server.loops[0].liveTasks == 1)
        // Resumed after its loop returned: the task must still run to its end.
        waiting.value?.resume()
        #expect(eventually { finished.load(ordering: .relaxed) == 1 }, "the task's resumption was stranded")
        #expect(eventually { server.loops[0].liveTasks == 0 })
    }

    @Test func hugeDurationsSaturateInsteadOfTrapping() throws {
        #expect(Duration.seconds(Int64.max / 2).saturatingNanoseconds == .max)
        #expect(Duration.seconds(Int64.min / 2).saturatingNanoseconds == .min)
        #expect(Duration.milliseconds(1500).saturatingMillisecondsRoundedUp == 1500)
        #expect(Int64.max.saturatingAdding(1) == .max)
        let server = try EventLoopServer(configuration: .init(loops: 1, idleTimeout: .seconds(Int64.max / 2))) {
            EchoProtocol()
        }
        server.start()
        let socket = try client(server)
        try socket.sendAll([1, 2, 3])
        #expect(try recvExactly(socket, 3) == [1, 2, 3])
        socket.close()
        #expect(eventually { server.connectionCount == 0 })
        server.shutdown(gracePeriod: .seconds(1 << 62))
    }

    @Test func acceptErrorsBackOffAndAreReportedOnce() throws {
        let log = ErrorLog()
        let server = try EventLoopServer(configuration: .init(loops: 1, errorHandler: log.handler)) { EchoProtocol() }
        let listener = try #require(server.loops[0].acceptor.listener)
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        // A shut-down listener stays readable and accept fails with EINVAL: a persistent error
        // that is not EMFILE, like ENOBUFS or ENOMEM under memory pressure.
        try listener.shutdown(.read)
        let start = ContinuousClock.now
        #expect(eventually { log.all.count >= 1 })
        usleep(600_000)
        let turns = server.loops[0].turns.load(ordering: .relaxed)
        // Bounds per second actually spent, however long a busy machine made it: a report a
        // second at most (the back-off), and a few turns where a spinning loop makes thousands.
        let seconds = Int((ContinuousClock.now - start).components.seconds) + 1
        #expect(log.all.count <= 1 + seconds, "\(log.all.count) reports in \(seconds) s")
        #expect(turns < 50 * seconds, "the loop turned \(turns) times on a failing listener in \(seconds) s")
    }

    @Test func concurrentRecvOnOneConnectionThrows() throws {
        let outcomes = Shared<[String]>([])
        let server = try EventLoopServer(configuration: .init(loops: 1)) { connection in
            let shared = LoopBound(value: connection)
            @Sendable func record(_ outcome: String) { outcomes.update { $0.append(outcome) } }
            async let first: Void = record(await outcome { try await shared.value.recv(maxBytes: 16) })
            record(await outcome { try await connection.recv(maxBytes: 16) })
            await first
            try await connection.sendAll("done")
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let socket = try client(server)
        // One recv is refused while the other waits; only then does anything arrive.
        #expect(eventually { outcomes.value.contains("invalidArgument") })
        try socket.sendAll(Array("x".utf8))
        #expect(try recvExactly(socket, 4) == Array("done".utf8))
        let result = outcomes.value.sorted()
        #expect(result == ["invalidArgument", "x"])
    }

    @Test func releasingTheServerOnItsOwnLoopStopsAndFreesIt() throws {
        final class Dropper: StreamProtocol {
            let holder: ServerHolder
            init(_ holder: ServerHolder) { self.holder = holder }
            func dataReceived(_ data: UnsafeRawBufferPointer) { holder.server = nil }  // the last reference
        }
        let holder = ServerHolder()
        weak var group: EventLoopGroup?
        let port: Int
        do {
            let server = try EventLoopServer(configuration: .init(loops: 2)) { Dropper(holder) }
            group = server.group
            port = server.serverAddress.port
            holder.server = server
            server.start()
        }
        let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(10))
        try socket.sendAll([1])
        #expect(try recvToEnd(socket).isEmpty)  // deinit shut the server down: the connection closes
        // The loop threads ran to the end and let go of the group (they were detached, not leaked).
        #expect(eventually { group == nil })
        #expect(throws: SocketError.self) {
            _ = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(2))
        }
    }

    /// Counts callbacks; used by the tests that drive a loop by hand before it starts.
    final class Recorder: StreamProtocol {
        let counters: Counters
        var transport: Transport?
        init(_ counters: Counters) { self.counters = counters }
        func connectionMade(_ transport: Transport) {
            self.transport = transport
            counters.made.add(1, ordering: .relaxed)
        }
        func connectionLost(_ error: (any Error)?) {
            counters.lost.add(1, ordering: .relaxed)
            if error != nil { counters.lostWithError.add(1, ordering: .relaxed) }
        }
    }

    @Test func aConnectionThatCannotBeRegisteredIsNeitherMadeNorLost() throws {
        let counters = Counters()
        let log = ErrorLog()
        let server = try EventLoopServer(configuration: .init(loops: 1, errorHandler: log.handler)) { Recorder(counters) }
        // Not started: this thread is the loop's until start, so it may drive the loop by hand.
        let loop = server.loops[0]
        let (socket, peer) = try Socket.pair()
        defer { peer.close() }
        try loop.selector.register(fileDescriptor: socket.fileDescriptor, events: .read, data: nil)  // adopt's register fails
        #expect(server.group.reserveConnection())
        loop.adopt(socket)
        #expect(log.all.count == 1)
        #expect(server.connectionCount == 0)
        #expect(socket.fileDescriptor < 0)  // closed
        server.shutdown(gracePeriod: .zero)
        #expect(counters.made.load(ordering: .relaxed) == 0)
        #expect(counters.lost.load(ordering: .relaxed) == 0)
    }

    @Test func aFailedReRegistrationClosesTheConnectionWithTheError() throws {
        let counters = Counters()
        let server = try EventLoopServer(configuration: .init(loops: 1)) { Recorder(counters) }
        let loop = server.loops[0]
        let (socket, peer) = try Socket.pair()
        defer { peer.close() }
        #expect(server.group.reserveConnection())
        let fd = socket.fileDescriptor
        loop.adopt(socket)
        let transport = try #require(loop.connections[Int(fd)])
        transport.pauseReading()  // nothing to watch: unregistered
        #expect(!transport.registered)
        try loop.selector.register(fileDescriptor: fd, events: .read, data: nil)  // the next register fails
        transport.resumeReading()
        #expect(transport.state == .closed)
        #expect(transport.lostError is SelectorError)
        server.shutdown(gracePeriod: .zero)  // the loop runs once: connectionLost follows
        #expect(counters.made.load(ordering: .relaxed) == 1)
        #expect(counters.lostWithError.load(ordering: .relaxed) == 1)
        #expect(server.connectionCount == 0)
    }

    @Test func resumeWritingFiresAtTheLowWaterMark() throws {
        final class Burst: StreamProtocol {
            let sizeAtResume: Shared<Int?>
            var transport: Transport?
            init(_ sizeAtResume: Shared<Int?>) { self.sizeAtResume = sizeAtResume }
            func connectionMade(_ transport: Transport) throws {
                self.transport = transport
                try transport.socket.setOption(.sendBufferSize, 4096)  // the buffer drains in small steps
                transport.setWriteBufferLimits(high: 65536, low: 32768)
                transport.write(pattern(256 * 1024))
            }
            func resumeWriting() {
                let size = transport?.writeBufferSize ?? -1
                sizeAtResume.update { if $0 == nil { $0 = size } }
                transport?.close()
            }
        }
        let sizeAtResume = Shared<Int?>(nil)
        let server = try EventLoopServer(configuration: .init(loops: 1)) { Burst(sizeAtResume) }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let socket = try slowClient(server)
        #expect(same(try recvToEnd(socket), pattern(256 * 1024)))
        let size = try #require(sizeAtResume.value)
        #expect(size > 0 && size <= 32768, "resumeWriting came at \(size) buffered bytes")
    }
}

/// What a recv gave: its bytes as text, or the error's kind.
private func outcome(_ body: () async throws -> [UInt8]) async -> String {
    do {
        return String(decoding: try await body(), as: UTF8.self)
    } catch let error as SocketError {
        return "\(error.kind)"
    } catch {
        return "\(error)"
    }
}
