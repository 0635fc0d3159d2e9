import ArgumentParser

/// `loom serve`: the course's ThreadingTCPServer and its siblings.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a socket server (default: the course's uppercase server on 127.0.0.1:9999).")

    func run() throws {
        Console.error("loom serve: not implemented yet")
        throw ExitCode.failure
    }
}
