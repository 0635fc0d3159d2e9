#if canImport(Glibc)
import Glibc
#endif
import Logging
import LoomServer
import LoomServiceLifecycle
import LoomSockets
import ServiceLifecycle
import Testing

/// Both server families in one ServiceGroup, in-process: graceful shutdown drains, cancellation
/// stops at once. The group stops its services one at a time, last first (swift-service-lifecycle's
/// order), so the event-loop server (listed second) goes first.
///
/// Client I/O runs on threads of its own (`offPool`) and reports back, so that the expectations
/// stay attached to their test. The bounds are minutes, not seconds: under a sanitizer, other
/// suites' synchronous tests can hold both Swift concurrency threads of this machine for a while,
/// and the group's tasks wait for one.
@Suite struct LoomServiceTests {
    let logger = Logger(label: "loom.lifecycle-test") { _ in SwiftLogNoOpLogHandler() }

    /// Graceful shutdown: each server stops accepting when its turn comes, its connections in
    /// flight keep working, and it finishes as soon as they close (long before the grace period).
    @Test func gracefulShutdownDrainsBothFamilies() async throws {
        let threaded = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
        let eventLoop = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
        let (threadedPort, eventLoopPort) = (threaded.serverAddress.port, eventLoop.serverAddress.port)
        let group = ServiceGroup(
            services: [LoomService(threaded, gracePeriod: .seconds(3600)), LoomService(eventLoop, gracePeriod: .seconds(3600))],
            logger: logger)
        let start = ContinuousClock.now
        try await withTimeout(.seconds(300)) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let held = try await offPool { try [threadedPort, eventLoopPort].map(connect(port:)) }
                #expect(try await offPool { try held.map { try echo($0, "before") } } == ["before\n", "before\n"])
                await group.triggerGracefulShutdown()
                #expect(try await offPool { eventuallyRefused(port: eventLoopPort) }, "the event-loop server still accepts")
                #expect(try await offPool { try echo(held[1], "during") } == "during\n")
                let late = try await offPool { () throws -> String in
                    let late = try connect(port: threadedPort)   // its turn has not come yet
                    defer { late.close() }
                    return try echo(late, "late")
                }
                #expect(late == "late\n")
                held[1].close()
                #expect(try await offPool { eventuallyRefused(port: threadedPort) }, "the threaded server still accepts")
                #expect(try await offPool { try echo(held[0], "during") } == "during\n")
                held[0].close()
                try await tasks.waitForAll()
            }
        }
        #expect(ContinuousClock.now - start < .seconds(300), "drained when the clients left, not at the grace period")
        #expect(threaded.activeRequests == 0 && eventLoop.connectionCount == 0)
        threaded.serverClose()
    }

    /// Connections that never end are closed when the grace period runs out, and run() returns
    /// only after that.
    @Test func gracePeriodBoundsTheDrain() async throws {
        let threaded = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
        let eventLoop = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
        let group = ServiceGroup(
            services: [LoomService(threaded, gracePeriod: .milliseconds(300)),
                       LoomService(eventLoop, gracePeriod: .milliseconds(300))],
            logger: logger)
        let ports = [threaded.serverAddress.port, eventLoop.serverAddress.port]
        try await withTimeout(.seconds(300)) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let held = try await offPool { try ports.map(connect(port:)) }
                #expect(try await offPool { try held.map { try echo($0, "x") } } == ["x\n", "x\n"])
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                // run() returned only after the drain: nothing is left open on either server.
                #expect(threaded.activeRequests == 0 && eventLoop.connectionCount == 0)
                #expect(try await offPool { held.map(closedByServer) } == [true, true])
                for socket in held { socket.close() }
            }
        }
        threaded.serverClose()
    }

    /// Cancelling the task stops at once, however long the grace period.
    @Test func cancellationStopsAtOnce() async throws {
        for family in ["threaded", "eventloop"] {
            let service: LoomService
            let port: Int
            var threaded: BaseServer?
            if family == "threaded" {
                let server = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
                threaded = server
                service = LoomService(server, gracePeriod: .seconds(3600))
                port = server.serverAddress.port
            } else {
                let server = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
                service = LoomService(server, gracePeriod: .seconds(3600))
                port = server.serverAddress.port
            }
            let running = Task { try await service.run() }
            let held = try await offPool { try connect(port: port) }
            #expect(try await offPool { try echo(held, "y") } == "y\n")
            running.cancel()
            try await withTimeout(.seconds(300)) { try await running.value }
            #expect(try await offPool { closedByServer(held) }, "\(family)")
            #expect(try await offPool { eventuallyRefused(port: port) }, "\(family)")
            held.close()
            threaded?.serverClose()
        }
    }

    /// The servers themselves are Services (5-second grace period).
    @Test func serversAreServices() async throws {
        let threaded = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
        let eventLoop = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
        let ports = [threaded.serverAddress.port, eventLoop.serverAddress.port]
        let group = ServiceGroup(services: [threaded, eventLoop], logger: logger)
        try await withTimeout(.seconds(300)) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let replies = try await offPool {
                    try ports.map { port in
                        let socket = try connect(port: port)
                        defer { socket.close() }
                        return try echo(socket, "z")
                    }
                }
                #expect(replies == ["z\n", "z\n"])
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(try await offPool { ports.map { eventuallyRefused(port: $0) } } == [true, true])
        threaded.serverClose()
    }
}
