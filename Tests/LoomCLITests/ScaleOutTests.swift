#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomTestSupport
import Testing

/// Two `loom serve` processes behind one real HAProxy (`balance roundrobin`, loopback): both
/// receive traffic and every reply is right; with `--proxy-protocol required` behind
/// `send-proxy-v2` and `send-proxy`, each server's log names the real clients, not HAProxy.
@Suite(.serialized) struct ScaleOutTests {
    @Test(arguments: ["threading", "eventloop"])
    func twoProcessesBehindHAProxy(mode: String) throws {
        let (first, firstLine) = try serve(["--port", "0", "--mode", mode])
        let (second, secondLine) = try serve(["--port", "0", "--mode", mode])
        let haproxy = try HAProxy(backends: [port(of: firstLine), port(of: secondLine)], sendProxy: .none)
        defer { haproxy.stop() }
        for index in 0..<10 {
            #expect(try exchange(port: haproxy.port, Array("scale \(index)".utf8)) == Array("SCALE \(index)".utf8))
        }
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        #expect(first.wait(timeout: .seconds(20)) == 0 && second.wait(timeout: .seconds(20)) == 0)
        let served = [first, second].map { child in
            String(decoding: child.readToEnd(child.stderr), as: UTF8.self).components(separatedBy: " wrote: ").count - 1
        }
        #expect(served == [5, 5], "round robin: \(served); haproxy log: \(haproxy.log)")
    }

    /// The documented recipe (README, "Behind HAProxy"): two `loom serve --proxy-protocol
    /// required` processes behind HAProxy with `send-proxy-v2` (then `send-proxy`, v1) and
    /// `balance roundrobin`. Both serve, every reply is right, and each server logs its clients
    /// as HAProxy saw them (127.0.0.1 and the client's own port), never HAProxy's address.
    @Test(arguments: ["threading", "eventloop", "async", "pool"], ["v2", "v1"])
    func twoProcessesBehindHAProxyWithProxyProtocol(mode: String, version: String) throws {
        let arguments = ["--port", "0", "--mode", mode, "--proxy-protocol", "required"]
        let (first, firstLine) = try serve(arguments)
        let (second, secondLine) = try serve(arguments)
        let haproxy = try HAProxy(backends: [port(of: firstLine), port(of: secondLine)],
                                  sendProxy: version == "v2" ? .v2() : .v1)
        defer { haproxy.stop() }
        var clientPorts: Set<Int> = []
        for index in 0..<10 {
            let socket = try Socket.createConnection(host: "127.0.0.1", port: haproxy.port, timeout: .seconds(20))
            defer { socket.close() }
            clientPorts.insert(try socket.localAddress.port)
            try socket.sendAll("proxied \(index)")
            try socket.shutdown(.write)
            var reply: [UInt8] = []
            while case let chunk = try socket.recv(maxBytes: 4096), !chunk.isEmpty { reply += chunk }
            #expect(reply == Array("PROXIED \(index)".utf8), "\(mode) \(version): \(haproxy.log)")
        }
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        #expect(first.wait(timeout: .seconds(20)) == 0 && second.wait(timeout: .seconds(20)) == 0)
        var logged: Set<Int> = []
        for child in [first, second] {
            let log = String(decoding: child.readToEnd(child.stderr), as: UTF8.self)
            let lines = log.split(separator: "\n").filter { $0.contains("connection from ") }
            #expect(lines.count == 5, "round robin, \(mode) \(version): \(log)")
            for line in lines {
                #expect(line.contains("(PROXY \(version))") && line.contains(" to 127.0.0.1:\(haproxy.port) "), "\(line)")
                let client = line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") }
                if let client, let port = Int(client.dropFirst("127.0.0.1:".count)) { logged.insert(port) }
            }
            #expect(log.components(separatedBy: " wrote: ").count - 1 == 5, "\(log)")
        }
        #expect(logged == clientPorts, "logged \(logged.sorted()), clients \(clientPorts.sorted())")
    }
}
