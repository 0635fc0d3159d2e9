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
@Suite struct LoomServiceTests {
    let logger = Logger(label: "loom.lifecycle-test") { _ in SwiftLogNoOpLogHandler() }

    /// Graceful shutdown: each server stops accepting when its turn comes, its connections in
    /// flight keep working, and it finishes as soon as they close (long before the grace period).
    @Test func gracefulShutdownDrainsBothFamilies() async throws {
        let threaded = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
        let eventLoop = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
        let (threadedPort, eventLoopPort) = (threaded.serverAddress.port, eventLoop.serverAddress.port)
        let group = ServiceGroup(
            services: [LoomService(threaded, gracePeriod: .seconds(60)), LoomService(eventLoop, gracePeriod: .seconds(60))],
            logger: logger)
        let start = ContinuousClock.now
        try await withTimeout(.seconds(40)) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let held = try await offPool {
                    let held = try [threadedPort, eventLoopPort].map(connect(port:))
                    for socket in held { #expect(try echo(socket, "before") == "before\n") }
                    return held
                }
                await group.triggerGracefulShutdown()
                try await offPool {
                    #expect(eventuallyRefused(port: eventLoopPort), "the event-loop server still accepts")
                    #expect(try echo(held[1], "during") == "during\n")
                    let late = try connect(port: threadedPort)   // its turn has not come yet
                    #expect(try echo(late, "late") == "late\n")
                    late.close()
                    held[1].close()
                    #expect(eventuallyRefused(port: threadedPort), "the threaded server still accepts")
                    #expect(try echo(held[0], "during") == "during\n")
                    held[0].close()
                }
                try await tasks.waitForAll()
            }
        }
        #expect(ContinuousClock.now - start < .seconds(40), "drained when the clients left, not at the grace period")
        #expect(threaded.activeRequests == 0 && eventLoop.connectionCount == 0)
        threaded.serverClose()
    }

    /// Connections that never end are closed when the grace period runs out, and run() returns.
    @Test func gracePeriodBoundsTheDrain() async throws {
        let threaded = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
        let eventLoop = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
        let group = ServiceGroup(
            services: [LoomService(threaded, gracePeriod: .milliseconds(300)),
                       LoomService(eventLoop, gracePeriod: .milliseconds(300))],
            logger: logger)
        let ports = [threaded.serverAddress.port, eventLoop.serverAddress.port]
        try await withTimeout(.seconds(30)) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let held = try await offPool {
                    let held = try ports.map(connect(port:))
                    for socket in held { #expect(try echo(socket, "x") == "x\n") }
                    return held
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                // run() returned only after the drain: nothing is left open on either server.
                #expect(threaded.activeRequests == 0 && eventLoop.connectionCount == 0)
                try await offPool {
                    for socket in held {
                        #expect(closedByServer(socket))
                        socket.close()
                    }
                }
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
                service = LoomService(server, gracePeriod: .seconds(600))
                port = server.serverAddress.port
            } else {
                let server = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
                service = LoomService(server, gracePeriod: .seconds(600))
                port = server.serverAddress.port
            }
            let running = Task { try await service.run() }
            let held = try await offPool {
                let held = try connect(port: port)
                #expect(try echo(held, "y") == "y\n")
                return held
            }
            running.cancel()
            try await withTimeout(.seconds(30)) { try await running.value }
            try await offPool {
                #expect(closedByServer(held), "\(family)")
                #expect(eventuallyRefused(port: port), "\(family)")
                held.close()
            }
            threaded?.serverClose()
        }
    }

    /// The servers themselves are Services (5-second grace period).
    @Test func serversAreServices() async throws {
        let threaded = try ThreadingTCPServer(host: "127.0.0.1", port: 0, handler: LineEcho.self, logger: logger)
        let eventLoop = try EventLoopServer(configuration: .init(port: 0, loops: 1)) { EchoProtocol() }
        let ports = [threaded.serverAddress.port, eventLoop.serverAddress.port]
        let group = ServiceGroup(services: [threaded, eventLoop], logger: logger)
        try await withTimeout(.seconds(30)) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await offPool {
                    for port in ports {
                        let socket = try connect(port: port)
                        #expect(try echo(socket, "z") == "z\n")
                        socket.close()
                    }
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        try await offPool { for port in ports { #expect(eventuallyRefused(port: port)) } }
        threaded.serverClose()
    }
}
