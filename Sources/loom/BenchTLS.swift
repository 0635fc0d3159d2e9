import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Loom
import LoomSystem

/// `loom bench --tls [--tls-ca CA.pem | --insecure] [--handshakes]`.
struct BenchTLSOptions: ParsableArguments {
    @Flag(name: .customLong("tls"), help: "Speak TLS to the server (verified against --tls-ca, or the system's roots).")
    var enabled = false

    @Option(name: .customLong("tls-ca"), help: "PEM file of the CAs that sign the server's certificate.")
    var caFile: String?

    @Flag(help: "Do not verify the server's certificate or name (testing only).")
    var insecure = false

    @Flag(help: "A new connection (a full handshake) per request; reports handshakes per second.")
    var handshakes = false

    func validate() throws {
        if !enabled && (caFile != nil || insecure || handshakes) {
            throw ValidationError("--tls-ca, --insecure and --handshakes need --tls")
        }
        if insecure && caFile != nil { throw ValidationError("--insecure and --tls-ca exclude each other") }
    }
}

/// The TLS load generator: a thread per connection on blocking ``TLSSocket``s (the event-driven
/// runner speaks plaintext only), each request verified byte for byte. Measures what a client of
/// blocking TLS sockets sees; for server figures on one core, Benchmarks/tls/tls_loadgen.c.
final class TLSBenchRunner: Sendable {
    private let options: BenchOptions
    private let context: TLSContext
    private let handshakes: Bool

    /// One connection's tally, read after its thread is joined.
    private final class Tally: @unchecked Sendable {  // written by one thread, read after join
        var requests: UInt64 = 0
        var bytes: UInt64 = 0
        var handshakes: UInt64 = 0
        var connected = false
        var connectErrors = 0
        var ioErrors = 0
        var mismatches = 0
        var latencies: [UInt64] = []
    }

    init(options: BenchOptions, tls: BenchTLSOptions) throws(TLSError) {
        self.options = options
        self.handshakes = tls.handshakes
        context = try TLSContext(purpose: .serverAuth)
        if tls.insecure {
            context.checkHostname = false
            context.verifyMode = .none
        } else if let caFile = tls.caFile {
            try context.loadVerifyLocations(caFile: caFile)
        } else {
            try context.loadDefaultCerts()
        }
    }

    /// Runs warm-up and measurement on every connection; returns the totals and handshakes/s.
    func run() -> (BenchResult, handshakesPerSecond: Double) {
        let start = Deadline.now()
        let measureFrom = start.nanoseconds.saturatingAdding(Int64(options.warmup * 1e9))
        let measureUntil = measureFrom.saturatingAdding(Int64(options.duration * 1e9))
        let tallies = (0..<options.connections).map { _ in Tally() }
        var threads: [LoomThreading.Thread] = []
        for (index, tally) in tallies.enumerated() {
            let thread = LoomThreading.Thread(name: "bench-tls", daemon: true) { [self] in
                drive(tally, index: index, from: measureFrom, until: measureUntil)
            }
            if (try? thread.start()) != nil { threads.append(thread) } else { tally.connectErrors += 1 }
        }
        for thread in threads { _ = try? thread.join(timeout: .seconds(options.warmup + options.duration + options.connectTimeout + 5)) }
        var result = BenchResult()
        var latencies: [UInt64] = []
        var handshakeCount: UInt64 = 0
        for tally in tallies {
            result.connected += tally.connected ? 1 : 0
            result.requests += tally.requests
            result.bytes += tally.bytes
            result.connectErrors += tally.connectErrors
            result.ioErrors += tally.ioErrors
            result.mismatches += tally.mismatches
            handshakeCount += tally.handshakes
            latencies += tally.latencies
        }
        result.primed = result.connected
        result.measuredSeconds = options.duration
        latencies.sort()
        if !latencies.isEmpty {
            func at(_ fraction: Double) -> Double { Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]) / 1000 }
            result.latencyMicroseconds = ["p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p999": at(0.999), "max": at(1)]
        }
        return (result, Double(handshakeCount) / options.duration)
    }

    private func drive(_ tally: Tally, index: Int, from measureFrom: Int64, until measureUntil: Int64) {
        var request = [UInt8](repeating: UInt8(ascii: "a") + UInt8(index % 26), count: max(1, options.size))
        request[request.count - 1] = 10
        let expected = options.upper ? request.map { (97...122).contains($0) ? $0 - 32 : $0 } : request
        var reply = [UInt8](repeating: 0, count: request.count)
        var stream: TLSSocket?
        defer { stream?.close() }
        while true {
            let now = Deadline.now().nanoseconds
            if now >= measureUntil { return }
            if stream == nil {
                do {
                    stream = try context.connect(host: options.host, port: options.port, timeout: .seconds(options.connectTimeout))
                    tally.connected = true
                    if now >= measureFrom { tally.handshakes += 1 }
                } catch {
                    tally.connectErrors += 1
                    return
                }
            }
            guard let tls = stream else { return }
            do {
                try tls.sendAll(request)
                var got = 0
                while got < reply.count {
                    let count = try reply.withUnsafeMutableBytes { try tls.recv(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
                    if count == 0 { throw TLSError("bench", kind: .unexpectedEOF, reason: "the server closed the connection") }
                    got += count
                }
            } catch {
                tally.ioErrors += 1
                return
            }
            if reply != expected { tally.mismatches += 1 }
            let end = Deadline.now().nanoseconds
            if now >= measureFrom && end <= measureUntil {
                tally.requests += 1
                tally.bytes += UInt64(request.count)
                tally.latencies.append(UInt64(end - now))
            }
            if handshakes {
                tls.close()
                stream = nil
            }
        }
    }
}
