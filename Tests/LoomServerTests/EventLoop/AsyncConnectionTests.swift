#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import LoomTestSupport
import Synchronization
import Testing
@testable import LoomServer
@testable import LoomSockets

@Suite("EventLoopServer, async/await handlers")
struct AsyncConnectionTests {
    @Test func echoesManyConnectionsOnTheLoopThreads() throws {
        let offLoop = Atomic<Int>(0)
        let holder = ServerHolder()
        let server = try EventLoopServer(configuration: .init(loops: 2)) { connection in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = try await buffer.withUnsafeMutableBytes { raw in UnsafeMutableRawBufferPointer(raw) }
                    .receive(on: connection)
                // Every resumption runs on one of the server's loop threads, not the global pool.
                if holder.server?.loops.contains(where: { $0.isOnLoopThread }) != true { offLoop.add(1, ordering: .relaxed) }
                if n == 0 { return }
                try await connection.sendAll(Array(buffer[..<n]))
            }
        }
        holder.server = server
        server.start()
        defer {
            server.shutdown(gracePeriod: .zero)
            holder.server = nil  // the handler holds the holder: without this the server never goes
        }
        let clients = try (0..<100).map { _ in try client(server) }
        for round in 0..<3 {
            for (i, c) in clients.enumerated() { try c.sendAll(pattern(50 + i, seed: round)) }
            for (i, c) in clients.enumerated() { #expect(try recvExactly(c, 50 + i) == pattern(50 + i, seed: round)) }
        }
        for c in clients { c.close() }
        #expect(eventually { server.connectionCount == 0 })
        #expect(offLoop.load(ordering: .relaxed) == 0)
    }

    @Test func recvArrayEndsWithEmptyOnEOFAndLargeRepliesAreDrained() throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { connection in
            var received: [UInt8] = []
            while true {
                let chunk = try await connection.recv(maxBytes: 1000)
                if chunk.isEmpty { break }
                #expect(chunk.count <= 1000)
                received += chunk
            }
            // After the peer's EOF we can still answer: 8 MB, more than the socket buffers hold, so
            // sendAll waits for the write buffer to drain (back-pressure) between chunks.
            for _ in 0..<8 { try await connection.sendAll(pattern(1 << 20, seed: received.count)) }
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        try c.sendAll(pattern(5000))
        try c.shutdown(.write)
        let reply = try recvToEnd(c)
        #expect(reply.count == 8 << 20)
        #expect(same(Array(reply[..<(1 << 20)]), pattern(1 << 20, seed: 5000)))
    }

    @Test func aThrowingHandlerIsReportedAndItsRepliesStillFlushed() throws {
        struct Refused: Error {}
        let log = ErrorLog()
        let server = try EventLoopServer(configuration: .init(loops: 1, errorHandler: log.handler)) { connection in
            try await connection.sendAll("before the error\n")
            throw Refused()
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        #expect(try recvToEnd(c) == Array("before the error\n".utf8))
        #expect(eventually { log.all.count == 1 })
    }

    @Test func idleTimeoutThrowsFromRecv() throws {
        let outcome = Protected<String?>(nil)
        let server = try EventLoopServer(configuration: .init(loops: 1, idleTimeout: .milliseconds(200))) { connection in
            do throws(SocketError) {
                _ = try await connection.recv(maxBytes: 10)
                outcome.withLock { $0 = "returned" }
            } catch {
                outcome.withLock { $0 = "\(error.kind)" }
            }
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        #expect(try recvToEnd(c) == [])
        #expect(eventually { outcome.withLock { $0 } == "timedOut" })
    }

    @Test func peerResetMakesSendAllThrow() throws {
        let outcome = Protected<String?>(nil)
        let server = try EventLoopServer(configuration: .init(loops: 1)) { connection in
            do {
                for _ in 0..<200 { try await connection.sendAll(pattern(1 << 20)) }
                outcome.withLock { $0 = "sent everything" }
            } catch {
                outcome.withLock { $0 = "threw" }
            }
        }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let c = try client(server)
        _ = try c.recv(maxBytes: 100)
        try c.setOption(.linger, Linger(.zero))
        c.close()
        #expect(eventually { outcome.withLock { $0 } == "threw" })
        #expect(eventually { server.connectionCount == 0 })
    }

    @Test func gracefulShutdownWaitsForHandlersThenEndsStragglers() throws {
        let server = try EventLoopServer(configuration: .init(loops: 2)) { connection in
            while true {
                let data = try await connection.recv(maxBytes: 100)
                if data.isEmpty { return }
                try await connection.sendAll(data)
            }
        }
        server.start()
        let c = try client(server)
        try c.sendAll("a")
        #expect(try recvExactly(c, 1) == Array("a".utf8))
        let start = ContinuousClock.now
        server.shutdown(gracePeriod: .milliseconds(300))  // the client never leaves: closed after grace
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(try recvToEnd(c) == [])
        #expect(server.loops.allSatisfy { $0.liveTasks == 0 })
    }
}

/// Lets a handler look at its own server (set right after init, before start).
final class ServerHolder: @unchecked Sendable {  // written once before the loops start
    var server: EventLoopServer?
}

extension UnsafeMutableRawBufferPointer {
    /// `connection.recv(into: self)`, callable on a pointer taken from an array that outlives the await.
    func receive(on connection: AsyncConnection) async throws(SocketError) -> Int {
        try await connection.recv(into: self)
    }
}
