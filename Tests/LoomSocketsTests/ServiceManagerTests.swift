#if canImport(Glibc)
import Glibc
#endif
@testable import LoomSockets
import LoomTestSupport
import Testing

/// Socket activation in-process: descriptors placed where a service manager would put them
/// (a free block of high numbers stands in for 3, 4, 5…), and the environment handed in.
@Suite struct ServiceManagerTests {
    /// Moves `sockets`' descriptors to `count` consecutive free numbers, without close-on-exec
    /// (as a service manager leaves them), and returns the first.
    func placeConsecutively(_ sockets: [Socket]) throws -> Int32 {
        // F_DUPFD takes the lowest free number at or above its argument atomically, so tests
        // running in parallel never pick the same one; retry higher until the block is consecutive.
        var base: Int32 = 700
        while true {
            var placed: [Int32] = []
            for socket in sockets {
                placed.append(fcntl(socket.fileDescriptor, F_DUPFD, placed.last.map { $0 + 1 } ?? base))
            }
            if placed.enumerated().allSatisfy({ $0.element == placed[0] + Int32($0.offset) }) {
                for (fd, socket) in zip(placed, sockets) {
                    #expect(!isCloseOnExec(fd))   // as a service manager leaves them
                    socket.close()
                }
                return placed[0]
            }
            for fd in placed where fd >= 0 { close(fd) }
            base = (placed.max() ?? base) + 1
        }
    }

    @Test func inheritsTCPUDPAndUnixWithTheirNames() throws {
        let tcp = try Socket.createServer(host: "127.0.0.1", port: 0)
        let tcpAddress = try tcp.localAddress
        let udp = try Socket(family: .ipv4, type: .datagram)
        try udp.bind(to: SocketAddress("127.0.0.1:0"))
        let udpAddress = try udp.localAddress
        let path = temporarySocketPath("activation")
        defer { unlink(path) }
        let unix = try Socket.createUnixServer(path: path)
        let base = try placeConsecutively([tcp, udp, unix])
        let inherited = try Socket.inheritedFromServiceManager(
            environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "web:dns:control"],
            pid: getpid(), firstDescriptor: base)
        defer { for item in inherited { item.socket.close() } }
        #expect(inherited.map(\.name) == ["web", "dns", "control"])
        #expect(inherited.map(\.socket.fileDescriptor) == [base, base + 1, base + 2])
        #expect(inherited.map(\.socket.family) == [.ipv4, .ipv4, .unix])
        #expect(inherited.map(\.socket.type) == [.stream, .datagram, .stream])
        for item in inherited { #expect(isCloseOnExec(item.socket.fileDescriptor), "\(item.name)") }
        #expect(try inherited[0].socket.localAddress == tcpAddress)
        #expect(try inherited[1].socket.localAddress == udpAddress)
        #expect(try inherited[2].socket.localAddress.path == path)
        // They work: the TCP one accepts.
        let client = try Socket.createConnection(host: "127.0.0.1", port: tcpAddress.port, timeout: .seconds(10))
        defer { client.close() }
        inherited[0].socket.timeout = .seconds(10)
        let (connection, _) = try inherited[0].socket.accept()
        connection.close()
    }

    @Test func namesDefaultToUnknown() throws {
        let base = try placeConsecutively([try Socket.createServer(host: "127.0.0.1", port: 0)])
        let inherited = try Socket.inheritedFromServiceManager(
            environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "1"], pid: getpid(), firstDescriptor: base)
        defer { for item in inherited { item.socket.close() } }
        #expect(inherited.map(\.name) == ["unknown"])
    }

    /// Another process's sockets, or none at all: nothing is taken and nothing is touched.
    @Test func socketsForAnotherProcessAreLeftAlone() throws {
        let listener = try Socket.createServer(host: "127.0.0.1", port: 0)
        let base = try placeConsecutively([listener])
        defer { close(base) }
        #expect(try Socket.inheritedFromServiceManager(
            environment: ["LISTEN_PID": "\(getpid() + 1)", "LISTEN_FDS": "1"], pid: getpid(), firstDescriptor: base).isEmpty)
        #expect(try Socket.inheritedFromServiceManager(environment: ["LISTEN_FDS": "1"], pid: getpid(), firstDescriptor: base).isEmpty)
        #expect(!isCloseOnExec(base))
        #expect(try Socket.inheritedFromServiceManager(
            environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "0"], pid: getpid(), firstDescriptor: base).isEmpty)
    }

    @Test func malformedEnvironmentAndDescriptorsThrow() throws {
        let pid = "\(getpid())"
        for environment in [
            ["LISTEN_PID": "abc", "LISTEN_FDS": "1"],
            ["LISTEN_PID": "-4", "LISTEN_FDS": "1"],
            ["LISTEN_PID": pid, "LISTEN_FDS": "one"],
            ["LISTEN_PID": pid],
            ["LISTEN_PID": pid, "LISTEN_FDS": "-1"],
            ["LISTEN_PID": pid, "LISTEN_FDS": "1", "LISTEN_FDNAMES": "a:b"],
        ] {
            expectError(.invalidArgument) {
                _ = try Socket.inheritedFromServiceManager(environment: environment, pid: getpid(), firstDescriptor: 3)
            }
        }
        // A pipe where a socket should be.
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(!isCloseOnExec(fds[0]))
        do {
            _ = try Socket.inheritedFromServiceManager(
                environment: ["LISTEN_PID": pid, "LISTEN_FDS": "1"], pid: getpid(), firstDescriptor: fds[0])
            Issue.record("a pipe was adopted as a socket")
        } catch {
            #expect(error.kind == .other || error.kind == .invalidArgument, "\(error)")
            #expect("\(error)".contains("getsockopt") || "\(error)".contains("adopt"))
        }
        // Close-on-exec is set on every passed descriptor first, even one that cannot be used.
        #expect(isCloseOnExec(fds[0]))
    }

    /// The public entry point reads the real environment and removes the three variables.
    @Test func publicCallRemovesTheVariables() throws {
        setenv("LISTEN_PID", "\(getpid())", 1)
        setenv("LISTEN_FDS", "0", 1)
        #expect(try Socket.inheritedFromServiceManager().isEmpty)
        #expect(getenv("LISTEN_PID") == nil && getenv("LISTEN_FDS") == nil)
        setenv("LISTEN_PID", "1", 1)
        setenv("LISTEN_FDS", "2", 1)
        setenv("LISTEN_FDNAMES", "a:b", 1)
        #expect(try Socket.inheritedFromServiceManager().isEmpty)
        #expect(getenv("LISTEN_PID") == nil && getenv("LISTEN_FDS") == nil && getenv("LISTEN_FDNAMES") == nil)
        setenv("LISTEN_PID", "garbage", 1)
        expectError(.invalidArgument) { _ = try Socket.inheritedFromServiceManager() }
        #expect(getenv("LISTEN_PID") == nil)
    }
}
