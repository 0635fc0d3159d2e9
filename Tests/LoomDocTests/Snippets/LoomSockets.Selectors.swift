// Compiled, never run: the code block of LoomSockets.docc/Selectors.md, verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomSockets

func selectors() throws {
    let listener = try Socket.createServer(host: "127.0.0.1", port: 0)
    listener.timeout = .zero
    let selector = try Selector<String>()
    try selector.register(listener, events: .read, data: "listener")
    var connections: [Socket] = []
    for (key, events) in try selector.select(timeout: .seconds(1)) where events.contains(.read) {
        if key.data == "listener", let (connection, _) = try? listener.accept() {
            connection.timeout = .zero
            try selector.register(connection, events: .read, data: "client")
            connections.append(connection)
        }
    }
}
