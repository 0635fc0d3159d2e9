// Compiled, never run: the code block of LoomThreading.docc/LoomThreading.md (block 2), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import Foundation
import LoomThreading

func loomThreading2() throws {
    typealias LoomThread = LoomThreading.Thread
    let worker = LoomThread { print("working") }
    let reminder = LoomThreading.Timer(interval: .seconds(5)) { print("five seconds") }
    let lock = Lock()   // no clash: Foundation has no `Lock`
    _ = (worker, reminder, lock)  // not part of the snippet: uses, so the copy compiles without warnings
}
