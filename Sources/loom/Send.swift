import ArgumentParser

/// `loom send`: the course's client.
struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send one message to a server and print its reply.")

    @Argument(help: "The message to send.")
    var message: String

    func run() throws {
        Console.error("loom send: not implemented yet")
        throw ExitCode.failure
    }
}
