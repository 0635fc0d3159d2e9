// Compiled, never run: the code block of LoomSockets.docc/LoomSockets.md (block 1), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomSockets

func loomSockets1() throws {
    // The course's server: bind, listen, accept, recv, sendall.
    let server = try Socket.createServer(host: "127.0.0.1", port: 9991)
    while true {
        let (connection, peer) = try server.accept()
        let message = try connection.recv(maxBytes: 1024)   // [] means the peer closed
        print(peer, String(decoding: message, as: UTF8.self))
        try connection.sendAll("不要回答,不要回答,不要回答")
        connection.close()
    }
}
