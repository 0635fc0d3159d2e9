#if canImport(Glibc)
import Glibc
#endif
import LoomServer
import LoomSockets
import LoomTestSupport
import LoomThreading
import Testing

/// Python's documented UDP example: uppercase the datagram and send it back.
final class UpperDatagram: DatagramRequestHandler {
    override func handle() throws {
        write(String(decoding: packet, as: UTF8.self).uppercased())
    }
}

@Suite struct DatagramAndUnixTests {
    @Test(arguments: [Concurrency.serial, .threading])
    func udpServerAnswersEachDatagram(concurrency: Concurrency) throws {
        let server = try UDPServer(port: 0, handler: UpperDatagram.self, concurrency: concurrency, logger: silentLogger)
        let running = try Running(server)
        let client = try Socket(type: .datagram)
        client.timeout = .seconds(5)
        for word in ["mango", "straße", "x"] {
            try client.sendTo(Array(word.utf8), to: server.serverAddress)
            let (reply, from) = try client.recvFrom(maxBytes: 1024)
            #expect(String(decoding: reply, as: UTF8.self) == word.uppercased())
            #expect(from == server.serverAddress)
        }
        // A datagram larger than Python's 8192-byte max_packet_size arrives whole.
        let big = [UInt8](repeating: 0x62, count: 20_000)
        try client.sendTo(big, to: server.serverAddress)
        #expect(try client.recvFrom(maxBytes: 65_536).0.count == 20_000)
        try running.stop()
    }

    @Test func datagramHandlerSendsNothingWhenNothingWasWritten() throws {
        final class Quiet: DatagramRequestHandler {
            override func handle() throws {
                if packet != Array("speak".utf8) { return }
                write("spoken")
            }
        }
        let server = try UDPServer(port: 0, handler: Quiet.self, logger: silentLogger)
        let running = try Running(server)
        let client = try Socket(type: .datagram)
        client.timeout = .milliseconds(300)
        try client.sendTo(Array("hush".utf8), to: server.serverAddress)
        #expect(throws: SocketError.self) { _ = try client.recvFrom(maxBytes: 100) }
        client.timeout = .seconds(5)
        try client.sendTo(Array("speak".utf8), to: server.serverAddress)
        #expect(try client.recvFrom(maxBytes: 100).0 == Array("spoken".utf8))
        try running.stop()
    }

    @Test func unixStreamServerServesAndRemovesItsPath() throws {
        let path = temporarySocketPath("stream")
        unlink(path)
        let server = try ThreadingUnixStreamServer(path: path, handler: MyTCPHandler.self, logger: silentLogger)
        #expect(server.serverAddress.path == path)
        #expect(throws: ServerError.self) { try UnixStreamServer(path: path, handler: MyTCPHandler.self) }
        let running = try Running(server)
        #expect(try ask(server, "mango ") == "MANGO")
        try running.stop()
        #expect(access(path, F_OK) != 0)   // removed: Python leaves it and the next bind fails
        let again = try UnixStreamServer(path: path, handler: MyTCPHandler.self, logger: silentLogger)
        again.serverClose()
    }

    @Test func unixDatagramServerAnswersABoundClient() throws {
        let path = temporarySocketPath("dgram")
        let clientPath = temporarySocketPath("dgram-client")
        unlink(path)
        unlink(clientPath)
        defer { unlink(clientPath) }
        let server = try ThreadingUnixDatagramServer(path: path, handler: UpperDatagram.self, logger: silentLogger)
        let running = try Running(server)
        let client = try Socket(family: .unix, type: .datagram)
        try client.bind(to: SocketAddress(unixPath: clientPath))
        client.timeout = .seconds(5)
        try client.sendTo(Array("mango".utf8), to: server.serverAddress)
        #expect(try client.recvFrom(maxBytes: 100).0 == Array("MANGO".utf8))
        // An unbound client has no address to answer: no reply, no error, still serving.
        let anonymous = try Socket(family: .unix, type: .datagram)
        try anonymous.sendTo(Array("nobody".utf8), to: server.serverAddress)
        try client.sendTo(Array("again".utf8), to: server.serverAddress)
        #expect(try client.recvFrom(maxBytes: 100).0 == Array("AGAIN".utf8))
        try running.stop()
        #expect(access(path, F_OK) != 0)
    }
}

@Suite struct UnnamedClientAndConfigurationTests {
    @Test func anUnboundUnixDatagramClientGetsNoReplyAndNoError() throws {
        let path = temporarySocketPath("dgram-unnamed")
        unlink(path)
        let recorder = LogRecorder()
        let server = try UnixDatagramServer(path: path, handler: UpperDatagram.self, logger: recorder.logger)
        let running = try Running(server)
        let anonymous = try Socket(family: .unix, type: .datagram)
        try anonymous.sendTo(Array("nobody".utf8), to: server.serverAddress)
        #expect(eventually { recorder.all.contains { $0.message.contains("no reply") } })
        try running.stop()
        let problems = recorder.all.filter { $0.level >= .info }
        #expect(problems.isEmpty, "\(problems.map(\.message)) \(problems.map(\.metadata))")
    }

    @Test func aBadConfigurationLeavesNoSocketFileBehind() throws {
        let path = temporarySocketPath("bad-config")
        unlink(path)
        #expect(throws: ServerError.self) {
            try UnixStreamServer(path: path, handler: MyTCPHandler.self,
                                 configuration: ServerConfiguration(maxConnections: 0), logger: silentLogger)
        }
        #expect(throws: ServerError.self) {
            try UnixDatagramServer(path: path, handler: UpperDatagram.self, concurrency: .pool(workers: 0),
                                   logger: silentLogger)
        }
        #expect(access(path, F_OK) != 0, "a stale socket file was left at \(path)")
    }
}
