#if canImport(Glibc)
import Glibc
#endif
import LoomSockets

/// A real HAProxy for tests: writes a loopback-only `mode tcp` configuration with a
/// round-robin backend, starts `haproxy -f FILE -db` (foreground) on a free port, waits (at
/// most `startTimeout`) until the frontend listens, and stops it by PID (``stop()``, or at
/// `deinit`). Fails clearly when `haproxy` is missing (`apt-get install -y haproxy`).
///
/// ```swift
/// let haproxy = try HAProxy(backends: [portA, portB], sendProxy: .v2)
/// let client = try Socket.createConnection(host: "127.0.0.1", port: haproxy.port)
/// ```
public final class HAProxy {
    /// How HAProxy announces the client to the backends.
    public enum SendProxy: Sendable {
        /// Plain forwarding: no PROXY header.
        case none
        /// `send-proxy`: the v1 text line.
        case v1
        /// `send-proxy-v2`, with `proxy-v2-options` (for example `["unique-id", "crc32c"]`).
        case v2(options: [String] = [])
    }

    /// Why HAProxy could not be started or a helper failed, in one line.
    public struct HarnessError: Error, CustomStringConvertible {
        /// The reason.
        public let description: String
    }

    /// HAProxy's process id.
    public let pid: pid_t
    /// The plain TCP frontend port.
    public let port: Int
    /// A TLS frontend port (only with `tlsCertificate`), terminating TLS in HAProxy.
    public let tlsPort: Int?
    /// The temporary folder holding the configuration and the log (removed by ``stop()``).
    public let directory: String
    private var stopped = false

    /// - Parameters:
    ///   - backends: ports of the servers on 127.0.0.1, balanced round-robin.
    ///   - tlsCertificate: a PEM file with certificate and key; adds a TLS frontend (``tlsPort``).
    public init(backends: [Int], sendProxy: SendProxy, tlsCertificate: String? = nil,
         startTimeout: Duration = .seconds(60)) throws {
        let candidates: [String] = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]
        guard let binary = candidates
            .first(where: { access($0, X_OK) == 0 }) else {
            throw HarnessError(description: "haproxy is not installed: apt-get install -y haproxy")
        }
        var template = Array("/tmp/loom-haproxy-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError(description: "mkdtemp failed") }
        directory = String(cString: made)
        port = try Self.freePort()
        tlsPort = tlsCertificate == nil ? nil : try Self.freePort()
        let proxyKeyword: String
        switch sendProxy {
        case .none: proxyKeyword = ""
        case .v1: proxyKeyword = "send-proxy"
        case .v2(let options):
            proxyKeyword = "send-proxy-v2" + (options.isEmpty ? "" : " proxy-v2-options " + options.joined(separator: ","))
        }
        var config = """
            defaults
              mode tcp
              timeout connect 5s
              timeout client 30s
              timeout server 30s
            frontend front
              bind 127.0.0.1:\(port)

            """
        if let tlsCertificate, let tlsPort {
            config += "  bind 127.0.0.1:\(tlsPort) ssl crt \(tlsCertificate) alpn h2,http/1.1\n"
        }
        config += """
              unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid
              default_backend loom
            backend loom
              balance roundrobin

            """
        for (index, backend) in backends.enumerated() {
            config += "  server s\(index) 127.0.0.1:\(backend) \(proxyKeyword)\n"
        }
        let configPath = directory + "/haproxy.cfg"
        try Self.write(config, to: configPath)
        pid = try Self.spawn([binary, "-f", configPath, "-db"], log: directory + "/haproxy.log")
        let deadline = ContinuousClock.now + startTimeout
        while !([port] + (tlsPort.map { [$0] } ?? [])).allSatisfy(Self.isListening) {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                stopped = true
                throw HarnessError(description: "haproxy exited at start: \(log)")
            }
            guard ContinuousClock.now < deadline else {
                stop()
                throw HarnessError(description: "haproxy did not listen within \(startTimeout): \(log)")
            }
            usleep(10_000)
        }
    }

    deinit { stop() }

    /// What HAProxy printed (its warnings and errors).
    public var log: String { Self.read(directory + "/haproxy.log") }

    /// Stops HAProxy (SIGTERM, then SIGKILL after 5 s) and reaps it; removes the temporary folder.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        for name in ["haproxy.cfg", "haproxy.log"] { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    /// A port nobody listens on right now (bound to port 0, read back, closed).
    public static func freePort() throws -> Int {
        let socket = try Socket.createServer(host: "127.0.0.1", port: 0)
        defer { socket.close() }
        return try socket.localAddress.port
    }

    /// True when a socket of this system listens on 127.0.0.1:`port` (from /proc/net/tcp, so
    /// that waiting makes no connection HAProxy would forward).
    public static func isListening(_ port: Int) -> Bool {
        let hex = String(port, radix: 16, uppercase: true)
        let wanted = "0100007F:" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return read("/proc/net/tcp").split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[1] == wanted && fields[3] == "0A"
        }
    }

    /// Starts `argv` (an absolute path first) with stdout and stderr appended to `log` and a
    /// clean signal state; returns its process id (reap it with `waitpid`).
    public static func spawn(_ argv: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
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
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
        guard status == 0 else { throw HarnessError(description: "posix_spawn \(argv[0]): \(String(cString: strerror(status)))") }
        return pid
    }

    /// Writes `text` to a new file at `path` (mode 0600).
    public static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HarnessError(description: "open \(path) failed") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw HarnessError(description: "write \(path) failed") }
    }

    /// The whole file at `path` as text, or "" when it cannot be read.
    public static func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            all += chunk[..<count]
        }
        return String(decoding: all, as: UTF8.self)
    }
}

extension HAProxy {
    /// Runs a command to completion (output to `log`), waiting at most `timeout`; its exit status
    /// (128 + signal for a signal death), or nil when it had to be killed.
    public static func run(_ argv: [String], log: String, timeout: Duration = .seconds(30)) throws -> Int32? {
        let pid = try spawn(argv, log: log)
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            usleep(5_000)
        }
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}
