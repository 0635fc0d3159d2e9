import ArgumentParser

/// `loom demo socket-server`: The course's raw socket server.
struct DemoSocketServer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "socket-server", abstract: "The course's raw socket server.")

    func run() throws {
        Console.error("loom demo socket-server: not implemented yet")
        throw ExitCode.failure
    }
}

/// `loom demo socket-client`: The course's raw socket client.
struct DemoSocketClient: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "socket-client", abstract: "The course's raw socket client.")

    func run() throws {
        Console.error("loom demo socket-client: not implemented yet")
        throw ExitCode.failure
    }
}
