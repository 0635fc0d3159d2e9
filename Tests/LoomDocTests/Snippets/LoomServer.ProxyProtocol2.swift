// Compiled, never run: the code block of LoomServer.docc/ProxyProtocol.md (block 1, "In the
// servers"), verbatim but for its imports. CatalogSnippetTests checks it stays in sync.
import LoomServer

func proxyProtocolInTheServers() throws {
    final class Greeter: BaseRequestHandler {
        override func handle() throws {
            // clientAddress is the client HAProxy saw; the header's TLVs say more.
            let id = proxyHeader?.uniqueID.map { String(decoding: $0, as: UTF8.self) } ?? "-"
            try request.sendAll("hello, \(clientAddress) (\(id))\n")
        }
    }
    let configuration = ServerConfiguration(idleTimeout: .seconds(30), proxyProtocol: .required)
    let server = try ThreadingTCPServer(port: 9999, handler: Greeter.self, configuration: configuration)
    _ = server
}
