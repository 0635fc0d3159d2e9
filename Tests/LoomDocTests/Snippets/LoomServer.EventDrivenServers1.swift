// Compiled, never run: the code block of LoomServer.docc/EventDrivenServers.md (block 1), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomServer

func eventDrivenServers1() throws {
    final class Echo: StreamProtocol {
        var transport: Transport!
        func connectionMade(_ transport: Transport) { self.transport = transport }
        func dataReceived(_ data: UnsafeRawBufferPointer) { transport.write(data) }
    }

    let server = try EventLoopServer(configuration: .init(port: 9999)) { Echo() }
    server.serveForever()          // until shutdown() from another thread
}
