import LoomChat
import LoomServer
import LoomSockets
import LoomThreading
import Testing

/// A chat server serving on its own thread for one test; `stop()` shuts it down and checks the
/// serving thread ended, within bounds.
final class RunningChat: Sendable {
    let server: any ChatServer
    let thread: LoomThreading.Thread

    init(_ mode: ChatMode, maxQueue: Int = ChatLimits.defaultMaxQueue) throws {
        server = try mode.makeServer(ChatServerConfiguration(host: "127.0.0.1", port: 0, maxQueue: maxQueue))
        thread = LoomThreading.Thread(name: "chat-serve", daemon: true) { [server] in try server.serveForever() }
        try thread.start()
    }

    var port: Int { server.serverAddress.port }

    func stop() throws {
        server.shutdown(gracePeriod: .seconds(2))
        #expect(try thread.join(timeout: .seconds(15)))
    }
}

/// Runs `body` with a fresh server of `mode`, always stopping it.
func withChat(_ mode: ChatMode, maxQueue: Int = ChatLimits.defaultMaxQueue, _ body: (RunningChat) throws -> Void) throws {
    let chat = try RunningChat(mode, maxQueue: maxQueue)
    defer { try? chat.stop() }
    try body(chat)
}

/// What a test client can fail with besides a socket error.
enum ChatTestError: Error {
    case unexpected(ServerMessage?, expected: String)
    case closed
}

/// A blocking client speaking the protocol; every read is bounded by the socket timeout, so a
/// server that never answers fails the test instead of hanging it.
final class ChatClient: @unchecked Sendable {  // used by one thread at a time (handed to a worker thread, then back after join)
    let socket: Socket
    let reader: BufferedReader

    init(port: Int, timeout: Duration = .seconds(20)) throws {
        socket = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: timeout)
        reader = BufferedReader(socket)
    }

    deinit { socket.close() }

    /// Connects and joins as `name`, checking the server's own join event comes back.
    static func join(_ name: String, port: Int) throws -> ChatClient {
        let client = try ChatClient(port: port)
        try client.send(.join(name: name))
        try client.expect(.joined(name: name))
        return client
    }

    func send(_ message: ClientMessage) throws {
        try socket.sendAll(message.encoded)
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        try socket.sendAll(bytes)
    }

    func sendRaw(_ text: String) throws {
        try socket.sendAll(Array(text.utf8))
    }

    /// The next line, raw (without newline); nil at end of file.
    func nextLine() throws -> [UInt8]? {
        let line = try reader.readLine(maxLength: 1 << 20)
        if line.isEmpty { return nil }
        #expect(line.last == 0x0A, "a server line without its newline")
        return Array(line.dropLast())
    }

    /// The next message; nil at end of file.
    func next() throws -> ServerMessage? {
        guard let line = try nextLine() else { return nil }
        return try ServerMessage.parse(line[...])
    }

    func expect(_ message: ServerMessage) throws {
        let got = try next()
        guard got == message else { throw ChatTestError.unexpected(got, expected: "\(message)") }
    }

    /// Reads until the server closes (or resets), returning what came; bounded by the timeout.
    func readUntilClosed(limit: Int = 100_000) throws -> [ServerMessage] {
        var messages: [ServerMessage] = []
        while messages.count < limit {
            let line: [UInt8]
            switch Result(catching: { () throws(SocketError) in try reader.readLine(maxLength: 1 << 20) }) {
            case .success(let read): line = read
            case .failure(let error) where error.kind == .connectionReset: return messages
            case .failure(let error): throw error
            }
            if line.isEmpty { return messages }
            if line.last == 0x0A, let message = try? ServerMessage.parse(line.dropLast()) { messages.append(message) }
        }
        return messages
    }

    /// The member list, asked with `{"cmd":"who"}` (messages in between are skipped).
    func who() throws -> [String] {
        try send(.who)
        while let message = try next() {
            if case .members(let names) = message { return names }
        }
        throw ChatTestError.closed
    }
}

/// Runs `bodies` on one Loom thread each and waits for all, bounded; rethrows the first error.
func inParallel(_ count: Int, timeout: Duration = .seconds(60), _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let errors = Queue<String>()
    let threads = (0..<count).map { index in
        LoomThreading.Thread(name: "chat-test-\(index)", daemon: true) {
            do { try body(index) } catch { try? errors.put("\(index): \(error)") }
        }
    }
    for thread in threads { try thread.start() }
    let deadline = ContinuousClock.now + timeout
    for thread in threads {
        let left = max(.zero, ContinuousClock.now.duration(to: deadline))
        #expect(try thread.join(timeout: left), "a client thread did not finish in time")
    }
    if let first = try? errors.getNowait() { Issue.record("client failed: \(first)") }
}
