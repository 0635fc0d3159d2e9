import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Loom

/// `loom bench`: a load generator for any TCP echo server, event-driven on one thread (one core
/// saturates a fast server), every echoed byte verified.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a TCP echo server: requests/s, bytes/s and latency percentiles, every byte verified.",
        discussion: """
            Each connection sends requests of --size bytes ending in "\\n" and checks the reply is the \
            same bytes (--upper: uppercased). Connections are primed with one verified echo, then \
            warmed up, then measured. Talks to loopback unless --allow-remote is given. Exit status: \
            0 all verified, 1 nothing connected or measured, 3 errors (mismatched bytes, resets, \
            unanswered requests).
            Examples:
              loom bench --port 9999 --connections 128 --duration 5
              loom bench --port 9999 --connections 10000 --connect-only --duration 10
            """)

    @Option(help: "Server address (numeric IPv4 or IPv6, or a name).")
    var host = "127.0.0.1"

    @Option(help: "Server port.")
    var port: Int

    @Option(name: [.customShort("c"), .long], help: "Connections.")
    var connections = 1

    @Option(name: [.customShort("d"), .long], help: "Seconds measured (or held, with --connect-only).")
    var duration = 5.0

    @Option(name: [.customShort("w"), .long], help: "Warm-up seconds before measuring.")
    var warmup = 1.0

    @Option(name: [.customShort("s"), .long], help: "Request size in bytes (the last byte is a newline).")
    var size = 64

    @Option(name: [.customShort("k"), .long], help: "Requests in flight per connection.")
    var pipeline = 1

    @Option(name: [.customShort("n"), .long], help: "Stop after this many measured requests (0: duration only).")
    var requests = 0

    @Flag(name: .customLong("connect-only"), help: "Open the connections, verify one echo each, then hold them idle for --duration.")
    var connectOnly = false

    @Flag(help: "Expect the uppercase of what is sent (for `loom serve --handler upper`).")
    var upper = false

    @Flag(help: "Print one JSON object instead of the summary.")
    var json = false

    @Option(name: .customLong("connect-timeout"), help: "Bound on the connect phase and on priming, in seconds.")
    var connectTimeout = 30.0

    @Option(name: .customLong("server-pid"), help: "Sample this process's CPU time, memory and threads.")
    var serverPID: Int32?

    @Flag(name: .customLong("allow-remote"), help: "Allow a host that is not loopback.")
    var allowRemote = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") }
        guard (1...1_000_000).contains(connections) else { throw ValidationError("--connections must be 1-1,000,000") }
        guard duration > 0 && duration <= 3600 else { throw ValidationError("--duration must be in (0, 3600] seconds") }
        guard warmup >= 0 && warmup <= 600 else { throw ValidationError("--warmup must be in [0, 600] seconds") }
        guard (1...(16 << 20)).contains(size) else { throw ValidationError("--size must be 1 B - 16 MiB") }
        guard (1...1024).contains(pipeline) else { throw ValidationError("--pipeline must be 1-1024") }
        guard requests >= 0 else { throw ValidationError("--requests must not be negative") }
        guard connectTimeout > 0 && connectTimeout <= 600 else { throw ValidationError("--connect-timeout must be in (0, 600] seconds") }
    }

    func run() throws {
        let address: SocketAddress
        do throws(SocketError) {
            address = try SocketAddress(host: host, port: port)
        } catch {
            Console.error("loom bench: \(error)")
            throw ExitCode(2)
        }
        if !allowRemote && !Self.isLoopback(address) {
            Console.error("loom bench: \(host) is not a loopback address; pass --allow-remote to load another machine")
            throw ExitCode(2)
        }
        // Ctrl-C ends the run early with a report: the signals are blocked and polled for.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        Self.raiseDescriptorLimit(to: rlim_t(connections + 64))

        var options = BenchOptions()
        options.host = address.host
        options.port = port
        options.connections = connections
        options.duration = duration
        options.warmup = warmup
        options.requests = requests
        options.size = size
        options.pipeline = pipeline
        options.upper = upper
        options.connectOnly = connectOnly
        options.connectTimeout = connectTimeout
        options.serverPID = serverPID
        let live = isatty(1) == 1 && !json
        options.progress = live
        let runner = try BenchRunner(options: options) { line in
            if live { Console.bytes(Array(("\r\u{1B}[2K" + line).utf8)) }
        }
        let result = runner.run()
        if live { Console.bytes(Array("\r\u{1B}[2K".utf8)) }
        Console.line(json ? BenchReport.json(result, options) : BenchReport.text(result, options))
        if result.connected == 0 {
            Console.error("loom bench: could not connect to \(options.host):\(port) (\(result.connectErrors) connect errors)")
            throw ExitCode.failure
        }
        if !connectOnly && result.requests == 0 { throw ExitCode.failure }
        if result.errors > 0 { throw ExitCode(3) }
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        let host = address.host
        return host.hasPrefix("127.") || host == "::1" || host == "::ffff:127.0.0.1"
    }

    static func raiseDescriptorLimit(to wanted: rlim_t) {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        setrlimit(resource, &limit)
        if limit.rlim_cur < wanted {
            Console.error("loom bench: warning: RLIMIT_NOFILE is \(limit.rlim_cur), fewer than connections + 64")
        }
    }
}
