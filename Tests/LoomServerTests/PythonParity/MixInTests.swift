import LoomServer
import LoomSockets
import LoomTestSupport
import Testing

/// Python's `class Server(ThreadingMixIn, TCPServer): pass`: a class picks how its requests run,
/// and every initialiser it inherits honours that unless told otherwise.
final class PooledTCPServer: TCPServer, @unchecked Sendable {  // @unchecked Sendable: adds no state
    override class var defaultConcurrency: Concurrency { .pool(workers: 3) }
}

/// A class whose own choice is `classDefault` itself: that means serial, never a loop of lookups.
final class UndecidedTCPServer: TCPServer, @unchecked Sendable {  // @unchecked Sendable: adds no state
    override class var defaultConcurrency: Concurrency { .classDefault }
}

@Suite struct MixInTests {
    @Test func everyInitialiserOfAThreadingClassMakesThreads() throws {
        let path = temporarySocketPath("mixin")
        let servers: [BaseServer] = [
            try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger),
            try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger, bindAndActivate: false),
            try ThreadingTCPServer(address: SocketAddress(host: "127.0.0.1", port: 0), handler: MyTCPHandler.self,
                                   logger: silentLogger),
            try ThreadingTCPServer(port: 0, logger: silentLogger) { request, address, server in
                MyTCPHandler(request: request, clientAddress: address, server: server)
            },
            try ThreadingUDPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger),
            try ThreadingUnixStreamServer(path: path, handler: MyTCPHandler.self, logger: silentLogger,
                                          bindAndActivate: false),
            try ThreadingUnixDatagramServer(path: path, handler: MyTCPHandler.self, logger: silentLogger,
                                            bindAndActivate: false),
        ]
        defer { servers.forEach { $0.serverClose() } }
        for server in servers {
            #expect(server.concurrency == .threading, "\(type(of: server))")
        }
    }

    @Test func plainClassesAreSerialAndAnExplicitChoiceWins() throws {
        let serial = try TCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        let udp = try UDPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        let told = try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, concurrency: .serial, logger: silentLogger)
        defer { [serial, udp, told].forEach { $0.serverClose() } }
        #expect(serial.concurrency == .serial)
        #expect(udp.concurrency == .serial)
        #expect(told.concurrency == .serial)
    }

    @Test func aSubclassChoosesItsOwnAndServesWithIt() throws {
        let server = try PooledTCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { server.serverClose() }
        #expect(server.concurrency == .pool(workers: 3))
        let running = try Running(server)
        #expect(try ask(server, "kiwi") == "KIWI")
        try running.stop()

        let undecided = try UndecidedTCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        defer { undecided.serverClose() }
        #expect(undecided.concurrency == .serial)
    }
}
