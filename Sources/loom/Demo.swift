import ArgumentParser

/// `loom demo …`: the programs of the Python course, with its bugs fixed.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one of the course's programs.",
        subcommands: [
            DemoThreads.self, DemoThreadSubclass.self, DemoJoin.self,
            DemoLock.self, DemoRLock.self, DemoSemaphore.self, DemoEvent.self,
            DemoSocketServer.self, DemoSocketClient.self,
        ]
    )
}
