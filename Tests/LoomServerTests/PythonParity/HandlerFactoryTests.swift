#if canImport(Glibc)
import Glibc
#endif
import LoomServer
import LoomSockets
import LoomTestSupport
import Synchronization
import Testing

/// A handler configured per server: what Python does with `functools.partial(Handler, config)`
/// as `RequestHandlerClass` (test_socketserver builds handler classes in closures the same way).
final class Greeter: BaseRequestHandler {
    var greeting = ""
    override func handle() throws {
        try request.sendAll(greeting + String(decoding: try request.recv(maxBytes: 64), as: UTF8.self))
    }
}

@Suite struct HandlerFactoryTests {
    /// Two servers, two configurations, no global: each handler gets its own server's.
    @Test func eachServersFactoryCarriesItsOwnConfiguration() throws {
        func server(greeting: String) throws -> BaseServer {
            try ThreadingTCPServer(port: 0, logger: silentLogger) { request, clientAddress, server -> Greeter in
                let handler = Greeter(request: request, clientAddress: clientAddress, server: server)
                handler.greeting = greeting
                return handler
            }
        }
        let hello = try Running(server(greeting: "hello "))
        let hola = try Running(server(greeting: "hola "))
        #expect(hello.server.concurrency == .threading)
        #expect(hello.server.handlerType == Greeter.self)
        #expect(try ask(hello.server, "ana") == "hello ana")
        #expect(try ask(hola.server, "ana") == "hola ana")
        try hello.stop()
        try hola.stop()
    }

    /// A factory that throws: the error goes to `handleError`, the connection is closed, the
    /// server keeps serving.
    @Test func aThrowingFactoryReachesHandleError() throws {
        let calls = Atomic<Int>(0)
        let recorder = LogRecorder()
        let server = try TCPServer(port: 0, logger: recorder.logger) { request, clientAddress, server in
            if calls.add(1, ordering: .relaxed).newValue == 1 {
                throw SocketError("make handler", kind: .other, detail: "no handler for you")
            }
            return MyTCPHandler(request: request, clientAddress: clientAddress, server: server)
        }
        let running = try Running(server)
        #expect(try ask(server, "a") == "")
        #expect(try ask(server, "b") == "B")
        #expect(recorder.all.contains { $0.level == .error && ($0.metadata["error"] ?? "").contains("no handler for you") })
        try running.stop()
    }

    /// The factory forms exist for every server family, datagram and Unix included.
    @Test func datagramAndUnixServersTakeAFactory() throws {
        let udp = try ThreadingUDPServer(port: 0, logger: silentLogger) {
            UpperDatagram(request: $0, clientAddress: $1, server: $2)
        }
        defer { udp.serverClose() }
        udp.timeout = .seconds(10)  // bounds handleRequest() if the code under test waits
        let client = try Socket(type: .datagram)
        client.timeout = .seconds(10)
        try client.sendTo(Array("pear".utf8), to: udp.serverAddress)
        try udp.handleRequest()
        #expect(try client.recvFrom(maxBytes: 64).0 == Array("PEAR".utf8))

        let path = temporarySocketPath("factory")
        let unix = try UnixStreamServer(path: path, logger: silentLogger) {
            MyTCPHandler(request: $0, clientAddress: $1, server: $2)
        }
        let running = try Running(unix)
        #expect(try ask(unix, "plum") == "PLUM")
        try running.stop()
        #expect(access(path, F_OK) != 0)
    }
}
