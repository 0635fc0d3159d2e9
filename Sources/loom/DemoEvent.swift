import ArgumentParser

/// `loom demo event`: The traffic light and its cars, with an Event.
struct DemoEvent: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "event", abstract: "The traffic light and its cars, with an Event.")

    func run() throws {
        Console.error("loom demo event: not implemented yet")
        throw ExitCode.failure
    }
}
