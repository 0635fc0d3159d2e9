#if canImport(Glibc)
import Glibc
import LoomSystem
#endif
import ArgumentParser
import LoomSockets
import Synchronization

/// The course's two strings.
enum DemoText {
    static let reply = "不要回答,不要回答,不要回答"
    static let message = #"{"status":true,"leave":true,"msg":"我下线了！"}"#
    static let goodbye = "我下线了"
}

/// `loom demo socket-server`: the course's raw socket server, with its bugs fixed.
///
/// Accepts one connection at a time, prints the message it receives, replies
/// `不要回答,不要回答,不要回答` and closes the connection (the course leaked it). A peer that sends
/// nothing, sends garbage, resets or floods it costs at most ``idleLimit`` and never stops the
/// server. Runs until SIGINT or SIGTERM, then exits with status 0.
struct DemoSocketServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socket-server",
        abstract: "The course's raw socket server: print each message, reply 不要回答,不要回答,不要回答.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one; the listening line shows it).")
    var port = 9991

    /// How long a peer may stay silent before its connection is dropped.
    static let idleLimit = Duration.seconds(10)
    /// After some bytes of a non-JSON message, a pause this long ends it.
    static let pauseLimit = Duration.milliseconds(300)

    func run() throws {
        let current = Protected<Socket?>(nil)
        let listener = Protected<Socket?>(nil)
        StopSignals.start { _ in
            // Closing wakes the blocked accept (or recv) with a "closed" error: the loop ends.
            listener.withLock { $0?.close() }
            current.withLock { $0?.close() }
        }
        let server: Socket
        do {
            server = try Socket.createServer(host: host, port: port)
        } catch {
            Console.error("socket-server: \(error)")
            throw ExitCode.failure
        }
        listener.withLock { $0 = server }
        Console.line("listening on tcp://\(try server.localAddress)")
        while true {
            let connection: Socket
            do {
                (connection, _) = try server.accept()
            } catch where error.kind == .closed {
                break
            } catch {
                // EMFILE and friends: back off instead of spinning, and keep serving.
                Console.error("socket-server: \(error)")
                usleep(100_000)
                continue
            }
            current.withLock { $0 = connection }
            Self.serve(connection)
            current.withLock { $0 = nil }
            connection.close()
            if server.isClosed { break }
        }
        server.close()
        Console.line("server stopped")
    }

    /// Reads one whole message, prints it, replies. Every failure is the peer's problem.
    static func serve(_ connection: Socket) {
        var message = MessageBoundary()
        do throws(SocketError) {
            while !message.isComplete {
                let waitingForMore = message.bytes.isEmpty || message.isJSONLike
                connection.timeout = waitingForMore ? idleLimit : pauseLimit
                let chunk: [UInt8]
                do throws(SocketError) {
                    chunk = try connection.recv(maxBytes: 4096)
                } catch where error.kind == .timedOut {
                    break
                }
                if chunk.isEmpty { break }
                message.append(chunk)
            }
            // Decode only now, whole: a character split across two reads arrives intact.
            if !message.bytes.isEmpty { Console.line(String(decoding: message.bytes, as: UTF8.self)) }
            connection.timeout = idleLimit
            try connection.sendAll(DemoText.reply)
        } catch where error.kind == .closed {
            return   // stopped by a signal
        } catch {
            Console.error("socket-server: \(error)")
        }
    }
}

/// `loom demo socket-client`: the course's raw socket client.
///
/// Connects, waits `--delay` seconds, sends `{"status":true,"leave":true,"msg":"我下线了！"}`,
/// prints the whole reply, then `我下线了`. When nothing listens: one line on stderr and exit
/// status 1.
struct DemoSocketClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socket-client",
        abstract: "The course's raw socket client: connect, wait, send the JSON message, print the reply.")

    @Option(help: "Server address.")
    var host = "127.0.0.1"

    @Option(help: "Server port.")
    var port = 9991

    @Option(help: "Seconds to wait between connecting and sending.")
    var delay: Double = 4

    func validate() throws {
        guard delay >= 0, delay.isFinite else { throw ValidationError("--delay must be 0 or more seconds") }
    }

    func run() throws {
        do throws(SocketError) {
            let socket = try Socket.createConnection(host: host, port: port, timeout: .seconds(10))
            if delay > 0 { usleep(UInt32(min(delay, 3600) * 1_000_000)) }
            try socket.sendAll(DemoText.message)
            // "That is all I send": lets the server stop reading at once.
            try socket.shutdown(.write)
            let reply = try Self.readReply(socket)
            Console.line(String(decoding: reply, as: UTF8.self))
            Console.line(DemoText.goodbye)
        } catch {
            Console.error("socket-client: \(error)")
            throw ExitCode.failure
        }
    }

    /// Reads until the server closes, or pauses for a second after replying (the course's
    /// server never closed). Decodes nothing: the caller decodes the whole reply at once.
    static func readReply(_ socket: Socket) throws(SocketError) -> [UInt8] {
        var reply: [UInt8] = []
        while reply.count < MessageBoundary.maxLength {
            socket.timeout = reply.isEmpty ? .seconds(10) : .seconds(1)
            do throws(SocketError) {
                let chunk = try socket.recv(maxBytes: 4096)
                if chunk.isEmpty { break }
                reply += chunk
            } catch where error.kind == .timedOut && !reply.isEmpty {
                break
            }
        }
        return reply
    }
}
