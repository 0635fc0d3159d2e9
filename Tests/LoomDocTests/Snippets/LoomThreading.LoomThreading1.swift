// Compiled, never run: the code block of LoomThreading.docc/LoomThreading.md (block 1), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomThreading

func loomThreading1() throws {
    let lock = Lock()
    nonisolated(unsafe) var counter = 101   // guarded by `lock`, which Swift cannot see: say so
    let workers = (0..<100).map { _ in Thread { lock.withLock { counter -= 1 } } }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
}
