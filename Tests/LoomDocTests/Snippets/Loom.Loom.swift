// Compiled, never run: the code block of Loom.docc/Loom.md, verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import Foundation
import Loom

func loom() throws {
    typealias Thread = LoomThreading.Thread

    let worker = Thread(name: "worker") { print("hello from a Loom thread") }
    try worker.start()
    try worker.join()
}
