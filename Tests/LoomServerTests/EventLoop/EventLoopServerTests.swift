#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Synchronization
import Testing
@testable import LoomServer
@testable import LoomSockets

@Suite("EventLoopServer, Protocol handlers")
struct EventLoopServerTests {
    @Test(arguments: [EventLoopServer.AcceptStrategy.reusePort, .handOff])
    func echoesManyConnectionsByteExact(strategy: EventLoopServer.AcceptStrategy) throws {
        let server = try EventLoopServer(configuration: .init(loops: 2, acceptStrategy: strategy)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let clients = try (0..<150).map { _ in try client(server) }
        for round in 0..<3 {
            for (i, c) in clients.enumerated() { try c.sendAll(pattern(100 + i, seed: round)) }
            for (i, c) in clients.enumerated() { #expect(try recvExactly(c, 100 + i) == pattern(100 + i, seed: round)) }
        }
        #expect(server.connectionCount == 150)
        for c in clients { c.close() }
        #expect(eventually { server.connectionCount == 0 })
        // Both loops took connections.
        #expect(server.loops.allSatisfy { $0.turns.load(ordering: .relaxed) > 0 })
    }

    @Test func pipelinedMegabytesComeBackInOrder() throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        let payload = pattern(4 << 20, seed: 3)
        // Written from another thread while this one reads: the echo's write buffer fills and the
        // server pauses reading (back-pressure) without losing or reordering a byte.
        let writer = Background { () -> Bool in (try? c.sendAll(payload)) != nil }
        let echoed = try recvExactly(c, payload.count)
        #expect(writer.wait() == true)
        #expect(same(echoed, payload))
    }

    @Test func writeBufferWaterMarksPauseAndResumeTheProtocol() throws {
        final class Flood: StreamProtocol {
            let counters: Counters
            var transport: Transport?
            init(_ counters: Counters) { self.counters = counters }
            func connectionMade(_ transport: Transport) {
                self.transport = transport
                transport.setWriteBufferLimits(high: 256 << 10, low: 64 << 10)
                transport.write(pattern(12 << 20))  // far more than the socket buffers (4 MB + 128 KB) take
            }
            func pauseWriting() {
                counters.paused.add(1, ordering: .relaxed)
                // Above the high-water mark: the buffered amount is what asyncio promises.
                #expect(transport!.writeBufferSize > transport!.highWaterMark)
            }
            func resumeWriting() { counters.resumed.add(1, ordering: .relaxed) }
            func connectionLost(_ error: (any Error)?) { counters.lost.add(1, ordering: .relaxed) }
        }
        let counters = Counters()
        let server = try EventLoopServer(configuration: .init(loops: 1)) { Flood(counters) }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        #expect(eventually { counters.paused.load(ordering: .relaxed) == 1 })
        usleep(100_000)  // the reader is slow: still paused
        #expect(counters.resumed.load(ordering: .relaxed) == 0)
        #expect(same(try recvExactly(c, 12 << 20), pattern(12 << 20)))
        #expect(eventually { counters.resumed.load(ordering: .relaxed) == 1 })
        c.close()
        #expect(eventually { counters.lost.load(ordering: .relaxed) == 1 })
    }

    @Test func writesAreFlushedBeforeClose() throws {
        final class SayAndClose: StreamProtocol {
            func connectionMade(_ transport: Transport) {
                transport.write(pattern(6 << 20, seed: 9))
                transport.write(Array("bye\n".utf8))
                transport.close()
                transport.write(Array("ignored after close".utf8))
            }
        }
        let server = try EventLoopServer(configuration: .init(loops: 1)) { SayAndClose() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        for _ in 0..<2 {
            let c = try client(server)
            usleep(50_000)  // let the server hit a full socket buffer before we read
            #expect(same(try recvToEnd(c), pattern(6 << 20, seed: 9) + Array("bye\n".utf8)))
        }
    }

    @Test func pauseReadingStopsDeliveryUntilResumed() throws {
        // Two connections on one loop: the first pauses itself, the second resumes it.
        final class Coordinator: @unchecked Sendable {  // touched only on the single loop thread
            var paused: Transport?
            let received = Atomic<Int>(0)
        }
        final class Pausing: StreamProtocol {
            let shared: Coordinator
            var transport: Transport?
            init(_ shared: Coordinator) { self.shared = shared }
            func connectionMade(_ transport: Transport) {
                self.transport = transport
                if shared.paused == nil {
                    shared.paused = transport
                    transport.pauseReading()
                }
            }
            func dataReceived(_ data: UnsafeRawBufferPointer) {
                if transport === shared.paused {
                    shared.received.add(data.count, ordering: .relaxed)
                    transport?.write(data)
                } else {
                    shared.paused?.resumeReading()
                }
            }
        }
        let shared = Coordinator()
        let server = try EventLoopServer(configuration: .init(loops: 1)) { Pausing(shared) }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let first = try client(server)
        try first.sendAll("held back\n")
        usleep(200_000)
        #expect(shared.received.load(ordering: .relaxed) == 0)
        let second = try client(server)
        try second.sendAll("go")
        #expect(try recvExactly(first, 10) == Array("held back\n".utf8))
        #expect(shared.received.load(ordering: .relaxed) == 10)
    }

    @Test func aThrowingHandlerLosesItsConnectionNotTheServer() throws {
        struct Boom: Error {}
        final class Fragile: StreamProtocol {
            let counters: Counters
            var transport: Transport?
            init(_ counters: Counters) { self.counters = counters }
            func connectionMade(_ transport: Transport) { self.transport = transport }
            func dataReceived(bytes: [UInt8]) throws {
                if bytes.starts(with: Array("boom".utf8)) { throw Boom() }
                transport?.write(bytes)
            }
            func connectionLost(_ error: (any Error)?) {
                if error is Boom { counters.lostWithError.add(1, ordering: .relaxed) }
            }
        }
        let counters = Counters()
        let log = ErrorLog()
        let server = try EventLoopServer(configuration: .init(loops: 1, errorHandler: log.handler)) { Fragile(counters) }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let bad = try client(server)
        try bad.sendAll("boom")
        #expect(try recvToEnd(bad) == [])
        #expect(eventually { counters.lostWithError.load(ordering: .relaxed) == 1 })
        #expect(log.all.count == 1)
        let good = try client(server)
        try good.sendAll("fine")
        #expect(try recvExactly(good, 4) == Array("fine".utf8))
    }

    @Test func peerResetMidWriteIsAConnectionLostWithError() throws {
        final class Firehose: StreamProtocol {
            let counters: Counters
            init(_ counters: Counters) { self.counters = counters }
            func connectionMade(_ transport: Transport) {
                counters.made.add(1, ordering: .relaxed)
                transport.write(pattern(8 << 20))
            }
            func connectionLost(_ error: (any Error)?) {
                counters.lost.add(1, ordering: .relaxed)
                if error != nil { counters.lostWithError.add(1, ordering: .relaxed) }
            }
        }
        let counters = Counters()
        let server = try EventLoopServer(configuration: .init(loops: 1)) { Firehose(counters) }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        _ = try c.recv(maxBytes: 1000)
        try c.setOption(SocketOption<Linger>(level: SOL_SOCKET, name: SO_LINGER), Linger(.zero))
        c.close()  // RST while the server still has megabytes to send
        #expect(eventually { counters.lost.load(ordering: .relaxed) == 1 })
        #expect(counters.lostWithError.load(ordering: .relaxed) == 1)
        #expect(eventually { server.connectionCount == 0 })
        let again = try client(server)  // still serving
        #expect(try again.recv(maxBytes: 10).count > 0)
    }

    @Test func idleConnectionsAreClosedActiveOnesKept() throws {
        // A 3 s timeout against pings every 250 ms: a stall of the machine long enough to close
        // the busy connection is far beyond what this suite sees.
        let server = try EventLoopServer(configuration: .init(loops: 1, idleTimeout: .seconds(3))) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let idle = try client(server)
        let busy = try client(server)
        let start = ContinuousClock.now
        for _ in 0..<18 {  // 4.5 s of traffic, never 3 s apart
            try busy.sendAll("ping")
            #expect(try recvExactly(busy, 4) == Array("ping".utf8))
            usleep(250_000)
        }
        #expect(try recvToEnd(idle) == [])  // closed by the server
        #expect(ContinuousClock.now - start >= .seconds(3))
        try busy.sendAll("still")
        #expect(try recvExactly(busy, 5) == Array("still".utf8))
    }

    @Test func maxConnectionsHoldsTheRestInTheBacklog() throws {
        let server = try EventLoopServer(configuration: .init(loops: 2, maxConnections: 2)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let a = try client(server)
        let b = try client(server)
        for c in [a, b] {
            try c.sendAll("x")
            #expect(try recvExactly(c, 1) == Array("x".utf8))
        }
        let third = try client(server)  // the kernel completes the handshake; the server does not accept
        try third.sendAll("wait")
        third.timeout = .milliseconds(300)
        #expect(throws: SocketError.self) { _ = try third.recv(maxBytes: 4) }
        #expect(server.connectionCount == 2)
        a.close()
        third.timeout = .seconds(10)
        #expect(try recvExactly(third, 4) == Array("wait".utf8))
        #expect(server.connectionCount == 2)
    }

    @Test func gracefulShutdownLetsConnectionsFinish() throws {
        let server = try EventLoopServer(configuration: .init(loops: 2)) { EchoProtocol() }
        server.start()
        let port = server.serverAddress.port
        let c = try client(server)
        try c.sendAll("before")
        #expect(try recvExactly(c, 6) == Array("before".utf8))
        let stopping = Background { () -> Bool in server.shutdown(gracePeriod: .seconds(20)); return true }
        // New connections are refused once the listeners close...
        #expect(eventually { (try? Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(1))) == nil })
        // ...while the open one is still served.
        try c.sendAll("during")
        #expect(try recvExactly(c, 6) == Array("during".utf8))
        #expect(stopping.wait(timeout: .milliseconds(100)) == nil)
        c.close()
        #expect(stopping.wait() == true)
        #expect(server.connectionCount == 0)
    }

    @Test func shutdownClosesStragglersAfterTheGracePeriod() throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { EchoProtocol() }
        server.start()
        let c = try client(server)
        try c.sendAll("hi")
        #expect(try recvExactly(c, 2) == Array("hi".utf8))
        let start = ContinuousClock.now
        server.shutdown(gracePeriod: .milliseconds(200))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(30))
        #expect(try recvToEnd(c) == [])
    }

    @Test func anIdleServerDoesNotTurn() throws {
        let server = try EventLoopServer(configuration: .init(loops: 2)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)  // an idle connection, no idle timeout: nothing to wake for
        try c.sendAll("x")
        _ = try recvExactly(c, 1)
        usleep(50_000)
        let before = server.loops.map { $0.turns.load(ordering: .relaxed) }
        usleep(400_000)
        // A turn or two may still end late on a busy machine; a spinning loop makes thousands.
        let after = server.loops.map { $0.turns.load(ordering: .relaxed) }
        #expect(zip(before, after).allSatisfy { $1 - $0 <= 2 }, "\(before) → \(after)")
    }

    @Test func manyOpenCloseCyclesLeakNoDescriptor() throws {
        let server = try EventLoopServer(configuration: .init(loops: 2)) { EchoProtocol() }
        server.start()
        let port = server.serverAddress.port
        // Counted by port, not by the process's descriptor total: the suite runs in parallel, and
        // under a sanitizer's slowdown other tests' descriptors came and went by the hundred.
        let listeners = serverSockets(port: port)
        #expect(listeners == 2)  // one per loop (SO_REUSEPORT)
        for i in 0..<300 {
            let c = try client(server)
            if i % 3 == 0 { try c.sendAll("x"); _ = try recvExactly(c, 1) }
            c.close()
        }
        #expect(eventually { server.connectionCount == 0 })
        #expect(eventually { serverSockets(port: port) == listeners }, "accepted sockets left open")
        server.shutdown(gracePeriod: .zero)
        #expect(serverSockets(port: port) == 0)
    }
}
