#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomTestSupport
import Testing

/// Two `loom serve` processes behind one real HAProxy (`balance roundrobin`, loopback): both
/// receive traffic and every reply is right. The PROXY-protocol variant (`--proxy-protocol
/// required` with `send-proxy-v2` / `send-proxy`) comes with the engines' integration.
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
}
