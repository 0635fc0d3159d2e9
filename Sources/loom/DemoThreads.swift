import ArgumentParser

/// `loom demo threads`: 100 threads started from a closure.
struct DemoThreads: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "threads", abstract: "100 threads started from a closure.")

    func run() throws {
        Console.error("loom demo threads: not implemented yet")
        throw ExitCode.failure
    }
}

/// `loom demo thread-subclass`: 100 threads from a Thread subclass overriding run().
struct DemoThreadSubclass: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "thread-subclass", abstract: "100 threads from a Thread subclass overriding run().")

    func run() throws {
        Console.error("loom demo thread-subclass: not implemented yet")
        throw ExitCode.failure
    }
}

/// `loom demo join`: join(timeout:) and daemon threads, as Python really behaves.
struct DemoJoin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "join", abstract: "join(timeout:) and daemon threads, as Python really behaves.")

    func run() throws {
        Console.error("loom demo join: not implemented yet")
        throw ExitCode.failure
    }
}
