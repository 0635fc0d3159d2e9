// Compiled, never run: the code block of LoomServer.docc/EventDrivenServers.md (block 2), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomServer

func eventDrivenServers2() throws {
    let server = try EventLoopServer(configuration: .init(port: 9999, idleTimeout: .seconds(30))) { connection in
        while true {
            let data = try await connection.recv(maxBytes: 4096)
            if data.isEmpty { return }            // the peer closed
            try await connection.sendAll(data)
        }
    }
    server.start()
    // … later, from any thread:
    server.shutdown(gracePeriod: .seconds(5))
}
