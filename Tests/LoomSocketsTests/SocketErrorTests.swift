#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LoomSockets

extension SocketTests {
    @Suite struct Errors {
        @Test func refusedConnectIsOneClearLine() throws {
            // A port that was just free: bind, read the port, close, connect.
            let probe = try Socket.createServer(port: 0)
            let address = try probe.localAddress
            probe.close()
            let socket = try Socket()
            do {
                try socket.connect(to: address)
                Issue.record("connect succeeded to a closed port")
            } catch {
                #expect(error.kind == .connectionRefused)
                #expect(error.errno == ECONNREFUSED)
                #expect(error.operation == "connect")
                #expect(error.address == address)
                #expect("\(error)" == "connect to \(address): connection refused")
            }
            expectError(.connectionRefused) { _ = try Socket.createConnection(host: "127.0.0.1", port: address.port) }
        }

        @Test func addressInUseIsReportedAtOnce() throws {
            let first = try Socket.createServer(port: 0)
            let address = try first.localAddress
            let second = try Socket()
            do {
                try second.bind(to: address)
                Issue.record("second bind succeeded")
            } catch {
                #expect(error.kind == .addressInUse)
                #expect("\(error)" == "bind to \(address): address already in use")
            }
        }

        @Test func errnoMapsToKinds() {
            #expect(SocketError("x", errno: ECONNRESET).kind == .connectionReset)
            #expect(SocketError("x", errno: EPIPE).kind == .brokenPipe)
            #expect(SocketError("x", errno: EAGAIN).kind == .wouldBlock)
            #expect(SocketError("x", errno: EMFILE).kind == .tooManyOpenFiles)
            #expect(SocketError("x", errno: ENOTCONN).kind == .notConnected)
            #expect(SocketError("x", errno: EIO).kind == .other)
        }
    }
}
