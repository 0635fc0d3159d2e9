import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Loom

/// `loom chat join`: a terminal client. Each line typed is sent as a message (`/who` asks for
/// the members); the room prints as `alice: hello`, `* bob joined`, `* bob left: 我下线了！`.
/// End of input (Ctrl-D) sends the course's leave message and exits 0 once the server has
/// closed. Errors that end it (refused, name taken) are one line on stderr and exit 1.
struct ChatJoin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "join", abstract: "Join a chat room from the terminal.")

    @Option(help: "Your name in the room.")
    var name: String

    @Option(help: "Server host.")
    var host = "127.0.0.1"

    @Option(help: "Server port.")
    var port = 9998

    /// How long to wait to connect, to be let in, and for the server to close after leaving.
    static let patience = Duration.seconds(10)

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") }
    }

    func run() throws {
        let socket: Socket
        let reader: BufferedReader
        let answer: ServerMessage?
        do throws(SocketError) {
            socket = try Socket.createConnection(host: host, port: port, timeout: Self.patience)
            reader = BufferedReader(socket)
            try socket.sendAll(ClientMessage.join(name: name).encoded)
            answer = try ChatJoin.nextMessage(reader)
            socket.timeout = nil
        } catch {
            Console.error("loom chat join: cannot join \(host):\(port): \(error)")
            throw ExitCode.failure
        }
        // The first answer is our own join event (we are in) or the reason we are not.
        switch answer {
        case .joined(let joined)?:
            Console.line(ChatTranscript.line(for: .joined(name: joined)))
        case .error(let reason)?:
            Console.error("loom chat join: \(PeerText.escaped(Array(reason.utf8)))")
            throw ExitCode.failure
        default:
            Console.error("loom chat join: the server closed the connection before letting us in")
            throw ExitCode.failure
        }

        let leaving = Event()
        let handOver = ReaderHandOver(reader)
        let receiver = Thread(name: "chat-receiver", daemon: true) {
            ChatJoin.receive(handOver.reader, leaving: leaving)
        }
        do throws(ThreadingError) {
            try receiver.start()
        } catch {
            Console.error("loom chat join: \(error)")
            throw ExitCode.failure
        }

        while let typed = readLine() {
            if typed.isEmpty { continue }
            let message: ClientMessage = typed == "/who" ? .who : .say(typed)
            // A failed send means the server is gone: the receiver reports it and exits.
            guard (try? socket.sendAll(message.encoded)) != nil else { break }
        }
        leaving.set()
        try? socket.sendAll(ClientMessage.courseLeave.encoded)
        // The receiver exits the process once the server closes; wait for it, bounded.
        _ = try? receiver.join(timeout: Self.patience)
        Console.error("loom chat join: the server did not close the connection after we left")
        throw ExitCode.failure
    }

    /// Prints the room until the server closes, then ends the process: 0 after our leave or the
    /// server's shutdown, 1 when the connection was lost otherwise.
    private static func receive(_ reader: BufferedReader, leaving: Event) -> Never {
        var shutDown = false
        while true {
            let message: ServerMessage?
            do throws(SocketError) {
                message = try nextMessage(reader)
            } catch {
                message = nil
            }
            guard let message else { break }
            if message == .shutdown { shutDown = true }
            if case .error(let text) = message {
                Console.error("loom chat join: server: \(PeerText.escaped(Array(text.utf8)))")
            } else {
                Console.line(ChatTranscript.line(for: message))
            }
        }
        if leaving.isSet || shutDown { Glibc.exit(0) }
        Console.error("loom chat join: the server closed the connection")
        Glibc.exit(1)
    }

    /// The next message from the server; nil at end of file. Lines it cannot read are skipped.
    private static func nextMessage(_ reader: BufferedReader) throws(SocketError) -> ServerMessage? {
        while true {
            let line = try reader.readLine(maxLength: ChatLimits.maxLineLength * 8)
            if line.isEmpty { return nil }
            guard line.last == 0x0A else { continue }
            if let message = try? ServerMessage.parse(line.dropLast()) { return message }
        }
    }
}

/// Gives the reader that read the join answer (and may hold more lines) to the receiver thread.
// @unchecked Sendable: handed over once; the main thread never touches the reader after starting the receiver.
private final class ReaderHandOver: @unchecked Sendable {
    let reader: BufferedReader
    init(_ reader: BufferedReader) { self.reader = reader }
}

/// How the terminal client shows the room; names and messages are escaped (`PeerText`) so no
/// one can forge a line or move the cursor with control characters.
enum ChatTranscript {
    static func line(for message: ServerMessage) -> String {
        switch message {
        case .message(let from, let text): "\(safe(from)): \(safe(text))"
        case .joined(let name): "* \(safe(name)) joined"
        case .left(let name, let text?, _): "* \(safe(name)) left: \(safe(text))"
        case .left(let name, nil, let reason?): "* \(safe(name)) left (\(safe(reason)))"
        case .left(let name, nil, nil): "* \(safe(name)) left"
        case .members(let names): "* members: \(names.map(safe).joined(separator: ", "))"
        case .shutdown: "* the server is shutting down"
        case .error(let text): "! \(safe(text))"
        }
    }

    private static func safe(_ text: String) -> String {
        PeerText.escaped(Array(text.utf8))
    }
}
