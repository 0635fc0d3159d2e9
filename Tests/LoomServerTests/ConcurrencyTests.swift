#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import LoomServer
import LoomSockets
import LoomTestSupport
import LoomThreading
import Synchronization
import Testing

/// Answers after a pause: 0.5 s, or 0.2 s when the message is "short".
final class SlowHandler: BaseRequestHandler {
    override func handle() throws {
        let data = try request.recv(maxBytes: 1024)
        sleep(data == Array("short".utf8) ? .milliseconds(200) : .milliseconds(500))
        try request.sendAll("done")
    }
}

/// Runs `count` clients at once, each asking `message`; returns the elapsed time and the answers.
func burst(_ server: BaseServer, clients count: Int, message: String) throws -> (Duration, [String]) {
    let answers = Protected<[String]>([])
    let start = ContinuousClock.now
    let threads = (0..<count).map { _ in
        LoomThreading.Thread(daemon: true) {
            let answer = try ask(server, message, timeout: .seconds(30))
            answers.withLock { $0.append(answer) }
        }
    }
    for thread in threads { try thread.start() }
    for thread in threads { _ = try thread.join(timeout: .seconds(40)) }
    return (ContinuousClock.now - start, answers.withLock { $0 })
}

@Suite struct ConcurrencyTests {
    @Test func threadingServesTwentySlowClientsAtOnce() throws {
        // Each handler answers only once all 20 are inside together: one at a time, the first
        // would wait out the barrier's 30 s and answer nothing.
        let together = try Barrier(parties: 20, timeout: .seconds(30))
        let server = try gatedServer { _ = try together.wait() }
        let running = try Running(server)
        let (_, answers) = try burst(server, clients: 20, message: "long")
        #expect(answers == Array(repeating: "done", count: 20))
        try running.stop()
    }

    @Test func serialServesSlowClientsOneByOne() throws {
        let server = try TCPServer(port: 0, handler: SlowHandler.self, logger: silentLogger)
        let running = try Running(server)
        let (elapsed, answers) = try burst(server, clients: 10, message: "short")
        #expect(answers == Array(repeating: "done", count: 10))
        // 10 × 0.2 s one after another: about 2 s, never less.
        #expect(elapsed >= .milliseconds(1900) && elapsed < .seconds(15), "took \(elapsed)")
        try running.stop()
    }

    @Test(arguments: [false, true])
    func silentClientHoldsUpASerialServerOnly(threading: Bool) throws {
        let server = try TCPServer(port: 0, handler: MyTCPHandler.self,
                                   concurrency: threading ? .threading : .serial, logger: silentLogger)
        let running = try Running(server)
        let silent = try connect(server)
        #expect(eventually { server.activeRequests == 1 })
        let other = try connect(server, timeout: .milliseconds(700))
        try other.sendAll("next")
        if threading {
            other.timeout = .seconds(10)   // served at once; the margin is for a loaded machine
            #expect(try readAll(other) == Array("NEXT".utf8))
        } else {
            #expect { try other.recv(maxBytes: 10) } throws: { ($0 as? SocketError)?.kind == .timedOut }
            silent.close()   // the serial server gets to the next client only now
            other.timeout = .seconds(10)
            #expect(try readAll(other) == Array("NEXT".utf8))
        }
        silent.close()
        other.close()
        try running.stop()
    }

    @Test func poolOfThreeHeldByThreeIdleClientsMakesTheFourthWait() throws {
        let configuration = ServerConfiguration(threadName: "pool-of-3")
        let server = try TCPServer(port: 0, handler: MyTCPHandler.self, concurrency: .pool(workers: 3, backlog: 0),
                                   configuration: configuration, logger: silentLogger)
        let running = try Running(server)
        let idle = try (0..<3).map { _ in try connect(server) }
        #expect(eventually { server.activeRequests == 3 })
        let fourth = try connect(server, timeout: .milliseconds(600))
        try fourth.sendAll("fourth")
        #expect { try fourth.recv(maxBytes: 10) } throws: { ($0 as? SocketError)?.kind == .timedOut }
        #expect(server.activeRequests == 3)   // not even accepted: waiting in the listen backlog
        #expect(threads(named: "pool-of-3") == 3)
        idle[0].close()
        fourth.timeout = .seconds(10)
        #expect(try readAll(fourth) == Array("FOURTH".utf8))
        for socket in idle { socket.close() }
        try running.stop()
        #expect(eventually { threads(named: "pool-of-3") == 0 })
    }

    @Test func maxConnectionsBoundsThreadsUnderFiveHundredIdleClients() throws {
        let configuration = ServerConfiguration(maxConnections: 10, threadName: "max-10")
        let server = try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, configuration: configuration, logger: silentLogger)
        let running = try Running(server)
        var idle: [Socket] = []
        for _ in 0..<500 { idle.append(try connect(server)) }
        #expect(eventually { server.activeRequests == 10 })
        sleep(.milliseconds(200))   // give a runaway accept loop time to show itself
        #expect(server.activeRequests == 10)
        #expect(threads(named: "max-10") <= 10)
        #expect(serverSockets(port: server.serverAddress.port) == 11)   // listener + 10 accepted
        // Each idle client, once it speaks, is served in turn.
        for socket in idle { try socket.sendAll("x") }
        for socket in idle { #expect(try readAll(socket) == Array("X".utf8)) }
        for socket in idle { socket.close() }
        #expect(eventually { server.activeRequests == 0 && threads(named: "max-10") == 0 })
        try running.stop()
    }

    @Test func idleTimeoutClosesSilentPeersWhileOthersAreServed() throws {
        let configuration = ServerConfiguration(idleTimeout: .milliseconds(300))
        let recorder = LogRecorder()
        let server = try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, configuration: configuration, logger: recorder.logger)
        let running = try Running(server)
        let silent = try (0..<5).map { _ in try connect(server) }
        let start = ContinuousClock.now
        for _ in 0..<5 { #expect(try ask(server, "busy") == "BUSY") }
        for socket in silent { #expect(try readAll(socket) == []) }   // closed by the server
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "took \(elapsed)")
        #expect(recorder.all.filter { $0.message.contains("silent") }.count == 5)
        #expect(!recorder.all.contains { $0.level == .error })
        try running.stop()
    }

    @Test func serverCloseWaitsForHandlersUnlessDaemon() throws {
        for daemon in [false, true] {
            // The handler answers only when the test opens its gate, so "did serverClose wait" is a
            // question of order, never of how long anything took.
            let gate = LoomThreading.Event()
            let server = try gatedServer(concurrency: .threading(daemonThreads: daemon)) { _ = gate.wait(timeout: .seconds(60)) }
            let running = try Running(server)
            let client = try connect(server)
            try client.sendAll("long")
            #expect(eventually { server.activeRequests == 1 })
            let closed = LoomThreading.Event()
            let closer = LoomThreading.Thread(daemon: true) {
                try server.shutdown()
                server.serverClose()
                closed.set()
            }
            try closer.start()
            if daemon {
                #expect(closed.wait(timeout: .seconds(30)), "daemon: serverClose waited for the handler")
                #expect(server.activeRequests == 1)   // still inside, gate shut
                gate.set()
            } else {
                #expect(!closed.wait(timeout: .milliseconds(300)), "blocking: serverClose did not wait")
                gate.set()
                #expect(closed.wait(timeout: .seconds(30)))
                #expect(server.activeRequests == 0)
            }
            #expect(try readAll(client) == Array("done".utf8))
            _ = try running.thread.join(timeout: .seconds(5))
            _ = try closer.join(timeout: .seconds(5))
        }
    }
}
