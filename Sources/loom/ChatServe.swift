import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Loom

/// `loom chat serve`: runs the chat room. Prints exactly one line on stdout once it listens
/// (`listening on tcp://127.0.0.1:9998`); on SIGINT or SIGTERM every member gets
/// `{"event":"shutdown"}`, and the command exits with status 0.
struct ChatServe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the chat room.")

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one (printed in the listening line).")
    var port = 9998

    @Option(help: "threading (a reader thread, a queue and a writer thread per client) or eventloop (one event loop).")
    var mode: ChatMode = .threading

    @Option(name: .customLong("max-queue"), help: "Disconnect a member with more than this many messages waiting to be sent to it.")
    var maxQueue = ChatLimits.defaultMaxQueue

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
        guard maxQueue >= 1 else { throw ValidationError("--max-queue must be at least 1") }
    }

    func run() throws {
        // Before any other thread exists (see StopSignals): SIGINT/SIGTERM go to one sigwait thread.
        let stop = StopRequest()
        StopSignals.start { signal in stop.signal(signal) }
        LoggingSystem.bootstrap { StderrLogHandler(label: $0) }
        let logger = Logger(label: "loom.chat")

        let server: any ChatServer
        do throws(ServerError) {
            server = try mode.makeServer(ChatServerConfiguration(host: host, port: port, maxQueue: maxQueue))
        } catch {
            Console.error("loom chat serve: \(error)")
            throw ExitCode.failure
        }
        Console.line("listening on tcp://\(server.serverAddress)")

        stop.onSignal { signal in
            logger.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"); telling the members and shutting down")
            server.shutdown(gracePeriod: .seconds(2))
        }
        do throws(ServerError) {
            try server.serveForever()
        } catch {
            Console.error("loom chat serve: \(error)")
            throw ExitCode.failure
        }
        stop.waitUntilHandled(timeout: .seconds(10))
    }
}

extension ChatMode: ExpressibleByArgument {}
