#if canImport(Glibc)
import Glibc
#endif
import LoomSockets

// The same two loops as c/socket_bench.c, written with Loom's Socket:
//   pingpong N   one TCP connection over loopback, N round trips of 64 bytes (TCP_NODELAY);
//                prints round trips per second.
//   bulk BYTES   one TCP connection, BYTES sent in 64 KiB sendAll calls, received with
//                recv(into:) into a 64 KiB buffer; prints GB/s (10^9 bytes per second).

final class Worker: Sendable {
    private let handle: pthread_t
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    init(_ body: @escaping @Sendable () -> Void) {
        var handle = pthread_t()
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        pthread_create(&handle, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        self.handle = handle
    }
    func join() { pthread_join(handle, nil) }
}

func fail(_ message: String) -> Never {
    var line = "SocketBenchmarks: \(message)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func recvExactly(_ socket: Socket, _ buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Bool {
    var got = 0
    while got < buffer.count {
        let n = try socket.recv(into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...]))
        if n == 0 { return false }
        got += n
    }
    return true
}

func pingPong(_ rounds: Int) throws(SocketError) -> Double {
    let listener = try Socket.createServer(port: 0)
    let port = try listener.localAddress.port
    let server = Worker {
        do throws(SocketError) {
            let (connection, _) = try listener.accept()
            try connection.setOption(.noDelay, true)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
            defer { buffer.deallocate() }
            while try recvExactly(connection, buffer) {
                try connection.sendAll(UnsafeRawBufferPointer(buffer))
            }
        } catch {
            fail("server: \(error)")
        }
    }
    let client = try Socket.createConnection(host: "127.0.0.1", port: port)
    try client.setOption(.noDelay, true)
    let message = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
    defer { message.deallocate() }
    message.initializeMemory(as: UInt8.self, repeating: 0x61)
    let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
    defer { reply.deallocate() }
    for _ in 0..<1000 {   // warm-up
        try client.sendAll(UnsafeRawBufferPointer(message))
        guard try recvExactly(client, reply) else { fail("server closed") }
    }
    let start = ContinuousClock.now
    for _ in 0..<rounds {
        try client.sendAll(UnsafeRawBufferPointer(message))
        guard try recvExactly(client, reply) else { fail("server closed") }
    }
    let took = ContinuousClock.now - start
    client.close()
    server.join()
    return Double(rounds) / seconds(took)
}

func bulk(_ total: Int) throws(SocketError) -> Double {
    let chunk = 65_536
    let listener = try Socket.createServer(port: 0)
    let port = try listener.localAddress.port
    let sender = Worker {
        do throws(SocketError) {
            let (connection, _) = try listener.accept()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0x62)
            var sent = 0
            while sent < total {
                let n = min(chunk, total - sent)
                try connection.sendAll(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                sent += n
            }
            connection.close()
        } catch {
            fail("sender: \(error)")
        }
    }
    let receiver = try Socket.createConnection(host: "127.0.0.1", port: port)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    var received = 0
    let start = ContinuousClock.now
    while true {
        let n = try receiver.recv(into: buffer)
        if n == 0 { break }
        received += n
    }
    let took = ContinuousClock.now - start
    sender.join()
    guard received == total else { fail("received \(received) of \(total) bytes") }
    return Double(total) / seconds(took) / 1e9
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count > 0 else {
    fail("usage: SocketBenchmarks pingpong ROUNDS | bulk BYTES")
}
do throws(SocketError) {
    switch arguments[1] {
    case "pingpong": print(Int(try pingPong(count).rounded()))
    case "bulk": print((try bulk(count) * 1000).rounded() / 1000)
    default: fail("unknown mode \(arguments[1])")
    }
} catch {
    fail("\(error)")
}
