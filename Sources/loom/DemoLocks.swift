import ArgumentParser

/// `loom demo lock`: 100 threads decrement a counter under a Lock.
struct DemoLock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lock", abstract: "100 threads decrement a counter under a Lock.")

    func run() throws {
        Console.error("loom demo lock: not implemented yet")
        throw ExitCode.failure
    }
}

/// `loom demo rlock`: Nested run1/run2 inside one RLock.
struct DemoRLock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rlock", abstract: "Nested run1/run2 inside one RLock.")

    func run() throws {
        Console.error("loom demo rlock: not implemented yet")
        throw ExitCode.failure
    }
}

/// `loom demo semaphore`: A BoundedSemaphore(5) shared by 20 threads.
struct DemoSemaphore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "semaphore", abstract: "A BoundedSemaphore(5) shared by 20 threads.")

    func run() throws {
        Console.error("loom demo semaphore: not implemented yet")
        throw ExitCode.failure
    }
}
