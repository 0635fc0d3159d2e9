// Compiled, never run: the code block of LoomTLS.docc/LoomTLS.md (block 1), verbatim but for its
// imports, which move to the top of the file, and the listener it names. CatalogSnippetTests
// checks it stays in sync.
import LoomSockets
import LoomTLS

func loomTLS1(listener: Socket) throws {
    // A client, as `ssl.create_default_context().wrap_socket(sock, server_hostname=…)`:
    let context = try TLSContext(purpose: .serverAuth)      // TLS 1.2+, certificate and name checked
    let tls = try context.connect(host: "example.com", port: 443, timeout: .seconds(10))
    try tls.sendAll("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")
    let reply = try BufferedReader(tls).readToEnd()

    // A server, as `SSLContext(PROTOCOL_TLS_SERVER)` + `load_cert_chain` + `wrap_socket(server_side=True)`:
    let server = try TLSContext(purpose: .clientAuth)
    try server.loadCertChain(certificate: "cert.pem", privateKey: "key.pem")
    let (connection, _) = try listener.accept()
    let stream = try server.wrap(connection, serverSide: true)
    _ = (reply, stream)
}
