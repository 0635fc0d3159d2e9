#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import Testing

// `loom serve --systemd` under a real `systemd-socket-activate` (Debian's `systemd` package),
// and `loom serve --reuse-port` with several processes on one port.

private let socketActivate = "/usr/bin/systemd-socket-activate"

/// A port nobody listens on right now.
private func freePort() throws -> Int {
    let socket = try Socket.createServer(host: "127.0.0.1", port: 0)
    defer { socket.close() }
    return try socket.localAddress.port
}

/// Starts `loom serve --systemd ARGS` under systemd-socket-activate listening on `listen`.
/// systemd-socket-activate starts the program at the first connection (or datagram), so the
/// caller talks first and reads the listening line afterwards.
private func activated(_ listen: String, datagram: Bool = false, _ arguments: [String]) throws -> Child {
    #expect(access(socketActivate, X_OK) == 0, "systemd-socket-activate is missing: apt-get install -y systemd")
    let command = [socketActivate] + (datagram ? ["--datagram"] : []) + ["-l", listen, loomPath, "serve", "--systemd"] + arguments
    return try Child([], shell: "exec " + command.map { "'\($0)'" }.joined(separator: " "))
}

/// Waits (at most 30 s) until a socket of this system is bound to 127.0.0.1:`port`, listening
/// (TCP) or not (UDP), as /proc/net says: a probe connection would itself start the program.
private func waitUntilBound(_ port: Int, udp: Bool = false) -> Bool {
    let hex = String(port, radix: 16, uppercase: true)
    let wanted = "0100007F:" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        let fd = open(udp ? "/proc/net/udp" : "/proc/net/tcp", O_RDONLY | O_CLOEXEC)
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while fd >= 0 {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            text += chunk[..<count]
        }
        if fd >= 0 { close(fd) }
        let found = String(decoding: text, as: UTF8.self).split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[1] == wanted && fields[3] == (udp ? "07" : "0A")
        }
        if found { return true }
        usleep(10_000)
    }
    return false
}

/// Waits (at most 30 s) until a Unix stream socket bound to `path` is listening, as
/// /proc/net/unix says (flag __SO_ACCEPTCON, 00010000): a probe connection would start the program.
private func waitUntilListening(unixPath path: String) -> Bool {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        let fd = open("/proc/net/unix", O_RDONLY | O_CLOEXEC)
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while fd >= 0 {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            text += chunk[..<count]
        }
        if fd >= 0 { close(fd) }
        let found = String(decoding: text, as: UTF8.self).split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 7 && fields[3] == "00010000" && fields[7] == path
        }
        if found { return true }
        usleep(10_000)
    }
    return false
}

@Suite(.serialized) struct ServeDeployTests {
    /// The inherited TCP socket in every mode: the reply is right, the listening line names the
    /// socket systemd-socket-activate bound, and SIGTERM stops the server with status 0.
    @Test(arguments: ["serial", "threading", "pool", "eventloop", "async"])
    func systemdTCP(mode: String) throws {
        let port = try freePort()
        let child = try activated("127.0.0.1:\(port)", ["--mode", mode])
        try #require(waitUntilBound(port), "systemd-socket-activate: \(String(decoding: child.readToEnd(child.stderr, timeout: .seconds(1)), as: UTF8.self))")
        let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(20))
        defer { socket.close() }
        try socket.sendAll(" activated \n")
        #expect(try socket.recv(maxBytes: 100) == Array("ACTIVATED".utf8))
        let line = child.readLine(timeout: .seconds(20))
        #expect(line == "listening on tcp://127.0.0.1:\(port)",
                "stderr: \(String(decoding: child.readToEnd(child.stderr, timeout: .seconds(1)), as: UTF8.self))")
        #expect(try exchange(port: port, Array("again".utf8)) == Array("AGAIN".utf8))
        child.signal(SIGTERM)
        #expect(child.wait(timeout: .seconds(20)) == 0)
    }

    @Test func systemdUDP() throws {
        let port = try freePort()
        let child = try activated("127.0.0.1:\(port)", datagram: true, [])
        #expect(waitUntilBound(port, udp: true))
        let client = try Socket(family: .ipv4, type: .datagram)
        defer { client.close() }
        client.timeout = .seconds(20)
        try client.sendTo(Array("datagram".utf8), to: SocketAddress(host: "127.0.0.1", port: port))
        let (reply, _) = try client.recvFrom(maxBytes: 100)
        #expect(reply == Array("DATAGRAM".utf8))
        #expect(child.readLine(timeout: .seconds(20)) == "listening on udp://127.0.0.1:\(port)")
        child.signal(SIGTERM)
        #expect(child.wait(timeout: .seconds(20)) == 0)
    }

    @Test func systemdUnixStream() throws {
        let path = "/tmp/loom-activated-\(getpid()).sock"
        defer { unlink(path) }
        let child = try activated(path, [])
        // The file appears at bind(), before listen(): a connect in between is refused. So wait
        // (bounded) until /proc/net/unix lists the path as listening.
        try #require(waitUntilListening(unixPath: path))
        let socket = try Socket(family: .unix)
        defer { socket.close() }
        socket.timeout = .seconds(20)
        try socket.connect(to: SocketAddress(unixPath: path))
        try socket.sendAll("unix")
        #expect(try socket.recv(maxBytes: 100) == Array("UNIX".utf8))
        #expect(child.readLine(timeout: .seconds(20)) == "listening on unix:\(path)")
        child.signal(SIGTERM)
        #expect(child.wait(timeout: .seconds(20)) == 0)
    }

    /// Not activated, or an inherited socket the mode cannot serve: a one-line error, status 1.
    @Test func systemdMisuse() throws {
        let plain = try Child(["serve", "--systemd"])
        #expect(plain.wait(timeout: .seconds(20)) == 1)
        let error = String(decoding: plain.readToEnd(plain.stderr), as: UTF8.self)
        #expect(error.contains("socket activation") && error.contains("LISTEN_FDS"), "\(error)")

        let port = try freePort()
        let child = try activated("127.0.0.1:\(port)", datagram: true, ["--mode", "eventloop"])
        #expect(waitUntilBound(port, udp: true))
        let client = try Socket(family: .ipv4, type: .datagram)
        defer { client.close() }
        try client.sendTo(Array("x".utf8), to: SocketAddress(host: "127.0.0.1", port: port))
        #expect(child.wait(timeout: .seconds(20)) == 1)
        let message = String(decoding: child.readToEnd(child.stderr), as: UTF8.self)
        #expect(message.contains("serves TCP only"), "\(message)")
    }

    /// Two processes on one port with --reuse-port: both start, the kernel spreads 40
    /// connections between them, every reply is right, and each served some (their logs).
    @Test(arguments: ["threading", "eventloop"])
    func reusePortSharesOnePort(mode: String) throws {
        let port = try freePort()
        let arguments = ["--port", "\(port)", "--reuse-port", "--mode", mode] + (mode == "eventloop" ? ["--loops", "1"] : [])
        let (first, firstLine) = try serve(arguments)
        let (second, secondLine) = try serve(arguments)
        #expect(firstLine == "listening on tcp://127.0.0.1:\(port)" && secondLine == firstLine)
        for index in 0..<40 {
            #expect(try exchange(port: port, Array("client \(index)".utf8)) == Array("CLIENT \(index)".utf8))
        }
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        #expect(first.wait(timeout: .seconds(20)) == 0 && second.wait(timeout: .seconds(20)) == 0)
        let served = [first, second].map { child in
            String(decoding: child.readToEnd(child.stderr), as: UTF8.self).components(separatedBy: " wrote: ").count - 1
        }
        #expect(served.reduce(0, +) == 40 && served.allSatisfy { $0 > 0 }, "\(served)")
    }

    /// Without --reuse-port the second process is refused: the flag is what shares the port.
    @Test func withoutReusePortTheSecondProcessFails() throws {
        let port = try freePort()
        let (first, _) = try serve(["--port", "\(port)", "--reuse-port"])
        let second = try Child(["serve", "--port", "\(port)"])
        #expect(second.wait(timeout: .seconds(20)) == 1)
        first.signal(SIGTERM)
        #expect(first.wait(timeout: .seconds(20)) == 0)
    }
}
