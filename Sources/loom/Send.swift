import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Loom

/// `loom send`: the course's client.
///
/// Connects, waits `--delay`, sends the message, half-closes, and writes every byte received
/// until the server closes to stdout, unchanged. With `--udp`, sends one datagram and writes the
/// one datagram that comes back.
struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send one message to a server and print its reply.")

    @Option(help: "Server host (a name or a numeric address).")
    var host = "127.0.0.1"

    @Option(help: "Server port.")
    var port = 9999

    @Option(help: "Connect to this Unix-domain socket path instead.")
    var unix: String?

    @Flag(help: "Send a datagram (UDP, or Unix datagram with --unix).")
    var udp = false

    @Option(help: "Seconds to wait between connecting and sending.")
    var delay: Double = 0

    @Option(help: "Give up after this many seconds: for connecting, and for the whole reply.")
    var timeout: Double?

    @OptionGroup var tls: SendTLSOptions

    @Argument(help: "The message to send.")
    var message: String

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") }
        try SecondsOption.check(delay, option: "--delay", allowZero: true)
        if let timeout { try SecondsOption.check(timeout, option: "--timeout", allowZero: false) }
        try tls.validate(udp: udp, unix: unix)
    }

    func run() throws {
        if tls.enabled { return try runTLS() }
        var clientPath: String?
        defer { if let clientPath { unlink(clientPath) } }
        do throws(SocketError) {
            let socket = try connect(clientPath: &clientPath)
            defer { socket.close() }
            if delay > 0 { Send.sleep(seconds: delay) }
            // One deadline for the reply, however it trickles in.
            let deadline = timeout.map { ContinuousClock.now.advanced(by: Send.duration($0)) }
            if udp {
                _ = try socket.send(messageBytes())
                socket.timeout = remaining(until: deadline)
                Console.bytes(try socket.recv(maxBytes: 65_536))
                return
            }
            try socket.sendAll(messageBytes())
            try? socket.shutdown(.write)
            while true {
                socket.timeout = remaining(until: deadline)
                let bytes = try socket.recv(maxBytes: 65_536)
                if bytes.isEmpty { return }
                Console.bytes(bytes)
            }
        } catch {
            Console.error("loom send: \(error)")
            throw ExitCode.failure
        }
    }

    private func connect(clientPath: inout String?) throws(SocketError) -> Socket {
        let type: SocketType = udp ? .datagram : .stream
        let connectTimeout = timeout.map(Send.duration)
        if let unix {
            let socket = try Socket(family: .unix, type: type)
            if udp {
                // A Unix datagram client needs an address of its own to be answered.
                let path = "/tmp/loom-send-\(getpid()).sock"
                unlink(path)
                try socket.bind(to: SocketAddress(unixPath: path))
                clientPath = path
            }
            socket.timeout = connectTimeout
            try socket.connect(to: SocketAddress(unixPath: unix))
            return socket
        }
        if !udp {
            return try Socket.createConnection(host: host, port: port, timeout: connectTimeout)
        }
        let addresses = try Socket.resolve(host: host, port: port, type: .datagram)
        guard let address = addresses.first(where: { $0.family == .ipv4 }) ?? addresses.first else {
            throw SocketError("getaddrinfo \(host)", kind: .nameResolution, detail: "no address")
        }
        // A connected datagram socket: an answer from anyone else is dropped, and a closed port
        // shows up as "connection refused" instead of silence.
        let socket = try Socket(family: address.family, type: .datagram)
        try socket.connect(to: address)
        return socket
    }

    /// The message exactly as given on the command line: `String` would have replaced bytes that
    /// are not valid UTF-8, so the raw argument is used when it decodes to the same text.
    func messageBytes() -> [UInt8] {
        for index in stride(from: Int(CommandLine.argc) - 1, to: 0, by: -1) {
            guard let raw = CommandLine.unsafeArgv[index] else { continue }
            let bytes = Array(UnsafeRawBufferPointer(start: raw, count: strlen(raw)))
            if String(decoding: bytes, as: UTF8.self) == message { return bytes }
        }
        return Array(message.utf8)
    }

    func remaining(until deadline: ContinuousClock.Instant?) -> Duration? {
        guard let deadline else { return nil }
        // A timeout of zero would mean "non-blocking"; an expired deadline still waits 1 ns.
        return max(.nanoseconds(1), ContinuousClock.now.duration(to: deadline))
    }

    static func duration(_ seconds: Double) -> Duration {
        SecondsOption.duration(seconds)
    }

    static func sleep(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1_000_000_000))
        var left = timespec()
        while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
    }
}
