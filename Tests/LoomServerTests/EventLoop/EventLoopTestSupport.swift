#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import Dispatch
import Synchronization
import Testing
@testable import LoomServer
@testable import LoomSockets

/// A blocking loopback client with a generous timeout, so a broken server fails a test instead of hanging it.
func client(_ server: EventLoopServer, timeout: Duration = .seconds(10)) throws -> Socket {
    try Socket.createConnection(host: "127.0.0.1", port: server.serverAddress.port, timeout: timeout)
}

/// A client with a small receive window, so a server's writes back up into its write buffer.
func slowClient(_ server: EventLoopServer) throws -> Socket {
    let socket = try Socket()
    try socket.setOption(.receiveBufferSize, 4096)
    socket.timeout = .seconds(10)
    try socket.connect(to: SocketAddress(host: "127.0.0.1", port: server.serverAddress.port))
    return socket
}

/// Reads exactly `count` bytes, or fewer if the peer closes first.
func recvExactly(_ socket: Socket, _ count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let n = try bytes.withUnsafeMutableBytes { raw in
            Result { () throws(SocketError) in try socket.recv(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...])) }
        }.get()
        if n == 0 { break }
        filled += n
    }
    bytes.removeSubrange(filled...)
    return bytes
}

/// Reads until the peer closes (bounded by the socket's timeout).
func recvToEnd(_ socket: Socket) throws -> [UInt8] {
    var bytes: [UInt8] = []
    while true {
        let chunk = try socket.recv(maxBytes: 65536)
        if chunk.isEmpty { return bytes }
        bytes += chunk
    }
}

/// Runs `body` on another thread; `wait()` returns its result.
final class Background<T: Sendable>: Sendable {
    private let result = Protected<T?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> T) {
        DispatchQueue.global().async { [self] in
            let value = body()
            result.withLock { $0 = value }
            done.signal()
        }
    }

    func wait(timeout: Duration = .seconds(20)) -> T? {
        let (seconds, atto) = timeout.components
        let nanos = Int(seconds) * 1_000_000_000 + Int(atto / 1_000_000_000)
        guard done.wait(timeout: .now() + .nanoseconds(nanos)) == .success else { return nil }
        return result.withLock { $0 }
    }
}

/// Collects errors reported by a server.
final class ErrorLog: Sendable {
    private let errors = Protected<[String]>([])
    var handler: @Sendable (any Error, SocketAddress?) -> Void {
        { [self] error, _ in errors.withLock { $0.append("\(error)") } }
    }
    var all: [String] { errors.withLock { $0 } }
}

/// Counts protocol callbacks across threads.
final class Counters: Sendable {
    let made = Atomic<Int>(0)
    let lost = Atomic<Int>(0)
    let lostWithError = Atomic<Int>(0)
    let paused = Atomic<Int>(0)
    let resumed = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)
}
