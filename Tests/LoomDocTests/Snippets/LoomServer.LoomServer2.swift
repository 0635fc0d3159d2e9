// Compiled, never run: the code block of LoomServer.docc/LoomServer.md (block 2), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomServer

func loomServer2() throws {
    final class Greeter: BaseRequestHandler {
        var greeting = ""
        override func handle() throws { try request.sendAll(greeting) }
    }

    let greeting = "hello"
    let server = try ThreadingTCPServer(port: 0, bindAndActivate: false) { request, clientAddress, server in
        let handler = Greeter(request: request, clientAddress: clientAddress, server: server)
        handler.greeting = greeting
        return handler
    }
    try server.socket.setOption(.reuseAddress, true)
    try server.serverBind()
    try server.serverActivate()
}
