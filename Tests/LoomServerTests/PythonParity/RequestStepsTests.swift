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

/// Python's overridable request steps (`get_request`, `process_request`, `finish_request`,
/// `shutdown_request`, `close_request`), ported from CPython's Lib/test/test_socketserver.py.
@Suite struct RequestStepsTests {
    /// Records the steps a request goes through, each calling Python's default.
    // @unchecked Sendable: adds only Atomic and Mutex state to the server's.
    final class Steps: TCPServer, @unchecked Sendable {
        let log = Protected<[String]>([])
        let refuse = Atomic<Bool>(false)
        func note(_ step: String) { log.withLock { $0.append(step) } }

        override func getRequest() throws(SocketError) -> (request: ServerRequest, clientAddress: SocketAddress) {
            note("getRequest")
            return try super.getRequest()
        }
        override func verifyRequest(_ request: Socket, clientAddress: SocketAddress) -> Bool {
            note("verifyRequest")
            return !refuse.load(ordering: .relaxed)
        }
        override func processRequest(_ request: ServerRequest, clientAddress: SocketAddress) {
            note("processRequest")
            super.processRequest(request, clientAddress: clientAddress)
        }
        override func finishRequest(_ request: ServerRequest, clientAddress: SocketAddress) throws {
            note("finishRequest")
            try super.finishRequest(request, clientAddress: clientAddress)
        }
        override func shutdownRequest(_ request: ServerRequest) {
            note("shutdownRequest")
            super.shutdownRequest(request)
        }
        override func closeRequest(_ request: ServerRequest) {
            note("closeRequest")
            super.closeRequest(request)
        }
    }

    /// Port of `MiscTestCase.test_shutdown_request_called_if_verify_request_false` (issue #26309):
    /// a refused request is still shut down, once, and no handler runs.
    @Test func shutdownRequestIsCalledWhenVerifyRequestRefuses() throws {
        let server = try Steps(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { server.serverClose() }
        server.timeout = .seconds(10)  // bounds handleRequest() if the code under test waits
        server.refuse.store(true, ordering: .relaxed)
        let client = try connect(server)
        defer { client.close() }
        try server.handleRequest()
        #expect(server.log.withLock { $0 } == ["getRequest", "verifyRequest", "shutdownRequest", "closeRequest"])
        // The connection was closed by closeRequest: the client reads end-of-file.
        #expect(try client.recv(maxBytes: 16) == [])
    }

    /// `_handle_request_noblock` → `process_request` → `finish_request`, then `shutdown_request`
    /// → `close_request` (Lib/socketserver.py; test_socketserver's `SocketServerTest` servers
    /// override them the same way), each hook overridable and calling Python's default.
    @Test func aRequestGoesThroughEveryStepInPythonsOrder() throws {
        let server = try Steps(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { server.serverClose() }
        server.timeout = .seconds(10)  // bounds handleRequest() if the code under test waits
        let client = try connect(server)
        defer { client.close() }
        try client.sendAll("mango")
        try server.handleRequest()
        #expect(try readAll(client) == Array("MANGO".utf8))
        #expect(server.log.withLock { $0 } == [
            "getRequest", "verifyRequest", "processRequest", "finishRequest", "shutdownRequest", "closeRequest",
        ])
        #expect(server.activeRequests == 0)
    }

    /// A datagram server's request is `(data, socket)`: `closeRequest` must not close the
    /// server's own socket (Python's `UDPServer.close_request` does nothing), so it keeps serving.
    @Test func aDatagramRequestCarriesItsPacketAndKeepsTheSocketOpen() throws {
        // @unchecked Sendable: adds only Atomic and Mutex state to the server's.
        final class Packets: UDPServer, @unchecked Sendable {
            let packets = Protected<[String]>([])
            override func finishRequest(_ request: ServerRequest, clientAddress: SocketAddress) throws {
                packets.withLock { $0.append(String(decoding: request.packet ?? [], as: UTF8.self)) }
                #expect(request.socket === socket)
                try super.finishRequest(request, clientAddress: clientAddress)
            }
        }
        let server = try Packets(port: 0, handler: UpperDatagram.self, logger: silentLogger)
        defer { server.serverClose() }
        server.timeout = .seconds(10)  // bounds handleRequest() if the code under test waits
        let client = try Socket(type: .datagram)
        client.timeout = .seconds(10)
        for word in ["one", "two"] {
            try client.sendTo(Array(word.utf8), to: server.serverAddress)
            try server.handleRequest()
            #expect(try client.recvFrom(maxBytes: 64).0 == Array(word.uppercased().utf8))
        }
        #expect(server.packets.withLock { $0 } == ["one", "two"])
        #expect(!server.socket.isClosed)
    }

    /// Like CPython's `BaseErrorTestServer`: an error thrown by `finishRequest` goes to
    /// `handleError`, and the request is still shut down; the server goes on.
    @Test func anErrorFromFinishRequestReachesHandleErrorAndTheRequestIsClosed() throws {
        // @unchecked Sendable: adds only Atomic and Mutex state to the server's.
        final class Failing: TCPServer, @unchecked Sendable {
            let errors = Protected<[String]>([])
            let shutdowns = Atomic<Int>(0)
            override func finishRequest(_ request: ServerRequest, clientAddress: SocketAddress) throws {
                throw SocketError("finishRequest", kind: .other, detail: "refused by the test")
            }
            override func handleError(_ error: any Error, clientAddress: SocketAddress) {
                errors.withLock { $0.append("\(error)") }
            }
            override func shutdownRequest(_ request: ServerRequest) {
                shutdowns.add(1, ordering: .relaxed)
                super.shutdownRequest(request)
            }
        }
        let server = try Failing(port: 0, handler: MyTCPHandler.self, concurrency: .threading, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "x") == "")
        #expect(eventually { server.shutdowns.load(ordering: .relaxed) == 1 })
        #expect(server.errors.withLock { $0.count } == 1)
        #expect(server.errors.withLock { $0.first?.contains("refused by the test") } == true)
        #expect(eventually { server.activeRequests == 0 })
        try running.stop()
    }

    /// An overridden `getRequest` sees every connection first (the common Python idiom: set the
    /// accepted connection's timeout there); its errors drop only that request.
    @Test func getRequestCanAdjustOrDropAConnection() throws {
        // @unchecked Sendable: adds only Atomic and Mutex state to the server's.
        final class Adjusting: TCPServer, @unchecked Sendable {
            let calls = Atomic<Int>(0)
            override func getRequest() throws(SocketError) -> (request: ServerRequest, clientAddress: SocketAddress) {
                let got = try super.getRequest()
                if calls.add(1, ordering: .relaxed).newValue == 1 {
                    got.request.socket.close()
                    throw SocketError("getRequest", kind: .other, detail: "dropped by the test")
                }
                got.request.socket.timeout = .seconds(7)
                return got
            }
        }
        final class Report: BaseRequestHandler {
            override func handle() throws { try request.sendAll("\(request.timeout == .seconds(7))") }
        }
        let server = try Adjusting(port: 0, handler: Report.self, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "") == "")
        #expect(try ask(server, "") == "true")
        try running.stop()
    }
}
