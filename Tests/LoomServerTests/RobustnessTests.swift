#if canImport(Glibc)
import Glibc
#endif
@testable import LoomServer
import LoomSockets
import LoomTestSupport
import LoomThreading
import Synchronization
import Testing

@Suite struct RobustnessTests {
    /// 10,000 connections, every tenth reset by the client in the middle of its request (SO_LINGER 0),
    /// leave no descriptor and no thread behind.
    @Test(.timeLimit(.minutes(6)))
    func tenThousandConnectionsSomeResetLeaveNothingBehind() throws {
        final class Echo: StreamRequestHandler {
            override func handle() throws {
                var all: [UInt8] = []
                while true {   // reads the whole request, then answers
                    let bytes = try connection.recv(maxBytes: 1024)
                    if bytes.isEmpty { break }
                    all += bytes
                }
                try connection.sendAll(all)
            }
        }
        let configuration = ServerConfiguration(threadName: "leak-check")
        let server = try ThreadingTCPServer(port: 0, handler: Echo.self, configuration: configuration, logger: silentLogger)
        let port = server.serverAddress.port
        let running = try Running(server)
        #expect(serverSockets(port: port) == 1)
        let failures = Atomic<Int>(0)
        // A broken server fails the test, never hangs it; the margins are for Thread Sanitizer on a busy machine.
        let giveUp = ContinuousClock.now + .seconds(240)
        let clients = (0..<8).map { worker in
            LoomThreading.Thread(daemon: true) {
                for index in 0..<1250 {
                    if ContinuousClock.now > giveUp {
                        failures.add(1, ordering: .relaxed)
                        return
                    }
                    do {
                        let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(30))
                        if index % 10 == worker % 10 {
                            try socket.sendAll("half a requ")
                            try socket.setOption(.linger, Linger(.zero))
                            socket.close()   // RST in the middle of the request
                            continue
                        }
                        try socket.sendAll("request \(index)")
                        try socket.shutdown(.write)
                        if try readAll(socket) != Array("request \(index)".utf8) { failures.add(1, ordering: .relaxed) }
                        socket.close()
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        let start = ContinuousClock.now
        for client in clients { try client.start() }
        for client in clients { #expect(try client.join(timeout: .seconds(280))) }
        let elapsed = ContinuousClock.now - start
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(eventually { server.activeRequests == 0 })
        #expect(eventually { threads(named: "leak-check") == 0 })
        #expect(eventually { serverSockets(port: port) == 1 }, "server sockets left: \(serverSockets(port: port))")
        #expect(try ask(server, "still here") == "still here")
        try running.stop()
        #expect(serverSockets(port: port) == 0)
        print("10,000 connections in \(elapsed)")
    }

    @Test func clientVanishingWhileTheServerWritesDoesNotHurtTheServer() throws {
        final class Flood: BaseRequestHandler {
            override func handle() throws {
                let data = try request.recv(maxBytes: 16)
                if data == Array("ping".utf8) {
                    try request.sendAll("pong")
                    return
                }
                let chunk = [UInt8](repeating: 0x61, count: 65_536)
                while true { try request.sendAll(chunk) }   // until the peer is gone
            }
        }
        let recorder = LogRecorder()
        let server = try ThreadingTCPServer(port: 0, handler: Flood.self, logger: recorder.logger)
        let running = try Running(server)
        for _ in 0..<5 {
            let client = try connect(server)
            try client.sendAll("flood")
            _ = try client.recv(maxBytes: 1000)
            try client.setOption(.linger, Linger(.zero))
            client.close()
        }
        #expect(eventually { server.activeRequests == 0 })
        #expect(recorder.all.filter { $0.message == "client went away" }.count == 5)
        #expect(try ask(server, "ping") == "pong")
        try running.stop()
    }

    @Test func garbageAndSilentHangUpsKeepTheServerServing() throws {
        let server = try ThreadingTCPServer(port: 0, handler: MyTCPHandler.self, logger: silentLogger)
        let running = try Running(server)
        for round in 0..<20 {
            let socket = try connect(server)
            switch round % 3 {
            case 0: try socket.sendAll((0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            case 1: break   // connects and hangs up without a word
            default: try socket.sendAll([0xFF, 0xFE, 0x00, 0xC0])
            }
            socket.close()
        }
        #expect(try ask(server, "alive") == "ALIVE")
        #expect(eventually { server.activeRequests == 0 })
        try running.stop()
    }
}

@Suite struct AcceptBackoffTests {
    @Test(arguments: [EMFILE, ENFILE, ENOBUFS, ENOMEM])
    func resourceShortagesPauseAccepting(errno: Int32) {
        #expect(AcceptBackoff.shortage(SocketError("accept", errno: errno)) != nil)
    }

    @Test(arguments: [ECONNABORTED, EPROTO, EPERM, EINVAL])
    func aFailedConnectionIsRetriedAtOnce(errno: Int32) {
        #expect(AcceptBackoff.shortage(SocketError("accept", errno: errno)) == nil)
    }
}
