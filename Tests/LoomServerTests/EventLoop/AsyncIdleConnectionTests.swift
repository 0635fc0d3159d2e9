#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import Synchronization
import LoomTestSupport
import Testing
@testable import LoomServer
@testable import LoomSockets

/// Many async handlers suspended in `recv` at once (the shape of 10,000 idle connections, scaled to
/// what a test may hold), and the slimmer failure and send paths of `AsyncConnection`.
@Suite("EventLoopServer, many idle async connections")
struct AsyncIdleConnectionTests {
    @Test(.timeLimit(.minutes(1)))
    func manyIdleConnectionsAreAllAnsweredAfterwards() throws {
        // Few enough that tests counting descriptors in parallel are not disturbed; AsyncIdleMemoryTests
        // (LoomCLITests) holds 2,000 against the `loom` binary, out of this process.
        let count = 40
        let server = try EventLoopServer(configuration: .init(loops: 2)) { connection in
            while true {
                let data = try await connection.recv(maxBytes: 65536)
                if data.isEmpty { return }
                try await connection.sendAll(data)
            }
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        var clients: [Socket] = []
        defer { for c in clients { c.close() } }
        // Each is answered once, then left idle while the others connect.
        for i in 0..<count {
            let c = try client(server)
            clients.append(c)
            try c.sendAll(pattern(64, seed: i))
            #expect(try recvExactly(c, 64) == pattern(64, seed: i))
        }
        #expect(eventually { server.connectionCount == count })
        // Every idle handler is still waiting in recv, and answers now, in reverse order.
        for (i, c) in clients.enumerated().reversed() { try c.sendAll(pattern(100, seed: i + 7)) }
        for (i, c) in clients.enumerated().reversed() {
            #expect(try recvExactly(c, 100) == pattern(100, seed: i + 7))
        }
        for c in clients { c.close() }
        clients = []
        #expect(eventually { server.connectionCount == 0 })
    }

    @Test func aPeerThatVanishesWhileIdleEndsItsHandlerWithAnError() throws {
        let outcome = Protected<String?>(nil)
        let server = try EventLoopServer(configuration: .init(loops: 1)) { connection in
            do throws(SocketError) {
                while true {
                    let data = try await connection.recv(maxBytes: 100)
                    if data.isEmpty {
                        outcome.withLock { $0 = "eof" }
                        return
                    }
                    try await connection.sendAll(data)
                }
            } catch {
                outcome.withLock { $0 = "\(error.kind)" }
            }
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        try c.sendAll("hello")
        #expect(try recvExactly(c, 5) == Array("hello".utf8))
        try c.setOption(.linger, Linger(.zero))  // a reset, not a clean close
        c.close()
        #expect(eventually { outcome.withLock { $0 } != nil })
        #expect(outcome.withLock { $0 } == "connectionReset")
        #expect(eventually { server.connectionCount == 0 })
    }

    @Test func sendAllAfterTheConnectionIsGoneThrowsBrokenPipe() throws {
        let outcome = Protected<String?>(nil)
        let server = try EventLoopServer(configuration: .init(loops: 1)) { connection in
            _ = try await connection.recv(maxBytes: 10)
            connection.close()
            do throws(SocketError) {
                try await connection.sendAll("too late")
                outcome.withLock { $0 = "sent" }
            } catch {
                outcome.withLock { $0 = "\(error.kind)" }
            }
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        defer { c.close() }
        try c.sendAll("x")
        #expect(eventually { outcome.withLock { $0 } != nil })
        #expect(outcome.withLock { $0 } == "brokenPipe")
        #expect(try recvToEnd(c) == [])
    }
}
