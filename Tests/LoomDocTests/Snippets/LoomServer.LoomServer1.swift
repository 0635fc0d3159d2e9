// Compiled, never run: the code block of LoomServer.docc/LoomServer.md (block 1), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import Loom

func loomServer1() throws {
    final class MyTCPHandler: BaseRequestHandler {
        override func handle() throws {
            let data = try request.recv(maxBytes: 1024)
            print("\(clientAddress.host) wrote: \(String(decoding: data, as: UTF8.self))")
            try request.sendAll(String(decoding: data, as: UTF8.self).uppercased())
        }
    }

    let server = try ThreadingTCPServer(host: "localhost", port: 9999, handler: MyTCPHandler.self)
    try server.serveForever()
}
