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
              loom bench --port 9443 --tls --tls-ca ca.pem --connections 16
              loom bench --port 9443 --tls --insecure --handshakes
            """)

    @OptionGroup var options: BenchOptions

    @OptionGroup var tls: BenchTLSOptions

    func run() throws {
        let address: SocketAddress
        do throws(SocketError) {
            address = try SocketAddress(host: options.host, port: options.port)
        } catch {
            Console.error("loom bench: \(error)")
            throw ExitCode(2)
        }
        if !options.allowRemote && !Self.isLoopback(address) {
            Console.error("loom bench: \(options.host) is not a loopback address; pass --allow-remote to load another machine")
            throw ExitCode(2)
        }
        // Ctrl-C ends the run early with a report: the signals are blocked and polled for.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        Self.raiseDescriptorLimit(to: rlim_t(options.connections + 64))

        var options = options
        options.host = address.host  // the report names the address measured
        if tls.enabled { return try runTLS(options) }
        let live = isatty(1) == 1 && !options.json
        let runner = try BenchRunner(options: options, showsProgress: live) { line in
            Console.bytes(Array(("\r\u{1B}[2K" + line).utf8))
        }
        let result = runner.run()
        if live { Console.bytes(Array("\r\u{1B}[2K".utf8)) }
        Console.line(options.json ? BenchReport.json(result, options) : BenchReport.text(result, options))
        if result.connected == 0 {
            Console.error("loom bench: could not connect to \(options.host):\(options.port) (\(result.connectErrors) connect errors)")
            throw ExitCode.failure
        }
        if !options.connectOnly && result.requests == 0 { throw ExitCode.failure }
        if result.errors > 0 { throw ExitCode(3) }
    }

    /// `--tls`: a thread per connection on blocking TLS streams (see ``TLSBenchRunner``).
    private func runTLS(_ options: BenchOptions) throws {
        if options.connectOnly || options.pipeline != 1 {
            Console.error("loom bench: --tls measures ping-pong only (no --connect-only, no --pipeline)")
            throw ExitCode(2)
        }
        let runner: TLSBenchRunner
        do throws(TLSError) { runner = try TLSBenchRunner(options: options, tls: tls) } catch {
            Console.error("loom bench: \(error)")
            throw ExitCode(2)
        }
        let (result, handshakesPerSecond) = runner.run()
        var report = options.json ? BenchReport.json(result, options) : BenchReport.text(result, options)
        if tls.handshakes {
            report = options.json
                ? String(report.dropLast()) + ", \"handshakes_per_s\": \(Int(handshakesPerSecond.rounded()))}"
                : report + "\nhandshakes    \(Int(handshakesPerSecond.rounded()))/s (a new TLS connection per request)"
        }
        Console.line(report)
        if result.connected == 0 {
            Console.error("loom bench: could not connect over TLS to \(options.host):\(options.port) (\(result.connectErrors) errors)")
            throw ExitCode.failure
        }
        if result.requests == 0 { throw ExitCode.failure }
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
