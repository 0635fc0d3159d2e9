#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

extension SocketTests {
    @Suite struct UnixDomain {
        @Test func streamServerAndClient() throws {
            let path = temporarySocketPath("stream")
            let server = try Socket.createUnixServer(path: path)
            defer { server.close(); unlink(path) }
            #expect(try server.localAddress.path == path)
            let client = try Socket(family: .unix)
            try client.connect(to: try SocketAddress(unixPath: path))
            let (connection, _) = try server.accept()
            #expect(isCloseOnExec(connection.fileDescriptor))
            try client.sendAll("over unix")
            #expect(try connection.recv(maxBytes: 20) == Array("over unix".utf8))
        }

        @Test func datagramServerAndClient() throws {
            let path = temporarySocketPath("dgram")
            let clientPath = temporarySocketPath("dgram-client")
            let server = try Socket.createUnixServer(path: path, type: .datagram)
            defer { server.close(); unlink(path); unlink(clientPath) }
            let client = try Socket(family: .unix, type: .datagram)
            try client.bind(to: try SocketAddress(unixPath: clientPath))
            try client.sendTo(Array("dgram".utf8), to: try SocketAddress(unixPath: path))
            try client.sendTo([], to: try SocketAddress(unixPath: path))
            server.timeout = .seconds(5)
            let (data, sender) = try server.recvFrom(maxBytes: 100)
            #expect(data == Array("dgram".utf8))
            #expect(sender.path == clientPath)
            #expect(try server.recvFrom(maxBytes: 100).0 == [])
            try server.sendTo(Array("back".utf8), to: sender)
            client.timeout = .seconds(5)
            #expect(try client.recvFrom(maxBytes: 10).0 == Array("back".utf8))
        }

        @Test func theSocketFileOutlivesCloseAndOnlyAStaleOneIsReplaced() throws {
            let path = temporarySocketPath("stale")
            defer { unlink(path) }
            // As in Python, close leaves the file behind and a plain bind then fails.
            let first = try Socket.createUnixServer(path: path)
            first.close()
            #expect(access(path, F_OK) == 0)
            let plain = try Socket(family: .unix)
            expectError(.addressInUse) { try plain.bind(to: try SocketAddress(unixPath: path)) }
            // createUnixServer sees nothing listens and replaces the stale file.
            let second = try Socket.createUnixServer(path: path)
            // ...but never steals the path of a live server.
            expectError(.addressInUse) { _ = try Socket.createUnixServer(path: path) }
            second.close()
            // ...nor deletes a file that is not a socket.
            unlink(path)
            let fd = open(path, O_CREAT | O_WRONLY, 0o600)
            close(fd)
            expectError(.addressInUse) { _ = try Socket.createUnixServer(path: path) }
            #expect(access(path, F_OK) == 0)
        }

        @Test func connectingToNothingIsRefused() throws {
            let client = try Socket(family: .unix)
            expectError(.other) { try client.connect(to: try SocketAddress(unixPath: temporarySocketPath("none"))) }  // ENOENT
        }
    }
}
