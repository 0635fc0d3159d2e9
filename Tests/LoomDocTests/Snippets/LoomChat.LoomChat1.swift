// Compiled, never run: the code block of LoomChat.docc/LoomChat.md (block 1), verbatim but for
// its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import Loom

func loomChat1() throws {
    let server = try ChatMode.eventloop.makeServer(ChatServerConfiguration(port: 9998))
    try server.serveForever()          // server.shutdown(gracePeriod:) from another thread
}
