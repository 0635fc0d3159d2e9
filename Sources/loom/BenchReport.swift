/// `loom bench`'s output: a human summary, or one JSON object with `--json`.
enum BenchReport {
    static func text(_ r: BenchResult, _ o: BenchOptions) -> String {
        var lines: [String] = []
        let target = "\(o.host):\(o.port)"
        if o.connectOnly {
            lines.append("loom bench \(target): held \(r.connected)/\(o.connections) idle connections for \(fixed(r.measuredSeconds, 1)) s")
            lines.append("connect       \(fixed(r.connectSeconds, 3)) s (p99 \(fixed(r.latencyMicroseconds["connect_p99"] ?? 0, 1)) µs), \(r.primed) answered the verifying echo")
        } else {
            lines.append("loom bench \(target): \(o.connections) connections × \(o.size) B, pipeline \(o.pipeline), "
                + "\(fixed(r.measuredSeconds, 2)) s measured after \(fixed(o.warmup, 1)) s warm-up")
            lines.append("requests      \(grouped(Double(r.requests)))   \(grouped(r.requestsPerSecond)) req/s")
            lines.append("bytes         \(fixed(Double(r.bytes) / 1e6, 1)) MB   \(fixed(r.bytesPerSecond / 1e6, 2)) MB/s each way")
            let l = r.latencyMicroseconds
            lines.append("latency µs    p50 \(fixed(l["p50"] ?? 0, 1))  p90 \(fixed(l["p90"] ?? 0, 1))  p99 \(fixed(l["p99"] ?? 0, 1))  "
                + "p99.9 \(fixed(l["p999"] ?? 0, 1))  max \(fixed(l["max"] ?? 0, 1))")
        }
        lines.append("errors        \(r.errors) (connect \(r.connectErrors), io \(r.ioErrors), eof \(r.unexpectedEOF), "
            + "mismatched \(r.mismatches), unanswered \(r.unanswered))")
        var cpu = "cpu           loom bench \(fixed(r.benchCPU, 2)) cores"
        if let server = r.serverCPU { cpu += ", server \(fixed(server, 2)) cores" }
        if let rss = r.serverRSSKilobytes { cpu += ", server RSS \(fixed(Double(rss) / 1024, 1)) MB" }
        if let threads = r.serverThreads { cpu += ", \(threads) threads" }
        lines.append(cpu)
        if r.interrupted { lines.append("(interrupted: partial measurement)") }
        return lines.joined(separator: "\n")
    }

    static func json(_ r: BenchResult, _ o: BenchOptions) -> String {
        var fields: [(String, String)] = [
            ("mode", quoted(o.connectOnly ? "connect_only" : "echo")),
            ("host", quoted(o.host)), ("port", "\(o.port)"),
            ("connections", "\(o.connections)"), ("size", "\(o.size)"), ("pipeline", "\(o.pipeline)"),
            ("connected", "\(r.connected)"), ("primed", "\(r.primed)"), ("open_at_end", "\(r.openAtEnd)"),
            ("connect_s", fixed(r.connectSeconds, 3)), ("prime_s", fixed(r.primeSeconds, 3)),
            ("duration_s", fixed(r.measuredSeconds, 3)),
            ("requests", "\(r.requests)"), ("rps", fixed(r.requestsPerSecond, 0)),
            ("bytes", "\(r.bytes)"), ("bytes_per_s", fixed(r.bytesPerSecond, 0)),
        ]
        for key in ["p50", "p90", "p99", "p999", "max", "mean"] {
            fields.append(("\(key)_us", fixed(r.latencyMicroseconds[key] ?? 0, 1)))
        }
        fields += [
            ("errors", "\(r.errors)"), ("connect_errors", "\(r.connectErrors)"), ("io_errors", "\(r.ioErrors)"),
            ("eof", "\(r.unexpectedEOF)"), ("mismatches", "\(r.mismatches)"), ("unanswered", "\(r.unanswered)"),
            ("bench_cpu", fixed(r.benchCPU, 3)),
            ("server_cpu", r.serverCPU.map { fixed($0, 3) } ?? "null"),
            ("server_rss_kb", r.serverRSSKilobytes.map { "\($0)" } ?? "null"),
            ("server_threads", r.serverThreads.map { "\($0)" } ?? "null"),
            ("interrupted", r.interrupted ? "true" : "false"),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `value` with `digits` decimals (no Foundation).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        guard digits > 0 else { return "\(sign)\(whole)" }
        let text = String(fraction)
        return "\(sign)\(whole).\(String(repeating: "0", count: digits - text.count))\(text)"
    }

    /// `1234567` → `1,234,567`.
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return out
    }
}
