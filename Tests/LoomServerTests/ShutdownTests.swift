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

/// Counts the requests it handles, per server port.
final class CountingHandler: BaseRequestHandler {
    static let counts = Protected<[Int: Int]>([:])
    static func count(_ server: BaseServer) -> Int { counts.withLock { $0[server.serverAddress.port] ?? 0 } }

    override func handle() throws {
        CountingHandler.counts.withLock { $0[server.serverAddress.port, default: 0] += 1 }
        let data = try request.recv(maxBytes: 1024)
        try request.sendAll(data)
    }
}

@Suite struct ShutdownTests {
    @Test(arguments: [Concurrency.serial, .threading, .pool(workers: 2)])
    func shutdownFromAnotherThreadIsPromptAndFinal(concurrency: Concurrency) throws {
        let server = try TCPServer(port: 0, handler: CountingHandler.self, concurrency: concurrency, logger: silentLogger)
        // A loop that noticed shutdown only when it next polled would take 60 s.
        let running = try Running(server, pollInterval: .seconds(60))
        #expect(try ask(server, "before") == "before")
        #expect(eventually { server.isServing })
        sleep(.milliseconds(100))   // the loop is asleep in poll
        let start = ContinuousClock.now
        try server.shutdown()
        // The wake-up descriptor ends the wait at once; the margin is for a loaded machine.
        #expect(ContinuousClock.now - start < .seconds(10), "took \(ContinuousClock.now - start)")
        #expect(!server.isServing)
        #expect(try running.thread.join(timeout: .seconds(10)))
        // The socket is still open (serverClose has not run): a client is queued but never handled.
        let late = try connect(server, timeout: .seconds(5))
        try late.sendAll("after")
        #expect { try late.recv(maxBytes: 10) } throws: { ($0 as? SocketError)?.kind == .timedOut }
        #expect(CountingHandler.count(server) == 1)
        try server.serveForever()   // shut down for good: returns at once
        server.serverClose()
        late.timeout = .seconds(5)
        #expect(throws: SocketError.self) { _ = try readAll(late) }   // reset by the closing listener
        #expect(CountingHandler.count(server) == 1)
    }

    @Test func shutdownFromASerialHandlerThrowsInsteadOfDeadlocking() throws {
        final class Stopper: BaseRequestHandler {
            override func handle() throws {
                _ = try request.recv(maxBytes: 16)
                do {
                    try server.shutdown()
                    try request.sendAll("returned")
                } catch let error as ServerError {
                    try request.sendAll(error == .shutdownFromServingThread ? "threw" : "other")
                }
            }
        }
        let server = try TCPServer(port: 0, handler: Stopper.self, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "stop", timeout: .seconds(5)) == "threw")
        #expect(try ask(server, "again", timeout: .seconds(5)) == "threw")   // still serving
        try running.stop()
    }

    @Test func shutdownFromAThreadingHandlerWorks() throws {
        final class Stopper: BaseRequestHandler {
            override func handle() throws {
                _ = try request.recv(maxBytes: 16)
                try server.shutdown()
                try request.sendAll("stopped")
            }
        }
        let server = try ThreadingTCPServer(port: 0, handler: Stopper.self, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "stop", timeout: .seconds(5)) == "stopped")
        #expect(try running.thread.join(timeout: .seconds(5)))
        server.serverClose()
    }

    @Test func serverCloseFromAHandlerDoesNotWaitForItself() throws {
        final class Closer: BaseRequestHandler {
            override func handle() throws {
                _ = try request.recv(maxBytes: 16)
                server.serverClose()
                try request.sendAll("closed")
            }
        }
        let server = try ThreadingTCPServer(port: 0, handler: Closer.self, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "close", timeout: .seconds(5)) == "closed")
        #expect(try running.thread.join(timeout: .seconds(5)))
        #expect(server.socket.isClosed)
    }

    @Test func gracefulShutdownLetsRequestsFinishThenClosesTheRest() throws {
        final class Mixed: BaseRequestHandler {
            override func handle() throws {
                let data = try request.recv(maxBytes: 16)
                if data == Array("slow".utf8) { sleep(.milliseconds(300)) }   // well inside the grace period
                if data == Array("hang".utf8) { _ = try request.recv(maxBytes: 16) }   // waits for a byte that never comes
                try request.sendAll(data)
            }
        }
        let server = try ThreadingTCPServer(port: 0, handler: Mixed.self, logger: silentLogger)
        let running = try Running(server)
        let slow = try connect(server)
        try slow.sendAll("slow")
        let hang = try connect(server)
        try hang.sendAll("hang")
        #expect(eventually { server.activeRequests == 2 })
        let start = ContinuousClock.now
        let drained = try server.shutdown(gracePeriod: .seconds(3))
        let elapsed = ContinuousClock.now - start
        #expect(!drained)
        #expect(elapsed >= .seconds(3) && elapsed < .seconds(15), "took \(elapsed)")
        #expect(try readAll(slow) == Array("slow".utf8))   // finished within the grace period
        #expect(server.activeRequests == 0)
        #expect(server.socket.isClosed)
        #expect(try running.thread.join(timeout: .seconds(2)))
        // Stopped accepting: nobody listens any more.
        #expect(throws: SocketError.self) { _ = try connect(server, timeout: .seconds(1)) }
        hang.close()
        slow.close()
    }

    @Test func gracefulShutdownOfAnIdleServerReturnsTrueAtOnce() throws {
        let server = try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "x") == "X")
        let start = ContinuousClock.now
        #expect(try server.shutdown(gracePeriod: .seconds(60)))
        #expect(ContinuousClock.now - start < .seconds(10))   // not the grace period: nothing to wait for
        #expect(try running.thread.join(timeout: .seconds(10)))
    }
}

/// Holds its handler until ``release`` is set (at most 10 s), ignoring its connection.
final class StuckHandler: BaseRequestHandler {
    static let release = LoomThreading.Event()
    override func handle() throws {
        _ = try request.recv(maxBytes: 16)
        _ = StuckHandler.release.wait(timeout: .seconds(10))
    }
}

@Suite struct ShutdownLimitTests {
    @Test func aHugeGracePeriodWaitsInsteadOfWrappingIntoThePast() throws {
        let gate = LoomThreading.Event()
        let server = try gatedServer { _ = gate.wait(timeout: .seconds(10)) }
        let running = try Running(server)
        let client = try connect(server)
        defer { client.close() }
        try client.sendAll("go")
        #expect(eventually { server.activeRequests == 1 })
        let result = Protected<Bool?>(nil)
        let stopper = LoomThreading.Thread(name: "test-stopper") {
            let drained = try server.shutdown(gracePeriod: .seconds(1 << 62))
            result.withLock { $0 = drained }
        }
        try stopper.start()
        sleep(.milliseconds(300))
        // Before the fix, now + 2^62 s wrapped to a past instant: shutdown aborted at once.
        #expect(result.withLock { $0 } == nil)
        gate.set()
        #expect(try readAll(client) == Array("done".utf8))
        #expect(try stopper.join(timeout: .seconds(5)))
        #expect(result.withLock { $0 } == true)
        #expect(try running.thread.join(timeout: .seconds(2)))
    }

    @Test func aHugePollIntervalDoesNotTrap() throws {
        let server = try TCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        let thread = LoomThreading.Thread(name: "test-serve", daemon: true) {
            try server.serveForever(pollInterval: .seconds(Int64.max))
        }
        try thread.start()
        #expect(try ask(server, "x") == "X")
        try server.shutdown()
        server.serverClose()
        #expect(try thread.join(timeout: .seconds(5)))
    }

    @Test func gracefulShutdownIsBoundedWhenASerialHandlerIgnoresItsConnection() throws {
        let server = try TCPServer(port: 0, handler: StuckHandler.self, logger: silentLogger)
        let running = try Running(server)
        let client = try connect(server)
        defer { client.close() }
        try client.sendAll("stuck")
        #expect(eventually { server.activeRequests == 1 })
        let start = ContinuousClock.now
        let drained = try server.shutdown(gracePeriod: .milliseconds(200))
        let elapsed = ContinuousClock.now - start
        // Grace period + at most one more second (the handler would hold it 10 s).
        #expect(!drained)
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        StuckHandler.release.set()
        // The loop ends once the handler returns, and then closes the socket itself.
        #expect(try running.thread.join(timeout: .seconds(5)))
        #expect(eventually { server.socket.isClosed })
    }

    @Test func poolWorkersExitAfterShutdownAndWhenTheServerIsReleased() throws {
        func serveOnce(name: String, shutDown: Bool) throws {
            let configuration = ServerConfiguration(threadName: name)
            let server = try TCPServer(port: 0, handler: MyTCPHandler.self, concurrency: .pool(workers: 3),
                                       configuration: configuration, logger: silentLogger)
            if shutDown {
                let running = try Running(server)
                #expect(try ask(server, "x") == "X")
                // The first worker may answer before the serving thread has started the other two.
                #expect(eventually { threads(named: name) == 3 })
                try server.shutdown()   // no serverClose()
                #expect(try running.thread.join(timeout: .seconds(5)))
                #expect(eventually { threads(named: name) == 0 }, "workers still alive after shutdown()")
            } else {
                let client = LoomThreading.Thread(name: "test-client") { _ = try ask(server, "y") }
                try client.start()
                try server.handleRequest()
                #expect(try client.join(timeout: .seconds(10)))
                #expect(eventually { threads(named: name) == 3 })
            }
        }
        let stopped = "pool-shutdown-\(getpid())"
        try serveOnce(name: stopped, shutDown: true)
        let released = "pool-released-\(getpid())"
        try serveOnce(name: released, shutDown: false)
        // The server is gone without shutdown() or serverClose(): its workers must go too.
        #expect(eventually { threads(named: released) == 0 }, "workers leaked by a released server")
    }
}
