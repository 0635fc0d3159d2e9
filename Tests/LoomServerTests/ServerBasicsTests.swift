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

@Suite struct ServerBasicsTests {
    @Test func courseServerUppercases() throws {
        let server = try ThreadingTCPServer(host: "localhost", port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        #expect(server.serverAddress.port != 0)
        #expect(server.serverAddress.host == "127.0.0.1")
        let running = try Running(server)
        #expect(try ask(server, "mango ") == "MANGO")
        #expect(try ask(server, "straße") == "STRASSE")
        try running.stop()
    }

    @Test func streamRequestHandlerAppliesTimeoutAndNoDelay() throws {
        final class Probe: StreamRequestHandler {
            override var timeout: Duration? { .milliseconds(1500) }
            override var disableNagleAlgorithm: Bool { true }
            override func handle() throws {
                let noDelay = try connection.option(.noDelay)
                try connection.sendAll("\(connection.timeout == .milliseconds(1500)) \(noDelay) \(clientAddress.host)")
            }
        }
        let server = try TCPServer(port: 0, handler: Probe.self, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "") == "true true 127.0.0.1")
        try running.stop()
    }

    @Test func handlerLifecycleOrderAndFinishAfterThrow() throws {
        final class Lifecycle: BaseRequestHandler {
            static let steps = Protected<[String]>([])
            override func setup() throws { Lifecycle.steps.withLock { $0.append("setup") } }
            override func handle() throws {
                Lifecycle.steps.withLock { $0.append("handle") }
                throw SocketError("handle", kind: .other, detail: "boom")
            }
            override func finish() throws { Lifecycle.steps.withLock { $0.append("finish") } }
        }
        final class Recording: TCPServer, @unchecked Sendable {
            override func handleError(_ error: any Error, clientAddress: SocketAddress) {
                Lifecycle.steps.withLock { $0.append("handleError") }
            }
        }
        let server = try Recording(port: 0, handler: Lifecycle.self, logger: silentLogger)
        let running = try Running(server)
        _ = try ask(server, "x")
        #expect(eventually { Lifecycle.steps.withLock { $0.count } == 4 })
        #expect(Lifecycle.steps.withLock { $0 } == ["setup", "handle", "finish", "handleError"])
        try running.stop()
    }

    @Test func throwingHandlerIsLoggedWithClientAddressAndServerKeepsServing() throws {
        final class Boom: BaseRequestHandler {
            override func handle() throws {
                let data = try request.recv(maxBytes: 1024)
                if data == Array("boom".utf8) { throw SocketError("parse", kind: .invalidArgument, detail: "bad request") }
                try request.sendAll("ok")
            }
        }
        let recorder = LogRecorder()
        let server = try ThreadingTCPServer(port: 0, handler: Boom.self, logger: recorder.logger)
        let running = try Running(server)
        let client = try connect(server)
        let clientPort = try client.localAddress.port
        try client.sendAll("boom")
        #expect(try readAll(client) == [])   // closed by the server after the error
        client.close()
        #expect(eventually { recorder.all.contains { $0.level == .error } })
        let entry = try #require(recorder.all.first { $0.level == .error })
        #expect(entry.message.contains("127.0.0.1:\(clientPort)"))
        #expect(entry.metadata["error"] == "parse: bad request")
        for _ in 0..<3 { #expect(try ask(server, "fine") == "ok") }
        try running.stop()
    }

    @Test func verifyRequestRejectionClosesTheConnectionAndNothingElse() throws {
        final class Counted: BaseRequestHandler {
            static let calls = Atomic<Int>(0)
            override func handle() throws {
                Counted.calls.add(1, ordering: .relaxed)
                _ = try request.recv(maxBytes: 16)   // read the request: closing on unread bytes resets
                try request.sendAll("served")
            }
        }
        final class Picky: ThreadingTCPServer, @unchecked Sendable {
            let allow = Atomic<Bool>(false)
            override func verifyRequest(_ request: Socket, clientAddress: SocketAddress) -> Bool {
                allow.load(ordering: .relaxed)
            }
        }
        let recorder = LogRecorder()
        let server = try Picky(port: 0, handler: Counted.self, logger: recorder.logger)
        let running = try Running(server)
        #expect(try ask(server, "hi") == "")
        #expect(Counted.calls.load(ordering: .relaxed) == 0)
        #expect(recorder.all.isEmpty)
        #expect(eventually { server.activeRequests == 0 && serverSockets(port: server.serverAddress.port) == 1 })
        server.allow.store(true, ordering: .relaxed)
        #expect(try ask(server, "hi") == "served")
        try running.stop()
    }

    @Test func bindErrorsAreThrownAtOnceWithoutLeaking() throws {
        let first = try TCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { first.serverClose() }
        let port = first.serverAddress.port
        let before = directoryEntries("/proc/self/fd").count
        #expect {
            try TCPServer(port: port, handler: MyTCPHandler.self, logger: silentLogger)
        } throws: { error in
            guard case .socket(let socketError) = error as? ServerError else { return false }
            return socketError.kind == .addressInUse && "\(error)".contains("address already in use")
        }
        #expect(throws: ServerError.self) { try TCPServer(host: "nonexistent.invalid", port: 0, handler: MyTCPHandler.self) }
        #expect(throws: ServerError.invalidConfiguration("maxConnections must be at least 1, not 0")) {
            try TCPServer(port: 0, handler: MyTCPHandler.self, configuration: ServerConfiguration(maxConnections: 0))
        }
        #expect(serverSockets(port: port) == 1)
        // Other tests open descriptors meanwhile; a leak per failed server would show as a steady climb.
        #expect(eventually { directoryEntries("/proc/self/fd").count < before + 50 })
    }

    @Test func reuseAddressAllowsRebindingWithConnectionsInTimeWait() throws {
        let configuration = ServerConfiguration(allowReuseAddress: true)
        let server = try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, configuration: configuration, logger: silentLogger)
        let port = server.serverAddress.port
        let running = try Running(server)
        #expect(try ask(server, "a") == "A")   // the server closes first: its side enters TIME_WAIT
        try running.stop()
        let again = try ThreadingTCPServer(port: port, handler: MyTCPHandler.self, configuration: configuration, logger: silentLogger)
        #expect(again.serverAddress.port == port)
        again.serverClose()
    }

    @Test func reusePortLetsTwoServersShareAPort() throws {
        let configuration = ServerConfiguration(allowReusePort: true)
        let one = try TCPServer(port: 0, handler: MyTCPHandler.self, configuration: configuration, logger: silentLogger)
        let two = try TCPServer(port: one.serverAddress.port, handler: MyTCPHandler.self, configuration: configuration, logger: silentLogger)
        #expect(one.serverAddress == two.serverAddress)
        one.serverClose()
        two.serverClose()
    }

    @Test func handleRequestWaitsForTimeoutThenCallsHandleTimeout() throws {
        final class Timing: TCPServer, @unchecked Sendable {
            let timeouts = Atomic<Int>(0)
            override func handleTimeout() { timeouts.add(1, ordering: .relaxed) }
        }
        let server = try Timing(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { server.serverClose() }
        server.timeout = .milliseconds(200)
        let start = ContinuousClock.now
        try server.handleRequest()
        let waited = ContinuousClock.now - start
        #expect(server.timeouts.load(ordering: .relaxed) == 1)
        #expect(waited >= .milliseconds(200) && waited < .seconds(10))
        // With a client waiting, it handles exactly that one request.
        let client = try connect(server)
        try client.sendAll("one")
        try server.handleRequest()
        #expect(try readAll(client) == Array("ONE".utf8))
        #expect(server.timeouts.load(ordering: .relaxed) == 1)
    }

    @Test func serveForeverTwiceOrAfterCloseThrows() throws {
        let server = try TCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        let running = try Running(server)
        #expect(eventually { server.isServing })
        #expect(throws: ServerError.alreadyServing) { try server.serveForever() }
        try running.stop()
        #expect(throws: ServerError.closed) { try server.serveForever() }
        #expect(server.socket.isClosed)
    }

    @Test func shutdownIsFinalAndHarmlessWhenNotServing() throws {
        let server = try TCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { server.serverClose() }
        try server.shutdown()                // not serving: returns at once
        let start = ContinuousClock.now
        try server.serveForever(pollInterval: .seconds(60))   // already shut down: returns at once
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}

@Suite struct StreamHandlerFilesTests {
    /// Python's line protocol: `for line in self.rfile: self.wfile.write(line.upper())`.
    final class LineUpper: StreamRequestHandler {
        override func handle() throws {
            while case let line = try rfile.readLine(), !line.isEmpty {
                try wfile.write(String(decoding: line, as: UTF8.self).uppercased())
            }
        }
    }

    final class Buffered: StreamRequestHandler {
        override var writeBufferSize: Int { 4096 }
        override func handle() throws {
            let first = try rfile.read(exactly: 3)
            try wfile.write(first)
            try wfile.write(" and more")   // sent by finish()
        }
    }

    @Test func rfileAndUnbufferedWfileAnswerLineByLine() throws {
        let server = try ThreadingTCPServer(port: 0, handler: LineUpper.self, logger: silentLogger)
        let running = try Running(server)
        let client = try connect(server)
        // Interactive: each line is answered before the next is sent (an unbuffered wfile).
        for word in ["one\n", "two\n"] {
            try client.sendAll(word)
            var got: [UInt8] = []
            while got.count < word.utf8.count { got += try client.recv(maxBytes: 100) }
            #expect(got == Array(word.uppercased().utf8))
        }
        try client.shutdown(.write)
        #expect(try readAll(client) == [])
        client.close()
        try running.stop()
    }

    @Test func bufferedWfileIsFlushedWhenTheRequestEnds() throws {
        let server = try ThreadingTCPServer(port: 0, handler: Buffered.self, logger: silentLogger)
        let running = try Running(server)
        #expect(try ask(server, "abcdef") == "abc and more")
        try running.stop()
    }
}
