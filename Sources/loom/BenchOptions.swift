import ArgumentParser

/// What `loom bench` was asked to do: its command-line options (an `@OptionGroup` of ``Bench``),
/// read by the runner and the report.
struct BenchOptions: ParsableArguments {
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
}
