import LoomServer
import LoomSockets
import LoomThreading

/// The chat room the way the course teaches threads: Loom's `ThreadingTCPServer` gives each
/// client a `Thread` that reads its lines (`ChatReader`); each client also has a writer
/// `Thread` draining a bounded `Queue` (`QueueMember`); and the room, with its member table, is
/// only touched with one `Lock` held.
///
/// Holding the lock while a broadcast fills every member's queue is what gives all members the
/// same order of events; it is short, because a full queue is never waited on: its member is
/// dropped as too slow.
public final class ThreadingChatServer: ChatServer {
    let server: RoomTCPServer

    /// Binds and listens; ``serveForever()`` runs it.
    public init(configuration: ChatServerConfiguration) throws(ServerError) {
        server = try RoomTCPServer(configuration)
    }

    /// The bound address.
    public var serverAddress: SocketAddress { server.serverAddress }

    /// Accepts clients, a reader thread each, until ``shutdown(gracePeriod:)``.
    public func serveForever() throws(ServerError) {
        try server.serveForever()
    }

    /// Tells every member `{"event":"shutdown"}` (through its queue, after what it was already
    /// sent), then stops the server: readers still blocked after `gracePeriod` are cut off.
    public func shutdown(gracePeriod: Duration) {
        server.withRoom { $0.shutdown() }
        _ = try? server.shutdown(gracePeriod: gracePeriod)
    }
}

/// The `ThreadingTCPServer` that carries the room to its handlers (Python's idiom: handlers
/// reach shared state through `self.server`).
// @unchecked Sendable: `room` is used only inside `lock.withLock`; the rest is immutable.
final class RoomTCPServer: ThreadingTCPServer, @unchecked Sendable {
    private let lock = Lock()
    private let room = ChatRoom()
    let maxQueue: Int

    init(_ configuration: ChatServerConfiguration) throws(ServerError) {
        maxQueue = configuration.maxQueue
        // Daemon threads: a stuck client never keeps the process alive after shutdown's grace period.
        try super.init(
            host: configuration.host, port: configuration.port, handler: ChatReader.self,
            concurrency: .threading(daemonThreads: true),
            configuration: ServerConfiguration(allowReuseAddress: true, threadStackSize: 256 * 1024,
                                               threadName: "chat-reader"))
    }

    /// Runs `body` with the member table's lock held.
    func withRoom<Result>(_ body: (ChatRoom) -> Result) -> Result {
        lock.withLock { body(room) }
    }
}

/// One client's reading thread: lines in, room decisions under the lock.
final class ChatReader: BaseRequestHandler {
    /// After a line over the limit the client is told and the connection closes; until the
    /// client stops sending (at most this many bytes, for at most this long) its bytes are read and
    /// dropped, so the error is not lost to a reset.
    static let lingerBytes = 16 << 20
    static let lingerTime = Duration.seconds(2)

    override func handle() throws {
        guard let server = server as? RoomTCPServer else { return }
        // The writer already batches lines; Nagle would only add delay (the event loop sets it too).
        try? request.setOption(.noDelay, true)
        let member = QueueMember(socket: request, maxQueue: server.maxQueue)
        try member.start(name: "chat-writer")
        defer { member.finish() }
        let session = ChatSession(member: member)
        let reader = BufferedReader(request)
        while true {
            let line: [UInt8]
            do throws(SocketError) {
                line = try reader.readLine(maxLength: ChatLimits.maxLineLength + 1)
            } catch {
                line = []
            }
            if line.isEmpty {
                server.withRoom { $0.disconnected(session) }
                return
            }
            guard line.last == 0x0A else {
                if line.count > ChatLimits.maxLineLength {
                    server.withRoom { $0.lineTooLong(from: session) }
                    linger(reader)
                    return
                }
                continue  // the last bytes of a client that vanished mid-line: end of file is next
            }
            if server.withRoom({ $0.receive(line.dropLast(), from: session) }) == .close { return }
        }
    }

    private func linger(_ reader: BufferedReader) {
        request.timeout = ChatReader.lingerTime
        let deadline = ContinuousClock.now + ChatReader.lingerTime
        var discarded = 0
        while discarded < ChatReader.lingerBytes, ContinuousClock.now < deadline {
            guard let bytes = try? reader.read(upTo: 65_536), !bytes.isEmpty else { return }
            discarded += bytes.count
        }
    }
}
