#if canImport(Glibc)
import Glibc
#endif
import LoomServer
import LoomSockets
import LoomSystem
import Logging

/// The event loop's read and write path (`Transport`), with `EchoProtocol` and
/// `UppercaseProtocol`, under faults the input scripts call by call through the foundation's
/// seam: short reads and writes, `EINTR`, `EAGAIN` (a readiness that was not real), and
/// `ECONNRESET`; and the same path under an async/await echo handler (`AsyncConnection`). One
/// server of each kind serves every input of the process.
@_spi(Fuzzing) public enum EventLoopReadHarness {
    /// Input: the handler (echo, upper or async echo), a script of answers to the server's `recv`s and
    /// `send`s, then the bytes a client sends before half-closing. Properties: what the client
    /// gets back is a prefix of the protocol's model output (nothing invented, nothing
    /// reordered), the whole of it unless a reset was injected; the server closes the
    /// connection either way (its connection count returns to 0: nothing leaks); nothing hangs
    /// (every wait is bounded and a timeout is a failure).
    public static func run(_ data: [UInt8]) throws(FuzzFailure) {
        var input = FuzzInput(data)
        let kind = Kind(rawValue: input.byte() % 3) ?? .echo
        let script = input.take(Int(input.byte() % 64))
        try exchange(input.rest(), kind: kind, script: script)
    }

    /// `UppercaseProtocol`'s byte transform alone, no faults: every input byte is the client's.
    /// Properties: the reply has the request's length, `a`–`z` become `A`–`Z`, every other
    /// byte (UTF-8 or not, NUL, CR, LF) comes back unchanged.
    public static func runUppercase(_ data: [UInt8]) throws(FuzzFailure) {
        try exchange(data, kind: .upper, script: [])
    }

    /// One exchange at a time: both entry points share the servers and their scripts, and the
    /// connection-count check needs the server to itself (the replay tests run in parallel).
    /// A lock with nothing to guard, not a `Protected(())`: see ``Protected`` on empty values.
    static let oneAtATime = Monitor()

    /// The servers: `EchoProtocol`, `UppercaseProtocol`, an async/await echo.
    enum Kind: UInt8 { case echo, upper, asyncEcho }

    static func exchange(_ payload: [UInt8], kind: Kind, script: [UInt8]) throws(FuzzFailure) {
        try oneAtATime.withLock { () throws(FuzzFailure) in try exchangeAlone(payload, kind: kind, script: script) }
    }

    private static func exchangeAlone(_ payload: [UInt8], kind: Kind, script: [UInt8]) throws(FuzzFailure) {
        let upper = kind == .upper
        guard payload.count <= 16_384 else { return }  // client sends, then reads: one thread
        let (server, faults) = switch kind {
        case .echo: (Self.echo, Self.echoFaults)
        case .upper: (Self.upper, Self.upperFaults)
        case .asyncEcho: (Self.asyncEcho, Self.asyncFaults)
        }
        faults.load(script)
        defer { faults.load([]) }

        let expected = upper ? payload.map { $0 &- 97 < 26 ? $0 &- 32 : $0 } : payload
        var received: [UInt8] = []
        var clientError: (any Error)?
        do {
            let client = try Socket.createConnection(host: "127.0.0.1", port: server.serverAddress.port, timeout: .seconds(10))
            defer { client.close() }
            do {
                try client.sendAll(payload)
                try client.shutdown(.write)
                while true {
                    let bytes = try client.recv(maxBytes: 65_536)
                    if bytes.isEmpty { break }
                    received += bytes
                }
            } catch {
                clientError = error
            }
        } catch {
            try fuzzCheck(false, "connecting: \(error)")
        }
        let reset = faults.resetInjected
        if let clientError, !reset {
            try fuzzCheck(false, "no reset injected, yet the client failed: \(clientError)")
        }
        try fuzzCheck(received.count <= expected.count && Array(expected.prefix(received.count)) == received,
                  "the reply is not a prefix of the model's (\(received.count) of \(expected.count) bytes)")
        try fuzzCheck(reset || received == expected, "no reset injected, yet only \(received.count) of \(expected.count) bytes came back")
        let closed = waitUntil(.seconds(10)) { server.connectionCount == 0 }
        try fuzzCheck(closed, "the server still counts \(server.connectionCount) connection(s)")
    }

    /// The answers of one server: decoded from the script, one step per `recv` or `send`.
    final class Faults: Sendable {
        private let script = Protected<(steps: ArraySlice<UInt8>, reset: Bool)>(([], false))

        func load(_ steps: [UInt8]) { script.withLock { $0 = (steps[...], false) } }

        var resetInjected: Bool { script.withLock { $0.reset } }

        func answer(_ call: SystemCall) -> InjectedFault? {
            guard call == .recv || call == .send else { return nil }
            return script.withLock { state -> InjectedFault? in
                guard let step = state.steps.popFirst() else { return nil }
                switch step % 8 {
                case 0: return nil
                case 2: return .error(EINTR)
                case 3: return .error(EAGAIN)
                case 4:
                    state.reset = true
                    return .error(call == .recv ? ECONNRESET : EPIPE)
                default: return .transferAtMost(1 + Int(step >> 3))
                }
            }
        }
    }

    static let echoFaults = Faults()
    static let upperFaults = Faults()
    static let asyncFaults = Faults()
    static let echo = start(faults: echoFaults) { logger throws(SocketError) in
        try EventLoopServer(configuration: .init(loops: 1), logger: logger) { EchoProtocol() }
    }
    static let upper = start(faults: upperFaults) { logger throws(SocketError) in
        try EventLoopServer(configuration: .init(loops: 1), logger: logger) { UppercaseProtocol() }
    }
    static let asyncEcho = start(faults: asyncFaults) { logger throws(SocketError) in
        try EventLoopServer(configuration: .init(loops: 1), logger: logger) { connection in
            while true {
                let bytes = try await connection.recv(maxBytes: 65_536)
                if bytes.isEmpty { return }
                try await connection.sendAll(bytes)
            }
        }
    }

    private static func start(faults: Faults, _ make: (Logger) throws(SocketError) -> EventLoopServer) -> EventLoopServer {
        do {
            let server = try make(Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
            // Connections accepted from a marked listener inherit its plan.
            let plan = FaultPlan { call, _ in faults.answer(call) }
            for fd in listeningDescriptors(port: server.serverAddress.port) { FaultInjection.apply(plan, to: fd) }
            server.start()
            return server
        } catch {
            fatalError("starting the fuzz server: \(error)")
        }
    }
}

/// The process's listening sockets on `port` (the event loop's listener, which the public API
/// does not expose): found by scanning `/proc/self/fd` with `getsockname`.
func listeningDescriptors(port: Int) -> [Int32] {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    defer { closedir(directory) }
    var found: [Int32] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let fd = Int32(name) else { continue }
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var listening: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard named == 0, Int32(storage.sin_family) == AF_INET, Int(UInt16(bigEndian: storage.sin_port)) == port,
              getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0, listening == 1 else { continue }
        found.append(fd)
    }
    return found
}

/// Polls `condition` every millisecond until it holds or `timeout` passes.
func waitUntil(_ timeout: Duration, _ condition: () -> Bool) -> Bool {
    let deadline = Deadline.after(timeout)
    while !condition() {
        if deadline.hasPassed { return false }
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        nanosleep(&pause, nil)
    }
    return true
}
