#if canImport(Glibc)
import Glibc
#endif
import Logging
import LoomServer
import LoomSockets
import LoomTestSupport
import LoomThreading
import Testing

/// A server of either family with `proxyProtocol` on, whose handler reads until the client
/// half-closes and answers `CLIENT VERSION\n` followed by every byte it read: what the handler
/// saw as the client address, the header's version (`v1`, `v2`, `-` for none), and the
/// application's bytes exactly.
final class ProxyServerHarness {
    /// The four ways Loom runs stream handlers.
    enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case threading, pool, eventloop, async
        var testDescription: String { rawValue }
    }

    let engine: Engine
    let log = LogRecorder()
    private var running: Running?
    private var eventLoopServer: EventLoopServer?

    init(_ engine: Engine, mode: ProxyProtocolMode, idleTimeout: Duration? = .seconds(20)) throws {
        self.engine = engine
        var configuration = ServerConfiguration(idleTimeout: idleTimeout, proxyProtocol: mode)
        configuration.gracePeriod = .seconds(1)
        switch engine {
        case .threading, .pool:
            let server = try TCPServer(
                port: 0, concurrency: engine == .pool ? .pool(workers: 3) : .threading,
                configuration: configuration, logger: log.logger
            ) { ReportHandler(request: $0, clientAddress: $1, server: $2) }
            running = try Running(server)
        case .eventloop:
            let server = try EventLoopServer(configuration: .init(server: configuration, loops: 2), logger: log.logger) {
                ReportProtocol()
            }
            server.start()
            eventLoopServer = server
        case .async:
            let server = try EventLoopServer(configuration: .init(server: configuration, loops: 2), logger: log.logger) { connection in
                var all: [UInt8] = []
                while true {
                    let chunk = try await connection.recv(maxBytes: 65_536)
                    if chunk.isEmpty { break }
                    all += chunk
                }
                try await connection.sendAll(report(connection.peerAddress, connection.proxyHeader) + all)
            }
            server.start()
            eventLoopServer = server
        }
    }

    var port: Int { running?.port ?? eventLoopServer!.serverAddress.port }

    /// The log lines refusing a PROXY header.
    var refusals: [LogRecorder.Entry] { log.all.filter { $0.message.contains("PROXY header") } }

    func stop() throws {
        try running?.stop()
        eventLoopServer?.shutdown(gracePeriod: .seconds(1))
    }
}

/// `CLIENT VERSION\n`.
func report(_ client: SocketAddress?, _ header: ProxyHeader?) -> [UInt8] {
    let version = header.map { $0.version == .v1 ? "v1" : "v2" } ?? "-"
    return Array("\(client.map { "\($0)" } ?? "?") \(version)\n".utf8)
}

/// The threaded families' reporting handler.
final class ReportHandler: BaseRequestHandler {
    override func handle() throws {
        var all: [UInt8] = []
        while true {
            let chunk = try request.recv(maxBytes: 65_536)
            if chunk.isEmpty { break }
            all += chunk
        }
        try request.sendAll(report(clientAddress, proxyHeader) + all)
    }
}

/// The event loop's reporting protocol.
final class ReportProtocol: StreamProtocol {
    private var transport: Transport?
    private var all: [UInt8] = []

    func connectionMade(_ transport: Transport) { self.transport = transport }
    func dataReceived(_ data: UnsafeRawBufferPointer) { all += data }
    func eofReceived() -> Bool {
        if let transport { transport.write(report(transport.peerAddress, transport.proxyHeader) + all) }
        return false
    }
    func connectionLost(_ error: (any Error)?) { transport = nil }
}

/// A python3 client with raw sockets: sends a PROXY header of `kind` and `payload` (as
/// `pieces` writes, 50 ms apart: a header split across reads), half-closes, and returns
/// everything the server answered before it closed or reset (nil when python failed).
func pythonClient(port: Int, kind: String, payload: [UInt8], pieces: Int = 1) throws -> [UInt8]? {
    let script = #"""
import socket, struct, sys, time
port, kind, payload, pieces = int(sys.argv[1]), sys.argv[2], bytes.fromhex(sys.argv[3]), int(sys.argv[4])
sig = b"\r\n\r\n\x00\r\nQUIT\n"
def v2(command, family, body):
    return sig + bytes([command, family]) + struct.pack("!H", len(body)) + body
headers = {
    "none": b"",
    "v1": b"PROXY TCP4 203.0.113.7 192.0.2.1 40001 443\r\n",
    "v1-ipv6": b"PROXY TCP6 2001:db8::7 2001:db8::1 40002 443\r\n",
    "v1-unknown": b"PROXY UNKNOWN\r\n",
    "v2": v2(0x21, 0x11, socket.inet_aton("203.0.113.8") + socket.inet_aton("192.0.2.1") + struct.pack("!HH", 40003, 443)),
    "v2-ipv6": v2(0x21, 0x21, socket.inet_pton(socket.AF_INET6, "2001:db8::8") + socket.inet_pton(socket.AF_INET6, "2001:db8::1") + struct.pack("!HH", 40004, 443)),
    "v2-unix": v2(0x21, 0x31, b"/run/client.sock".ljust(108, b"\0") + b"/run/server.sock".ljust(108, b"\0")),
    "v2-local": v2(0x20, 0x00, b""),
    "v2-tlv": v2(0x21, 0x11, socket.inet_aton("203.0.113.9") + socket.inet_aton("192.0.2.1") + struct.pack("!HH", 40005, 443) + bytes([0x05]) + struct.pack("!H", 6) + b"req-42"),
}
data = headers[kind] + payload
s = socket.create_connection(("127.0.0.1", port), timeout=30)
size = max(1, -(-len(data) // pieces))
reply = b""
try:
    for i in range(0, len(data), size):
        s.sendall(data[i:i + size])
        if pieces > 1: time.sleep(0.05)
    s.shutdown(socket.SHUT_WR)
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        reply += chunk
except OSError:
    pass  # a server refusing the connection closes it with unread bytes: a reset (or ENOTCONN) ends the reply
sys.stdout.write(reply.hex())
"""#
    let output = "/tmp/loom-proxy-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
    defer { unlink(output) }
    let hex = payload.map { String(format2: $0) }.joined()
    guard try HAProxy.run(["/usr/bin/python3", "-c", script, "\(port)", kind, hex, "\(pieces)"], log: output) == 0 else {
        return nil
    }
    return fromHex(HAProxy.read(output))
}

extension String {
    /// Two lower-case hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}

/// Bytes from hex text (nil if it is not hex).
func fromHex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(chars.count / 2)
    for index in stride(from: 0, to: chars.count, by: 2) {
        guard let byte = UInt8(String(decoding: chars[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
        bytes.append(byte)
    }
    return bytes
}
