#if canImport(Glibc)
import Glibc
#endif
import Loom
import Testing

// `loom chat serve` and `loom chat join` end to end: the built binary, driven through pipes.

private enum ChatSpawnError: Error { case pipe, spawn(Int32), noPort(String?) }

/// `loom` with stdin, stdout and stderr on pipes; every read is bounded; killed in deinit if
/// still running.
private final class ChatProcess {
    let pid: pid_t
    private(set) var stdin: Int32
    let stdout: Int32
    let stderr: Int32
    private var pending: [UInt8] = []
    private var status: Int32?

    init(_ arguments: [String], executable: String = loomPath) throws {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        guard pipe(&input) == 0, pipe(&output) == 0, pipe(&errors) == 0 else { throw ChatSpawnError.pipe }
        for fd in input + output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
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
        let argv = [executable] + arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
        close(input[0])
        close(output[1])
        close(errors[1])
        guard result == 0 else {
            for fd in [input[1], output[0], errors[0]] { close(fd) }
            throw ChatSpawnError.spawn(result)
        }
        self.pid = pid
        stdin = input[1]
        stdout = output[0]
        stderr = errors[0]
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: .seconds(5))
        }
        closeInput()
        close(stdout)
        close(stderr)
    }

    /// Types `text` (a newline is added).
    func type(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(stdin, $0.baseAddress, $0.count) }
    }

    /// Ctrl-D: end of input.
    func closeInput() {
        if stdin >= 0 { close(stdin) }
        stdin = -1
    }

    /// One line of stdout, waiting at most `timeout`; nil at end of file or timeout.
    func line(timeout: Duration = .seconds(15)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = pending.firstIndex(of: 10) {
                defer { pending.removeFirst(newline + 1) }
                return String(decoding: pending[..<newline], as: UTF8.self)
            }
            guard let chunk = readSome(stdout, until: deadline), !chunk.isEmpty else { return nil }
            pending += chunk
        }
    }

    /// All of stderr until end of file, waiting at most `timeout`.
    func errorText(timeout: Duration = .seconds(15)) -> String {
        let deadline = ContinuousClock.now + timeout
        var all: [UInt8] = []
        while let chunk = readSome(stderr, until: deadline), !chunk.isEmpty { all += chunk }
        return String(decoding: all, as: UTF8.self)
    }

    private func readSome(_ fd: Int32, until deadline: ContinuousClock.Instant) -> [UInt8]? {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return nil }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
        guard poll(&pfd, 1, milliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = read(fd, &buffer, buffer.count)
        return count > 0 ? Array(buffer[..<count]) : []
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Entries in /proc/PID/DIR (`fd`: open descriptors, `task`: threads).
    func count(_ dir: String) -> Int {
        guard let handle = opendir("/proc/\(pid)/\(dir)") else { return -1 }
        defer { closedir(handle) }
        var count = 0
        while readdir(handle) != nil { count += 1 }
        return count
    }

    /// The exit status (128 + signal for a signal death), or nil if still running after `timeout`.
    func wait(timeout: Duration = .seconds(15)) -> Int32? {
        if let status { return status }
        let deadline = ContinuousClock.now + timeout
        while true {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
                return status
            }
            if ContinuousClock.now >= deadline { return nil }
            usleep(5_000)
        }
    }
}

/// `loom chat serve --port 0` and the port from its first line.
private func startChatServer(_ mode: String) throws -> (ChatProcess, Int) {
    let server = try ChatProcess(["chat", "serve", "--port", "0", "--mode", mode])
    let first = server.line()
    guard let first, first.hasPrefix("listening on tcp://127.0.0.1:"), let port = Int(first.split(separator: ":").last ?? "") else {
        throw ChatSpawnError.noPort(first)
    }
    return (server, port)
}

/// A raw protocol client for the other side of the room; reads bounded by a timeout.
private final class RawMember {
    let socket: Socket
    let reader: BufferedReader

    init(_ name: String, port: Int) throws {
        socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(15))
        reader = BufferedReader(socket)
        try socket.sendAll(ClientMessage.join(name: name).encoded)
        #expect(try next() == .joined(name: name))
    }

    deinit { socket.close() }

    func next() throws -> ServerMessage? {
        let line = try reader.readLine()
        return line.isEmpty ? nil : try ServerMessage.parse(line.dropLast())
    }

    func say(_ message: ClientMessage) throws { try socket.sendAll(message.encoded) }
}

@Suite(.serialized) struct ChatCLITests {
    @Test(arguments: [("threading", SIGINT), ("eventloop", SIGTERM)])
    func serveTellsMembersOnASignalAndExitsZero(mode: String, signal: Int32) throws {
        let (server, port) = try startChatServer(mode)
        let alice = try RawMember("alice", port: port)
        server.signal(signal)
        #expect(try alice.next() == .shutdown)
        #expect(try alice.next() == nil)
        #expect(server.wait() == 0)
        #expect(server.line(timeout: .seconds(2)) == nil, "exactly one line on stdout")
    }

    @Test(arguments: ["threading", "eventloop"])
    func theTerminalClientChatsAndLeavesWithTheCoursesMessage(mode: String) throws {
        let (server, port) = try startChatServer(mode)
        defer { server.signal(SIGTERM); _ = server.wait() }
        let alice = try ChatProcess(["chat", "join", "--name", "alice", "--port", "\(port)"])
        #expect(alice.line() == "* alice joined")
        let bob = try RawMember("bob", port: port)
        #expect(alice.line() == "* bob joined")
        try bob.say(.say("hi 我 \u{1B}[31m"))
        #expect(alice.line() == "bob: hi 我 \\u{001b}[31m", "control characters are escaped")
        alice.type("hello, bob")
        #expect(try bob.next() == .message(from: "bob", text: "hi 我 \u{1B}[31m"))
        #expect(try bob.next() == .message(from: "alice", text: "hello, bob"))
        #expect(alice.line() == "alice: hello, bob")
        alice.type("/who")
        #expect(alice.line() == "* members: alice, bob")
        try bob.say(.courseLeave)
        #expect(alice.line() == "* bob left: 我下线了！")
        let carol = try RawMember("carol", port: port)
        #expect(alice.line() == "* carol joined")
        alice.closeInput()
        #expect(try carol.next() == .left(name: "alice", message: "我下线了！", reason: nil))
        #expect(alice.wait() == 0)
    }

    @Test func theTerminalClientExitsZeroWhenTheServerShutsDown() throws {
        let (server, port) = try startChatServer("eventloop")
        let alice = try ChatProcess(["chat", "join", "--name", "alice", "--port", "\(port)"])
        #expect(alice.line() == "* alice joined")
        server.signal(SIGINT)
        #expect(alice.line() == "* the server is shutting down")
        #expect(alice.wait() == 0)
        #expect(server.wait() == 0)
    }

    @Test func aTakenNameFailsInOneLine() throws {
        let (server, port) = try startChatServer("threading")
        defer { server.signal(SIGTERM); _ = server.wait() }
        let bob = try RawMember("bob", port: port)
        let impostor = try ChatProcess(["chat", "join", "--name", "bob", "--port", "\(port)"])
        #expect(impostor.wait() == 1)
        let errors = impostor.errorText()
        #expect(errors == "loom chat join: name bob is already taken\n")
        #expect(impostor.line(timeout: .seconds(1)) == nil)
        _ = bob
    }

    @Test func nothingListeningFailsInOneLine() throws {
        // A port that was free a moment ago: bound, then closed.
        let probe = try Socket.createServer(host: "127.0.0.1", port: 0)
        let port = try probe.localAddress.port
        probe.close()
        let client = try ChatProcess(["chat", "join", "--name", "alice", "--port", "\(port)"])
        #expect(client.wait() == 1)
        let errors = client.errorText()
        #expect(errors.hasPrefix("loom chat join: cannot join 127.0.0.1:\(port):") && errors.contains("refused"))
        #expect(errors.filter { $0 == "\n" }.count == 1)
    }

    /// 40 clients join, speak and go (every way there is) ten times over: afterwards the server
    /// holds exactly the descriptors and threads it held before.
    @Test(arguments: ["threading", "eventloop"])
    func theServerLeaksNoDescriptorOrThread(mode: String) throws {
        let (server, port) = try startChatServer(mode)
        defer { server.signal(SIGTERM); _ = server.wait() }
        let watcher = try RawMember("watcher", port: port)
        let descriptors = server.count("fd"), threads = server.count("task")
        for round in 0..<10 {
            for index in 0..<40 {
                let member = try RawMember("r\(round)-\(index)", port: port)
                try member.say(.say("hello"))
                switch index % 4 {
                case 0: try member.say(.courseLeave)
                case 1: try member.socket.shutdown(.write)
                case 2: try member.socket.sendAll(Array("{\"msg\":\"cut".utf8))
                default: try member.socket.sendAll([0xFF, 0x0A])
                }
            }
            // Every one of them has left once the watcher has seen 40 leaves.
            var left = 0
            while left < 40, let message = try watcher.next() {
                if case .left = message { left += 1 }
            }
        }
        // Handler threads end just after the leave is announced: wait for the counts, bounded.
        let deadline = ContinuousClock.now + .seconds(20)
        while (server.count("fd"), server.count("task")) != (descriptors, threads), ContinuousClock.now < deadline {
            usleep(20_000)
        }
        #expect(server.count("fd") == descriptors)
        #expect(server.count("task") == threads)
    }

    /// Python's json module as the peer: its default ASCII escapes (`\u6211…`) and its spacing.
    @Test(arguments: ["threading", "eventloop"])
    func aPythonClientSpeaksTheProtocol(mode: String) throws {
        let (server, port) = try startChatServer(mode)
        defer { server.signal(SIGTERM); _ = server.wait() }
        let alice = try RawMember("alice", port: port)
        let script = """
            import json, socket
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=15)
            f = s.makefile("rb")
            s.sendall((json.dumps({"name": "py"}) + "\\n").encode())
            assert json.loads(f.readline()) == {"event": "join", "name": "py"}
            s.sendall((json.dumps({"msg": "héllo \\"quoted\\" 🧵"}) + "\\n").encode())
            assert json.loads(f.readline()) == {"from": "py", "msg": "héllo \\"quoted\\" 🧵"}
            s.sendall((json.dumps({"status": True, "leave": True, "msg": "我下线了！"}) + "\\n").encode())
            assert f.readline() == b""
            print("ok")
            """
        let python = try ChatProcess(["-c", script], executable: "/usr/bin/python3")
        #expect(python.line() == "ok")
        #expect(python.wait() == 0)
        #expect(try alice.next() == .joined(name: "py"))
        #expect(try alice.next() == .message(from: "py", text: "héllo \"quoted\" 🧵"))
        #expect(try alice.next() == .left(name: "py", message: "我下线了！", reason: nil))
    }
}
