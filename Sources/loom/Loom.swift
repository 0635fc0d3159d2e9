import ArgumentParser

/// `loom`: the course's servers, clients and demos, and the tools to measure them.
@main
struct LoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Python's sockets and threads, in Swift.",
        subcommands: [Serve.self, Send.self, Demo.self, Bench.self, Chat.self]
    )
}
