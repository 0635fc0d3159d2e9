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

/// `TCPServer(addr, H, bind_and_activate=False)`, `server_bind()`, `server_activate()`, ported
/// from CPython's Lib/test/test_socketserver.py and the idiom its documentation gives.
@Suite struct BindAndActivateTests {
    /// The documented idiom: create unbound, set an option, then bind and activate by hand.
    @Test func anUnboundServerTakesOptionsThenBindsAndServes() throws {
        let server = try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger, bindAndActivate: false)
        defer { server.serverClose() }
        #expect(server.concurrency == .threading)
        #expect(server.serverAddress.port == 0)
        #expect(try server.socket.option(.reuseAddress) == false)
        try server.socket.setOption(.reuseAddress, true)
        try server.serverBind()
        #expect(server.serverAddress.port != 0)  // server_address = getsockname()
        #expect(try server.socket.option(.reuseAddress) == true)
        try server.serverActivate()
        let running = try Running(server)
        #expect(try ask(server, "mango") == "MANGO")
        try running.stop()
    }

    /// Serving before `serverActivate()` is refused with a clear error (Python would spin on
    /// `accept` failing with `EINVAL`); binding twice fails as in Python.
    @Test func servingOrBindingOutOfOrderThrows() throws {
        let server = try TCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger, bindAndActivate: false)
        defer { server.serverClose() }
        server.timeout = .milliseconds(50)  // bounds the test if handleRequest waited instead
        #expect(throws: ServerError.self) { try server.handleRequest() }
        // On its own thread, so that a loop that spun instead of throwing fails the join, not the run.
        let outcome = Protected<ServerError?>(nil)
        let serving = LoomThreading.Thread(name: "test-unbound-serve", daemon: true) {
            do throws(ServerError) { try server.serveForever() } catch { outcome.withLock { $0 = error } }
        }
        try serving.start()
        #expect(try serving.join(timeout: .seconds(10)))
        guard case .socket(let socketError)? = outcome.withLock({ $0 }) else {
            Issue.record("serveForever on an unbound server did not throw")
            return
        }
        #expect(socketError.kind == .invalidArgument)
        #expect("\(socketError)".contains("serverBind()"))
        try server.serverBind()
        #expect(throws: ServerError.self) { try server.handleRequest() }  // bound, not listening
        let again = Result { () throws(SocketError) in try server.serverBind() }
        guard case .failure(let error) = again else {
            Issue.record("binding twice succeeded")
            return
        }
        #expect(error.kind == .invalidArgument)
        try server.serverActivate()
        server.timeout = .milliseconds(10)
        try server.handleRequest()  // now it waits, times out and returns
    }

    /// Port of `test_tcpserver_bind_leak` (issue #22435): a server whose bind fails closes its
    /// socket, so a thousand failures do not exhaust descriptors.
    @Test func aFailedBindClosesTheSocket() throws {
        let holder = try TCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { holder.serverClose() }
        let before = directoryEntries("/proc/self/fd").count
        for _ in 0..<1024 {
            do {
                _ = try TCPServer(port: holder.serverAddress.port, handler: MyTCPHandler.self, logger: silentLogger)
                Issue.record("bound a port in use")
                return
            } catch {
                guard case .socket(let socketError) = error else { throw error }
                #expect(socketError.kind == .addressInUse)
            }
        }
        // Other tests open descriptors meanwhile; a leak would add 1,024.
        #expect(eventually { directoryEntries("/proc/self/fd").count - before < 512 })
    }

    /// A Unix server whose bind fails must not remove a path that is not its own.
    @Test func aFailedUnixBindLeavesSomeoneElsesPathAlone() throws {
        let path = temporarySocketPath("not-ours")
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        close(fd)
        defer { unlink(path) }
        #expect(throws: ServerError.self) {
            try UnixStreamServer(path: path, handler: MyTCPHandler.self, logger: silentLogger)
        }
        #expect(access(path, F_OK) == 0)
        let unbound = try UnixStreamServer(path: path, handler: MyTCPHandler.self, logger: silentLogger, bindAndActivate: false)
        unbound.serverClose()
        #expect(access(path, F_OK) == 0)
    }

    /// An unbound datagram server binds and answers once activated.
    @Test func anUnboundUDPServerServesAfterBinding() throws {
        let server = try UDPServer(port: 0, handler: UpperDatagram.self, logger: silentLogger, bindAndActivate: false)
        defer { server.serverClose() }
        server.timeout = .milliseconds(50)  // bounds the test if handleRequest waited instead
        #expect(throws: ServerError.self) { try server.handleRequest() }
        try server.serverBind()
        try server.serverActivate()
        server.timeout = .seconds(10)
        let client = try Socket(type: .datagram)
        client.timeout = .seconds(10)
        try client.sendTo(Array("kiwi".utf8), to: server.serverAddress)
        try server.handleRequest()
        #expect(try client.recvFrom(maxBytes: 64).0 == Array("KIWI".utf8))
    }
}

/// `handle_request()` waits for the smaller of `self.timeout` and `self.socket.gettimeout()`
/// (Lib/socketserver.py `BaseServer.handle_request`; python-semantics.md). CPython's own test
/// suite exercises it only through `timeout`; these port its contract for both.
@Suite struct HandleRequestTimeoutTests {
    // @unchecked Sendable: adds only Atomic and Mutex state to the server's.
    final class Timing: TCPServer, @unchecked Sendable {
        let timeouts = Atomic<Int>(0)
        override func handleTimeout() { timeouts.add(1, ordering: .relaxed) }
    }

    /// Runs `handleRequest()` on a thread; true when it returned within `bound`.
    func handleRequestReturns(_ server: BaseServer, within bound: Duration) throws -> Bool {
        let thread = LoomThreading.Thread(name: "test-handle-request", daemon: true) { try server.handleRequest() }
        try thread.start()
        return try thread.join(timeout: bound)
    }

    @Test func theSocketsTimeoutAloneBoundsTheWait() throws {
        let server = try Timing(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        server.socket.timeout = .milliseconds(100)
        #expect(try handleRequestReturns(server, within: .seconds(20)))
        #expect(server.timeouts.load(ordering: .relaxed) == 1)
        if server.isServing { try server.shutdown() }
        server.serverClose()
    }

    @Test func theSmallerOfTheTwoTimeoutsWins() throws {
        let server = try Timing(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        server.timeout = .seconds(3600)
        server.socket.timeout = .milliseconds(100)
        #expect(try handleRequestReturns(server, within: .seconds(20)))
        #expect(server.timeouts.load(ordering: .relaxed) == 1)

        let other = try Timing(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        other.timeout = .milliseconds(100)
        other.socket.timeout = .seconds(3600)
        #expect(try handleRequestReturns(other, within: .seconds(20)))
        #expect(other.timeouts.load(ordering: .relaxed) == 1)
        for s in [server, other] {
            if s.isServing { try s.shutdown() }
            s.serverClose()
        }
    }

    /// With a socket timeout set, a request that arrives is still handled (not timed out).
    @Test func aRequestWithinTheSocketsTimeoutIsServed() throws {
        let server = try Timing(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { server.serverClose() }
        server.socket.timeout = .seconds(30)
        let client = try connect(server)
        defer { client.close() }
        try client.sendAll("fig")
        try server.handleRequest()
        #expect(try readAll(client) == Array("FIG".utf8))
        #expect(server.timeouts.load(ordering: .relaxed) == 0)
    }
}
