#if canImport(Glibc)
import Glibc
#endif
@testable import LoomServer
@testable import LoomSockets
import LoomSystem
import LoomTestSupport
import LoomThreading
import Synchronization
import Testing

/// Faults injected on demand through the foundation's seam (LoomSystem's `FaultInjection`), on the
/// descriptors of one server only, in each engine: threads (`ThreadingTCPServer`), the event loop
/// with a Protocol handler, and the event loop with an async handler.
@Suite("Fault injection, every engine")
struct FaultInjectionTests {
    enum Engine: String, CaseIterable, Sendable { case threading, eventloop, async }

    /// Echoes everything until the client half-closes.
    final class Echo: StreamRequestHandler {
        override func handle() throws {
            while true {
                let bytes = try connection.recv(maxBytes: 65_536)
                if bytes.isEmpty { return }
                try connection.sendAll(bytes)
            }
        }
    }

    /// A running echo server of `engine` whose descriptors (listener, and for the event loop its
    /// epoll and wake-up descriptors) are under `plan`; `stop()` removes the plan and stops it.
    final class Harness: @unchecked Sendable {  // built and stopped on the test's thread only
        let port: Int
        private var stopAction: () -> Void = {}
        private var marked: [Int32] = []

        init(_ engine: Engine, plan: FaultPlan, markLoop: Bool = false, log: LogRecorder? = nil, errors: ErrorLog? = nil) throws {
            let logger = log?.logger ?? silentLogger
            switch engine {
            case .threading:
                let server = try ThreadingTCPServer(port: 0, handler: Echo.self, logger: logger)
                marked = [server.socket.fileDescriptor]
                port = server.serverAddress.port
                for fd in marked { FaultInjection.apply(plan, to: fd) }
                let running = try Running(server)
                stopAction = { try? running.stop() }
            case .eventloop, .async:
                let configuration = EventLoopServer.Configuration(loops: 1, errorHandler: errors?.handler)
                let server: EventLoopServer
                if engine == .eventloop {
                    server = try EventLoopServer(configuration: configuration, logger: logger) { EchoProtocol() }
                } else {
                    server = try EventLoopServer(configuration: configuration, logger: logger) { connection in
                        while true {
                            let bytes = try await connection.recv(maxBytes: 65_536)
                            if bytes.isEmpty { return }
                            try await connection.sendAll(bytes)
                        }
                    }
                }
                let loop = server.loops[0]
                marked = [try #require(loop.acceptor.listener).fileDescriptor]
                if markLoop { marked += [loop.selector.fileDescriptor, loop.waker.fd] }
                port = server.serverAddress.port
                for fd in marked { FaultInjection.apply(plan, to: fd) }
                server.start()
                stopAction = { server.shutdown(gracePeriod: .seconds(5)) }
            }
        }

        func stop() {
            // Plans go first: once stopAction closes a descriptor, its number may already be
            // another test's, with that test's plan, which a later remove would take away.
            for fd in marked { FaultInjection.remove(from: fd) }
            stopAction()
        }
    }

    /// Sends `payload` from another thread, half-closes, and returns everything echoed back.
    static func echo(_ payload: [UInt8], port: Int) throws -> [UInt8] {
        let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(20))
        defer { socket.close() }
        let sender = Background<Bool> {
            do {
                try socket.sendAll(payload)
                try socket.shutdown(.write)
                return true
            } catch {
                return false
            }
        }
        let received = try recvToEnd(socket)
        #expect(sender.wait() == true)
        return received
    }

    @Test(arguments: Engine.allCases)
    func shortReadsAndWritesEveryTimeStillDeliverEveryByte(engine: Engine) throws {
        // Every recv returns at most 5 bytes and every send takes at most 3, on the server's side.
        let plan = FaultPlan { call, _ in
            switch call {
            case .send: .transferAtMost(3)
            case .recv: .transferAtMost(5)
            default: nil
            }
        }
        let server = try Harness(engine, plan: plan)
        defer { server.stop() }
        let payload = pattern(48 * 1024, seed: 7)
        let echoed = try Self.echo(payload, port: server.port)
        #expect(same(echoed, payload), "\(engine): \(echoed.count) of \(payload.count) bytes came back")
        #expect(plan.injected > 20_000, "the plan fired \(plan.injected) times")
    }

    @Test(arguments: Engine.allCases)
    func anInterruptionInEveryCallChangesNothingAUserCanSee(engine: Engine) throws {
        let plan = FaultPlan.interruptEveryOtherCall()
        let server = try Harness(engine, plan: plan, markLoop: true)
        defer { server.stop() }
        for round in 0..<3 {
            let payload = pattern(100_000, seed: round)
            let echoed = try Self.echo(payload, port: server.port)
            #expect(same(echoed, payload), "\(engine) round \(round): \(echoed.count) bytes")
        }
        #expect(plan.injected > 10, "the plan fired \(plan.injected) times")
    }

    @Test(arguments: Engine.allCases)
    func runningOutOfDescriptorsOnAcceptBacksOffAndRecovers(engine: Engine) throws {
        let accepts = CallCounter()
        let plan = FaultPlan { call, _ in
            guard call == .accept else { return nil }
            return accepts.next() <= 3 ? .error(EMFILE) : nil
        }
        let log = LogRecorder()
        let errors = ErrorLog()
        let server = try Harness(engine, plan: plan, log: log, errors: errors)
        defer { server.stop() }
        let payload = pattern(1000, seed: 3)
        #expect(same(try Self.echo(payload, port: server.port), payload))
        #expect(plan.injected == 3)
        switch engine {
        case .threading:
            let warnings = log.all.filter { $0.message.contains("out of file descriptors") }
            // Once a second at most: a second report only if a busy machine spread the three
            // EMFILEs (30 ms apart) over more than a second.
            #expect((1...2).contains(warnings.count), "\(log.all.map(\.message))")
        case .eventloop, .async:
            #expect((1...2).contains(errors.all.count), "reported at most once a second: \(errors.all)")
            #expect(errors.all.first?.contains("EMFILE") == true || errors.all.first?.contains("open files") == true,
                    "\(errors.all)")
        }
    }

    /// The server's first send to a connection moves 1,000 bytes, every later one fails with
    /// ECONNRESET: the handler hears of it exactly once, and the connection is closed and forgotten.
    @Test(arguments: Engine.allCases)
    func aResetInTheMiddleOfAWriteReachesTheHandlerOnceAndLeaksNothing(engine: Engine) throws {
        let sends = CallCounter()
        let plan = FaultPlan { call, _ in
            guard call == .send else { return nil }
            return sends.next() == 1 ? .transferAtMost(1000) : .error(ECONNRESET)
        }
        let reports = CallCounter()
        let lost = LostLog()
        let big = pattern(1 << 20, seed: 5)
        let port: Int
        let stop: () -> Void
        let isIdle: () -> Bool
        switch engine {
        case .threading:
            final class Writer: StreamRequestHandler {
                override func handle() throws {
                    _ = try connection.recv(maxBytes: 16)
                    try connection.sendAll(pattern(1 << 20, seed: 5))
                }
            }
            final class Counting: ThreadingTCPServer, @unchecked Sendable {  // the counter is Sendable
                var reports: CallCounter?
                override func handleError(_ error: any Error, clientAddress: SocketAddress) {
                    reports?.next()
                    super.handleError(error, clientAddress: clientAddress)
                }
            }
            let server = try Counting(port: 0, handler: Writer.self, logger: silentLogger)
            server.reports = reports
            FaultInjection.apply(plan, to: server.socket.fileDescriptor)
            let running = try Running(server)
            port = server.serverAddress.port
            stop = { FaultInjection.remove(from: server.socket.fileDescriptor); try? running.stop() }
            isIdle = { server.activeRequests == 0 }
        case .eventloop, .async:
            final class Writer: StreamProtocol {
                let lost: LostLog
                var transport: Transport?
                init(_ lost: LostLog) { self.lost = lost }
                func connectionMade(_ transport: Transport) { self.transport = transport }
                func dataReceived(_ data: UnsafeRawBufferPointer) { transport?.write(pattern(1 << 20, seed: 5)) }
                func connectionLost(_ error: (any Error)?) { lost.record(error) }
            }
            let configuration = EventLoopServer.Configuration(loops: 1, errorHandler: { _, _ in reports.next() })
            let server: EventLoopServer
            if engine == .eventloop {
                server = try EventLoopServer(configuration: configuration) { Writer(lost) }
            } else {
                server = try EventLoopServer(configuration: configuration) { connection in
                    _ = try await connection.recv(maxBytes: 16)
                    try await connection.sendAll(big)
                }
            }
            let listener = try #require(server.loops[0].acceptor.listener).fileDescriptor
            FaultInjection.apply(plan, to: listener)
            server.start()
            port = server.serverAddress.port
            stop = { FaultInjection.remove(from: listener); server.shutdown(gracePeriod: .seconds(5)) }
            isIdle = { server.connectionCount == 0 }
        }
        defer { stop() }
        let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(20))
        defer { socket.close() }
        try socket.sendAll("go")
        var received = 0
        while true {  // the server closes its end once the injected reset is seen
            guard let bytes = try? socket.recv(maxBytes: 65_536), !bytes.isEmpty else { break }
            received += bytes.count
        }
        #expect(received <= 1000)
        #expect(eventually { isIdle() }, "the connection was not forgotten")
        switch engine {
        case .threading, .async:
            #expect(eventually { reports.count == 1 })
            sleep(.milliseconds(100))
            #expect(reports.count == 1, "reported \(reports.count) times")
        case .eventloop:
            #expect(eventually { lost.errors.count == 1 })
            #expect(lost.errors.first?.contains("reset") == true, "\(lost.errors)")
            #expect(reports.count == 0)
        }
        #expect(sends.count >= 2)
    }
}

/// A counter a fault plan's closure can share across threads.
final class CallCounter: Sendable {
    private let value = Atomic<Int>(0)
    @discardableResult
    func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    var count: Int { value.load(ordering: .relaxed) }
}

/// Records `connectionLost` errors from a loop thread.
final class LostLog: Sendable {
    private let entries = Protected<[String]>([])
    func record(_ error: (any Error)?) { entries.withLock { $0.append(error.map { "\($0)" } ?? "nil") } }
    var errors: [String] { entries.withLock { $0 } }
}
