import ArgumentParser

/// `loom chat`: the chat room of the `LoomChat` module, its server and a terminal client.
struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A chat room on the course's JSON messages: serve it, or join it from a terminal.",
        subcommands: [ChatServe.self, ChatJoin.self]
    )
}
