#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import Testing

/// `LoomServiceExample` (two servers, one of each family, in one ServiceGroup with
/// `gracefulShutdownSignals: [.sigterm]`) in a child process, stopped with a real SIGTERM.
@Suite(.serialized) struct SIGTERMTests {
    /// The example binary next to the test bundle.
    static let examplePath: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, 4095)
        if length > 0 {
            var directory = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            for _ in 0..<5 {
                guard let slash = directory.lastIndex(of: "/") else { break }
                directory = String(directory[..<slash])
                if access(directory + "/LoomServiceExample", X_OK) == 0 { return directory + "/LoomServiceExample" }
            }
        }
        return ".build/debug/LoomServiceExample"
    }()

    /// The child, its stdout read line by line with a deadline.
    final class Example {
        let pid: pid_t
        let stdout: Int32
        private var pending: [UInt8] = []
        private var reaped: Int32?

        init(grace: Double) throws {
            var out: [Int32] = [-1, -1]
            guard pipe(&out) == 0 else { throw TimedOut() }
            _ = fcntl(out[0], F_SETFD, FD_CLOEXEC)
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, out[1], 1)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
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
            let argv = [SIGTERMTests.examplePath, "\(grace)"]
            var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
            defer { for arg in cArgs { free(arg) } }
            var pid: pid_t = 0
            let status = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
            close(out[1])
            guard status == 0 else {
                close(out[0])
                throw TimedOut()
            }
            self.pid = pid
            stdout = out[0]
        }

        deinit {
            if reaped == nil {
                kill(pid, SIGKILL)
                _ = wait(timeout: .seconds(5))
            }
            close(stdout)
        }

        func readLine(timeout: Duration = .seconds(20)) -> String? {
            let deadline = ContinuousClock.now + timeout
            while true {
                if let newline = pending.firstIndex(of: 10) {
                    defer { pending.removeFirst(newline + 1) }
                    return String(decoding: pending[..<newline], as: UTF8.self)
                }
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { return nil }
                var pfd = pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, Int32(left.components.seconds * 1000 + 1)) > 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = read(stdout, &buffer, buffer.count)
                if count <= 0 { return nil }
                pending += buffer[..<count]
            }
        }

        /// The exit status (128 + signal for a signal death), or nil if still running after `timeout`.
        func wait(timeout: Duration) -> Int32? {
            if let reaped { return reaped }
            let deadline = ContinuousClock.now + timeout
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) != pid {
                if ContinuousClock.now >= deadline { return nil }
                usleep(5_000)
            }
            reaped = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            return reaped
        }

        func ports() throws -> [Int] {
            try (0..<2).map { _ in
                let line = try #require(readLine(), "no listening line")
                #expect(line.hasPrefix("listening on tcp://127.0.0.1:"))
                return try #require(Int(line.split(separator: ":").last ?? ""))
            }
        }
    }

    /// SIGTERM: the group stops its services last first. The event-loop server stops accepting
    /// while the threaded one still serves; each server's connections in flight finish; each
    /// server finishes as soon as they have, and the process exits 0 well before the 60-second
    /// grace period.
    @Test func sigtermDrainsBothServersAndExitsZero() throws {
        let example = try Example(grace: 60)
        let ports = try example.ports()
        let held = try ports.map(connect(port:))
        for socket in held { #expect(try echo(socket, "before") == "before\n") }
        let start = ContinuousClock.now
        kill(example.pid, SIGTERM)
        #expect(eventuallyRefused(port: ports[1]), "the event-loop server still accepts after SIGTERM")
        #expect(try echo(held[1], "during") == "during\n")
        let late = try connect(port: ports[0])
        #expect(try echo(late, "late") == "late\n", "the threaded server serves until its turn")
        late.close()
        held[1].close()
        #expect(eventuallyRefused(port: ports[0]), "the threaded server still accepts")
        #expect(try echo(held[0], "during") == "during\n")
        held[0].close()
        #expect(example.readLine() == "stopped")
        #expect(example.wait(timeout: .seconds(30)) == 0)
        #expect(ContinuousClock.now - start < .seconds(30), "exited on the drain, not the grace period")
    }

    /// Connections that never end are closed at the end of the grace period; exit status 0.
    @Test func sigtermWithStuckClientsEndsAtTheGracePeriod() throws {
        let example = try Example(grace: 0.5)
        let held = try example.ports().map(connect(port:))
        defer { for socket in held { socket.close() } }
        for socket in held { #expect(try echo(socket, "x") == "x\n") }
        kill(example.pid, SIGTERM)
        #expect(example.readLine() == "stopped")
        #expect(example.wait(timeout: .seconds(30)) == 0)
        for socket in held { #expect(closedByServer(socket)) }
    }
}
