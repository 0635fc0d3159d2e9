// Compiled, never run: the code block of LoomSockets.docc/LoomSockets.md (block 2), verbatim
// but for its imports, which move to the top of the file. CatalogSnippetTests checks it stays in sync.
import LoomSockets

func loomSockets2() throws {
    // The course's client, with a timeout on every call.
    let socket = try Socket.createConnection(host: "localhost", port: 9991, timeout: .seconds(5))
    try socket.sendAll(#"{"status":true,"leave":true,"msg":"我下线了！"}"#)
    let reply = try BufferedReader(socket).readToEnd()
    _ = reply  // not part of the snippet: a use, so the copy compiles without a warning
}
