// Compiled, never run: the code block of LoomThreading.docc/ThreadsJoinAndExit.md, verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomThreading

func threadsJoinAndExit() throws {
    let worker = Thread { saveEverything() }      // non-daemon
    let ticker = Thread(daemon: true) { while true { tick() } }
    try worker.start()
    try ticker.start()
    Thread.exitProcess()   // waits for `worker`, then exits; `ticker` dies with the process
}

// The snippet's context: what its threads call.
private func saveEverything() {}
private func tick() {}
