#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomTestSupport
import Testing

// `loom serve --metrics-port`: known traffic, then the Prometheus text scraped over a raw socket.

/// Starts `loom serve ARGUMENTS --metrics-port 0`; returns the child, the served port and the metrics port.
private func serveWithMetrics(_ arguments: [String]) throws -> (Child, Int, Int) {
    let (child, line) = try serve(["--port", "0", "--metrics-port", "0"] + arguments)
    let metricsLine = try #require(child.readLine(), "no metrics line")
    #expect(metricsLine.hasPrefix("metrics on http://127.0.0.1:") && metricsLine.hasSuffix("/metrics"), "got: \(metricsLine)")
    let metricsPort = Int(metricsLine.split(separator: ":").last?.split(separator: "/").first ?? "") ?? -1
    return (child, port(of: line), metricsPort)
}

/// One HTTP exchange on a raw socket: sends `request`, half-closes, returns (status line, body).
private func http(port: Int, _ request: [UInt8]) throws -> (status: String, body: String) {
    let reply = String(decoding: try exchange(port: port, request, timeout: .seconds(30)), as: UTF8.self)
    guard let headEnd = reply.range(of: "\r\n\r\n") else { return (reply, "") }
    let status = String(reply[..<(reply.range(of: "\r\n")?.lowerBound ?? headEnd.lowerBound)])
    return (status, String(reply[headEnd.upperBound...]))
}

private func scrape(port: Int) throws -> String {
    let (status, body) = try http(port: port, Array("GET /metrics HTTP/1.0\r\n\r\n".utf8))
    #expect(status == "HTTP/1.0 200 OK")
    return body
}

/// The value of sample `name` whose labels include `server` and `mode`, or nil.
private func sample(_ text: String, _ name: String, server: String, mode: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + "{") {
        guard line.contains("server=\"\(server)\""), line.contains("mode=\"\(mode)\""),
              let value = line.split(separator: " ").last else { continue }
        return Double(value)
    }
    return nil
}

@Suite struct ServeMetricsTests {
    @Test(arguments: ["threading", "pool", "eventloop", "async"])
    func scrapedValuesMatchTheTraffic(mode: String) throws {
        let (server, port, metricsPort) = try serveWithMetrics(["--mode", mode, "--handler", "echo", "--loops", "1", "--metrics-name", "cli"])
        defer {
            server.signal(SIGTERM)
            #expect(server.wait(timeout: .seconds(10)) == 0)
        }
        let before = try scrape(port: metricsPort)
        #expect(sample(before, "loom_connections_accepted_total", server: "cli", mode: mode) == 0, "\(before)")
        for index in 0..<3 {
            #expect(try exchange(port: port, pattern(1000, seed: index)) == pattern(1000, seed: index))
        }
        var text = ""
        #expect(eventually {
            text = (try? scrape(port: metricsPort)) ?? ""
            return sample(text, "loom_connection_duration_seconds_count", server: "cli", mode: mode) == 3
        }, "\(text)")
        #expect(sample(text, "loom_connections_accepted_total", server: "cli", mode: mode) == 3)
        #expect(sample(text, "loom_connections_active", server: "cli", mode: mode) == 0)
        #expect(sample(text, "loom_bytes_read_total", server: "cli", mode: mode) == 3000)
        #expect(sample(text, "loom_bytes_written_total", server: "cli", mode: mode) == 3000)
        #expect(sample(text, "loom_handler_errors_total", server: "cli", mode: mode) == 0)
        #expect(sample(text, "loom_connection_limit_reached_total", server: "cli", mode: mode) == 0)
        #expect(text.contains("# TYPE loom_connections_accepted_total counter"))
    }

    @Test func hostileRequestsToTheMetricsPortAreAnsweredOrDroppedAndAffectNobody() throws {
        let (server, port, metricsPort) = try serveWithMetrics(["--mode", "eventloop", "--loops", "1"])
        defer {
            server.signal(SIGTERM)
            #expect(server.wait(timeout: .seconds(10)) == 0)
        }
        _ = try scrape(port: metricsPort)   // whatever a first scrape sets up is in the baseline
        let baseline = server.descriptorCount
        // A client that connects, sends half a request line and stalls: closed by the idle timeout.
        let stalled = try Socket.createConnection(host: "127.0.0.1", port: metricsPort, timeout: .seconds(60))
        try stalled.sendAll(Array("GET /met".utf8))
        // One that vanishes mid-request.
        let vanishing = try Socket.createConnection(host: "127.0.0.1", port: metricsPort, timeout: .seconds(10))
        try vanishing.sendAll(Array("GET /metrics HT".utf8))
        try vanishing.setOption(.linger, Linger(.zero))   // close with RST
        vanishing.close()

        #expect(try http(port: metricsPort, Array("\u{0}\u{1}garbage\r\n\r\n".utf8)).status == "HTTP/1.0 400 Bad Request")
        #expect(try http(port: metricsPort, Array("GET /metrics\r\n\r\n".utf8)).status == "HTTP/1.0 400 Bad Request")
        #expect(try http(port: metricsPort, Array("POST /metrics HTTP/1.1\r\n\r\n".utf8)).status == "HTTP/1.0 404 Not Found")
        #expect(try http(port: metricsPort, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).status == "HTTP/1.0 404 Not Found")
        #expect(try http(port: metricsPort, Array("GET /metricsX HTTP/1.1\r\n\r\n".utf8)).status == "HTTP/1.0 404 Not Found")
        let huge = Array("GET /metrics HTTP/1.1\r\nX: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 20_000)
        #expect(try http(port: metricsPort, huge).status == "HTTP/1.0 431 Request Header Fields Too Large")
        // A half-closed client with no whole head gets nothing, and is closed.
        #expect(try exchange(port: metricsPort, Array("GET".utf8)) == [])
        // Meanwhile the endpoint and the server still answer.
        _ = try scrape(port: metricsPort)
        #expect(try exchange(port: port, Array("still here".utf8)) == Array("STILL HERE".utf8))

        let start = ContinuousClock.now
        #expect(try stalled.recv(maxBytes: 100) == [])
        #expect(ContinuousClock.now - start < .seconds(45))
        stalled.close()
        #expect(eventually { server.descriptorCount <= baseline }, "descriptors \(server.descriptorCount), baseline \(baseline)")
    }

    @Test func aBusyMetricsPortIsAOneLineErrorAndAnInvalidOneAUsageError() throws {
        let (first, _, metricsPort) = try serveWithMetrics([])
        defer {
            first.signal(SIGTERM)
            #expect(first.wait(timeout: .seconds(10)) == 0)
        }
        let second = try Child(["serve", "--port", "0", "--metrics-port", "\(metricsPort)"])
        #expect(second.wait(timeout: .seconds(10)) == 1)
        let error = String(decoding: second.readToEnd(second.stderr), as: UTF8.self)
        #expect(error.contains("loom serve: metrics port \(metricsPort):"), "\(error)")
        let invalid = try Child(["serve", "--port", "0", "--metrics-port", "70000"])
        #expect(invalid.wait(timeout: .seconds(10)) == 64)
    }
}
