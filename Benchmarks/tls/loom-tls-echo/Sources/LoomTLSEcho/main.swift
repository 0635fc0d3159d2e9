// TLS echo on Loom's blocking TLSSocket, one thread per connection, as the threaded server will
// run it: handshake on the handler's thread under a timeout, then recv/sendAll.
//
// Usage: LoomTLSEcho --cert CERT.pem --key KEY.pem [--port P]
#if canImport(Glibc)
import Glibc
#endif
import Loom

var arguments = CommandLine.arguments.dropFirst().makeIterator()
var port = 9443
var certificate = ""
var key = ""
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--cert": certificate = arguments.next() ?? ""
    case "--key": key = arguments.next() ?? ""
    default: print("unknown argument \(argument)"); exit(2)
    }
}

let context = try TLSContext(purpose: .clientAuth)
try context.loadCertChain(certificate: certificate, privateKey: key)
let listener = try Socket.createServer(host: "127.0.0.1", port: port)
// One unbuffered write: the harness waits for this line in a file.
let banner = "loom-tls-echo listening on 127.0.0.1:\(port) pid=\(getpid())\n"
_ = banner.withCString { write(1, $0, strlen($0)) }

while true {
    let (connection, _) = try listener.accept()
    let worker = LoomThreading.Thread(daemon: true) {
        defer { connection.close() }
        try? connection.setOption(.noDelay, true)
        connection.timeout = .seconds(10)   // the handshake's idle bound
        guard let tls = try? context.wrap(connection, serverSide: true) else { return }
        connection.timeout = nil
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = (try? buffer.withUnsafeMutableBytes { try tls.recv(into: $0) }) ?? 0
            if count == 0 { break }
            guard (try? buffer.withUnsafeBytes({ try tls.sendAll(UnsafeRawBufferPointer(rebasing: $0[..<count])) })) != nil else { break }
        }
        tls.close()
    }
    try worker.start()
}
