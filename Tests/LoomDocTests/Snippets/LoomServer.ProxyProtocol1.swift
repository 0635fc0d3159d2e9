// Compiled, never run: the code block of LoomServer.docc/ProxyProtocol.md (block 1), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomServer

final class Handler: BaseRequestHandler {
    override func handle() throws {
        let header = try ProxyHeaderReader(mode: .required, timeout: .seconds(5)).read(from: request)
        let client = header?.clientAddress ?? clientAddress
        try request.sendAll("hello, \(client)\n")
    }
}
