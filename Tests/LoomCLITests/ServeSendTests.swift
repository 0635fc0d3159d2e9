#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomTestSupport
import Testing

// `loom serve` and `loom send` end to end: the built binary, spawned as a user would run it.

/// The `loom` binary next to the test bundle (`.build/debug/loom`): looked for in the directories
/// above `/proc/self/exe`, else under the package root found from this file's path.
let loomPath: String = {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, 4095)
    if length > 0 {
        var directory = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for _ in 0..<5 {
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            if access(directory + "/loom", X_OK) == 0 { return directory + "/loom" }
        }
    }
    var root = #filePath
    for _ in 0..<3 { root = String(root[..<(root.lastIndex(of: "/") ?? root.endIndex)]) }
    return root + "/.build/debug/loom"
}()

/// A child process with its stdout and stderr on pipes.
final class Child {
    let pid: pid_t
    let stdout: Int32
    let stderr: Int32
    private var pendingOut: [UInt8] = []
    private(set) var exitStatus: Int32?

    /// Starts `loom` with `arguments`, or `/bin/sh -c script` when `shell` is given.
    init(_ arguments: [String], shell: String? = nil) throws {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw SpawnError.pipe }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        // A clean signal state whatever the test thread had.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = shell.map { ["/bin/sh", "-c", $0] } ?? [loomPath] + arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
        close(out[1])
        close(err[1])
        guard status == 0 else {
            close(out[0])
            close(err[0])
            throw SpawnError.spawn(status)
        }
        self.pid = pid
        self.stdout = out[0]
        self.stderr = err[0]
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: .seconds(5))
        }
        close(stdout)
        close(stderr)
    }

    /// Reads one line from stdout, waiting at most `timeout`.
    func readLine(timeout: Duration = .seconds(10)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = pendingOut.firstIndex(of: 10) {
                let line = String(decoding: pendingOut[..<newline], as: UTF8.self)
                pendingOut.removeFirst(newline + 1)
                return line
            }
            guard let chunk = readSome(stdout, until: deadline), !chunk.isEmpty else { return nil }
            pendingOut += chunk
        }
    }

    /// Everything on `fd` until end-of-file, waiting at most `timeout`.
    func readToEnd(_ fd: Int32, timeout: Duration = .seconds(10)) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var all = fd == stdout ? pendingOut : []
        if fd == stdout { pendingOut = [] }
        while let chunk = readSome(fd, until: deadline), !chunk.isEmpty { all += chunk }
        return all
    }

    private func readSome(_ fd: Int32, until deadline: ContinuousClock.Instant) -> [UInt8]? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return nil }
        let milliseconds = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
        guard poll(&pfd, 1, milliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = read(fd, &buffer, buffer.count)
        return count > 0 ? Array(buffer[..<count]) : []
    }

    func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the child to exit; its exit status, or nil if it is still running after `timeout`
    /// (a signal death is reported as 128 + signal).
    func wait(timeout: Duration) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                return code
            }
            if ContinuousClock.now >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// Seconds of CPU the child has used (user + system), from /proc.
    var cpuSeconds: Double {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    var descriptorCount: Int { entries("/proc/\(pid)/fd") }
    var threadCount: Int { entries("/proc/\(pid)/task") }
}

enum SpawnError: Error { case pipe, spawn(Int32) }

private func entries(_ path: String) -> Int {
    guard let dir = opendir(path) else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { count += 1 }
    }
    return count
}

/// Starts `loom serve` with `arguments` and reads its listening line.
func serve(_ arguments: [String], shell: String? = nil) throws -> (Child, String) {
    let child = try Child(shell == nil ? ["serve"] + arguments : [], shell: shell)
    let line = try #require(child.readLine(), "no listening line; stderr: \(String(decoding: child.readToEnd(child.stderr, timeout: .seconds(1)), as: UTF8.self))")
    return (child, line)
}

func port(of line: String) -> Int {
    Int(line.split(separator: ":").last ?? "") ?? -1
}

/// Runs `loom send …` to completion: (exit status, stdout, stderr).
private func send(_ arguments: [String]) throws -> (Int32?, [UInt8], String) {
    let child = try Child(["send"] + arguments)
    let out = child.readToEnd(child.stdout, timeout: .seconds(20))
    let err = String(decoding: child.readToEnd(child.stderr, timeout: .seconds(5)), as: UTF8.self)
    return (child.wait(timeout: .seconds(10)), out, err)
}

/// A raw client: sends `bytes`, half-closes, returns everything received.
func exchange(port: Int, _ bytes: [UInt8], timeout: Duration = .seconds(10)) throws -> [UInt8] {
    let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: timeout)
    defer { socket.close() }
    try socket.sendAll(bytes)
    try socket.shutdown(.write)
    var all: [UInt8] = []
    while case let chunk = try socket.recv(maxBytes: 65_536), !chunk.isEmpty { all += chunk }
    return all
}

private func isPortFree(_ port: Int) throws -> Bool {
    let probe = try Socket()
    defer { probe.close() }
    do {
        try probe.connect(to: SocketAddress(host: "127.0.0.1", port: port))
        return false
    } catch where error.kind == .connectionRefused {
        let listener = try Socket()
        defer { listener.close() }
        try listener.setOption(.reuseAddress, true)
        try listener.bind(to: SocketAddress(host: "127.0.0.1", port: port))
        return true
    }
}

@Suite struct ServeSendTests {
    @Test func courseServerAndClientEndToEnd() throws {
        let (server, line) = try serve(["--port", "0"])
        let port = port(of: line)
        #expect(line == "listening on tcp://127.0.0.1:\(port)")
        #expect(port > 0)

        let (status, out, err) = try send(["--port", "\(port)", "mango "])
        #expect(status == 0)
        #expect(out == Array("MANGO".utf8))
        #expect(err.isEmpty)

        let (delayed, delayedOut, _) = try send(["--port", "\(port)", "--delay", "0.2", "--timeout", "5", "pear"])
        #expect(delayed == 0 && delayedOut == Array("PEAR".utf8))

        #expect(try exchange(port: port, Array("  straße \r\n".utf8)) == Array("STRASSE".utf8))
        // Not UTF-8: nothing lost, ASCII letters still uppercased.
        #expect(try exchange(port: port, [0x61, 0xFF, 0x62, 0xC3, 0x20]) == [0x41, 0xFF, 0x42, 0xC3])
        #expect(try exchange(port: port, []) == [])

        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
        let logs = String(decoding: server.readToEnd(server.stderr), as: UTF8.self)
        #expect(logs.contains("127.0.0.1 wrote: mango"))
        #expect(server.readToEnd(server.stdout).isEmpty)   // exactly one line on stdout
        #expect(try isPortFree(port))
    }

    @Test func sigintWithAClientConnectedShutsDownGracefully() throws {
        let (server, line) = try serve(["--port", "0"])
        let port = port(of: line)
        let descriptors = server.descriptorCount
        let idle = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(10))
        // Accepted, not waiting in the backlog (where closing the listener would reset it).
        #expect(eventually { server.descriptorCount > descriptors })
        let start = ContinuousClock.now
        server.signal(SIGINT)
        #expect(server.wait(timeout: .seconds(20)) == 0)
        #expect(ContinuousClock.now - start < .seconds(15))
        #expect(try idle.recv(maxBytes: 10) == [])   // closed by the server
        idle.close()
        #expect(try isPortFree(port))
    }

    @Test func startupErrorsAreOneLineAndImmediate() throws {
        let taken = try Socket.createServer(port: 0)
        defer { taken.close() }
        let busyPort = try taken.localAddress.port
        let cases: [([String], String)] = [
            (["--port", "\(busyPort)"], "address already in use"),
            (["--host", "nonexistent.invalid", "--port", "0"], "nonexistent.invalid"),
            (["--unix", "/nonexistent-loom-dir/x.sock"], "no such file or directory"),
            (["--handler", "shout"], "handler"),
            (["--udp", "--port", "0", "--proxy-protocol", "required"], "--proxy-protocol needs a stream server"),
            (["--proxy-protocol", "sometimes", "--port", "0"], "proxy-protocol"),
        ]
        for (arguments, message) in cases {
            let child = try Child(["serve"] + arguments)
            let err = String(decoding: child.readToEnd(child.stderr, timeout: .seconds(5)), as: UTF8.self)
            let status = child.wait(timeout: .seconds(5))
            #expect(status != nil && status != 0, "\(arguments)")
            #expect(err.contains(message), "\(arguments): \(err)")
            #expect(child.readToEnd(child.stdout, timeout: .seconds(1)).isEmpty)
            if arguments.first == "--port" {
                #expect(err.split(separator: "\n").count == 1, "\(err)")
            }
        }
    }

    @Test func sendFailuresAreOneLineAndNonZero() throws {
        // Nothing listens here.
        let closed = try Socket.createServer(port: 0)
        let closedPort = try closed.localAddress.port
        closed.close()
        let (status, out, err) = try send(["--port", "\(closedPort)", "hello"])
        #expect(status != nil && status != 0)
        #expect(out.isEmpty)
        #expect(err == "loom send: connect to 127.0.0.1:\(closedPort): connection refused\n")

        // A server that accepts the connection and never answers.
        let silent = try Socket.createServer(port: 0)
        defer { silent.close() }
        let start = ContinuousClock.now
        let (timedOut, _, timeoutErr) = try send(["--port", "\(try silent.localAddress.port)", "--timeout", "0.5", "hello"])
        #expect(timedOut != nil && timedOut != 0)
        #expect(timeoutErr.contains("timed out") && timeoutErr.split(separator: "\n").count == 1, "\(timeoutErr)")
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test(arguments: ["serial", "threading", "pool"])
    func everyModeServesTheCourseClient(mode: String) throws {
        let (server, line) = try serve(["--port", "0", "--mode", mode, "--workers", "2"])
        let port = port(of: line)
        for word in ["mango ", "kiwi", "straße"] {
            let (status, out, _) = try send(["--port", "\(port)", word])
            #expect(status == 0)
            #expect(String(decoding: out, as: UTF8.self) == word.trimmed.uppercased())
        }
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
    }

    @Test func echoAndReplyHandlers() throws {
        let (echo, echoLine) = try serve(["--port", "0", "--handler", "echo"])
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try exchange(port: port(of: echoLine), payload) == payload)
        echo.signal(SIGTERM)
        #expect(echo.wait(timeout: .seconds(5)) == 0)

        let (reply, replyLine) = try serve(["--port", "0", "--handler", "reply"])
        let (status, out, _) = try send(["--port", "\(port(of: replyLine))", #"{"status":true,"leave":true,"msg":"我下线了！"}"#])
        #expect(status == 0)
        #expect(String(decoding: out, as: UTF8.self) == "不要回答,不要回答,不要回答")
        reply.signal(SIGTERM)
        #expect(reply.wait(timeout: .seconds(5)) == 0)
        #expect(String(decoding: reply.readToEnd(reply.stderr), as: UTF8.self).contains("我下线了！"))

        let (custom, customLine) = try serve(["--port", "0", "--handler", "reply", "--reply", "bye"])
        #expect(try exchange(port: port(of: customLine), Array("hi".utf8)) == Array("bye".utf8))
        custom.signal(SIGTERM)
        #expect(custom.wait(timeout: .seconds(5)) == 0)
    }

    @Test func hugeOrNonFiniteSecondsAreUsageErrorsNotTraps() throws {
        let cases: [([String], String)] = [
            (["serve", "--port", "0", "--timeout", "inf"], "--timeout"),
            (["serve", "--port", "0", "--timeout", "1e16"], "--timeout"),
            (["serve", "--port", "0", "--timeout", "nan"], "--timeout"),
            (["serve", "--port", "0", "--mode", "eventloop", "--timeout", "1e16"], "--timeout"),
            (["send", "--delay", "inf", "x"], "--delay"),
            (["send", "--delay", "nan", "x"], "--delay"),
            (["send", "--delay", "1e16", "x"], "--delay"),
            (["send", "--timeout", "1e300", "x"], "--timeout"),
        ]
        for (arguments, option) in cases {
            let child = try Child(arguments)
            let err = String(decoding: child.readToEnd(child.stderr, timeout: .seconds(5)), as: UTF8.self)
            let status = child.wait(timeout: .seconds(5))
            // ArgumentParser's usage error: exit status 64, never a trap (128 + SIGILL/SIGTRAP).
            #expect(status == 64, "\(arguments): \(err)")
            let first = err.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.contains("\(option) must be"), "\(arguments): \(err)")
            #expect(child.readToEnd(child.stdout, timeout: .seconds(1)).isEmpty)
        }
    }

    @Test(arguments: ["threading", "eventloop"])
    func peerBytesAreEscapedInTheLog(mode: String) throws {
        let (server, line) = try serve(["--port", "0", "--mode", mode])
        let hostile = Array("a\nerror: forged\u{1B}[31m\u{7}red\r".utf8) + [0xFF] + Array(" 我下线了".utf8)
        _ = try exchange(port: port(of: line), hostile)
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
        let logs = server.readToEnd(server.stderr)
        let text = String(decoding: logs, as: UTF8.self)
        #expect(!logs.contains(0x1B) && !logs.contains(0x07) && !logs.contains(0x0D), "\(text)")
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("error: forged") }, "\(text)")
        #expect(text.contains(#"wrote: a\nerror: forged\u{001b}[31m\u{0007}red\r\xff 我下线了"#), "\(text)")
    }

    @Test func udpServeAndSend() throws {
        let (server, line) = try serve(["--udp", "--port", "0"])
        let port = port(of: line)
        #expect(line == "listening on udp://127.0.0.1:\(port)")
        let (status, out, _) = try send(["--udp", "--port", "\(port)", "--timeout", "5", "mango "])
        #expect(status == 0)
        #expect(out == Array("MANGO".utf8))
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
    }

    @Test(arguments: [false, true])
    func unixServeAndSend(datagram: Bool) throws {
        let path = "/tmp/loom-cli-test-\(getpid())-\(datagram ? "dgram" : "stream").sock"
        unlink(path)
        let flags = datagram ? ["--udp"] : []
        let (server, line) = try serve(["--unix", path] + flags)
        #expect(line == "listening on unix:\(path)")
        let (status, out, err) = try send(["--unix", path, "--timeout", "5"] + flags + ["mango "])
        #expect(status == 0, "\(err)")
        #expect(out == Array("MANGO".utf8))
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
        #expect(access(path, F_OK) != 0)
    }

    @Test func idleTimeoutAndMaxConnections() throws {
        let (server, line) = try serve(["--port", "0", "--timeout", "1", "--max-connections", "2"])
        let port = port(of: line)
        // The server's own threads before any client: the main and signal threads, plus whatever
        // the runtime adds (Thread Sanitizer runs a background thread of its own).
        let baseline = server.threadCount
        let silent = try (0..<3).map { _ in try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(10)) }
        usleep(100_000)
        // Two are being served, the third waits in the backlog: two handler threads at most.
        #expect(server.threadCount <= baseline + 2)
        let start = ContinuousClock.now
        for socket in silent { #expect(try socket.recv(maxBytes: 10) == []) }   // all closed as idle in turn
        #expect(ContinuousClock.now - start < .seconds(20))
        let (status, out, _) = try send(["--port", "\(port)", "after"])
        #expect(status == 0 && out == Array("AFTER".utf8))
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
    }

    @Test(.timeLimit(.minutes(5)))
    func connectionsAndResetsLeaveNoDescriptorOrThreadBehind() throws {
        let (server, line) = try serve(["--port", "0", "--handler", "echo"])
        let port = port(of: line)
        usleep(100_000)
        let descriptors = server.descriptorCount
        let threads = server.threadCount
        for index in 0..<2000 {
            let socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(10))
            try socket.sendAll("ping \(index)")
            if index % 5 == 0 {
                try socket.setOption(.linger, Linger(.zero))   // reset mid-conversation
            } else {
                #expect(try socket.recv(maxBytes: 100) == Array("ping \(index)".utf8))
            }
            socket.close()
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline && (server.descriptorCount != descriptors || server.threadCount != threads) {
            usleep(10_000)
        }
        #expect(server.descriptorCount == descriptors)
        #expect(server.threadCount == threads)
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
    }

    @Test func outOfDescriptorsBacksOffWithoutSpinningOrDying() throws {
        // Logs go to a file: a server that logged in a loop must show up as CPU, not block on a pipe.
        let logPath = "/tmp/loom-cli-test-\(getpid())-emfile.log"
        defer { unlink(logPath) }
        let (server, line) = try serve([], shell: "ulimit -n 32 && exec '\(loomPath)' serve --port 0 2>'\(logPath)'")
        let port = port(of: line)
        var clients: [Socket] = []
        for _ in 0..<60 { clients.append(try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(10))) }
        usleep(300_000)
        let before = server.cpuSeconds
        let slept = ContinuousClock.now
        usleep(1_000_000)   // longer on a busy machine: the bound scales with it
        let used = server.cpuSeconds - before
        let wall = ContinuousClock.now - slept
        let seconds = max(1, Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18)
        #expect(used < 0.3 * seconds, "the server used \(used) s of CPU in \(seconds) s while out of descriptors")
        #expect(server.wait(timeout: .zero) == nil)   // alive
        for client in clients { client.close() }
        // Once descriptors are free again, it serves.
        var answered = false
        let deadline = ContinuousClock.now + .seconds(30)
        while !answered && ContinuousClock.now < deadline {
            if let reply = try? exchange(port: port, Array("back".utf8), timeout: .seconds(5)), reply == Array("BACK".utf8) {
                answered = true
            } else {
                usleep(100_000)
            }
        }
        #expect(answered)
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(30)) == 0)
        let logs = readText(logPath) ?? ""
        #expect(logs.contains("out of file descriptors"))
    }
}
