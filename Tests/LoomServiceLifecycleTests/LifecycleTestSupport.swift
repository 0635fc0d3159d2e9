#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import LoomServer
import LoomSockets
import LoomThreading
import Synchronization

/// Echoes each line back until the client closes.
final class LineEcho: StreamRequestHandler {
    override func handle() throws {
        while true {
            let line = try rfile.readLine(maxLength: 65_536)
            if line.isEmpty { return }
            try wfile.write(line)
        }
    }
}

/// A client holding a connection open: one line out, the same line back.
func echo(_ socket: Socket, _ text: String) throws -> String {
    try socket.sendAll(text + "\n")
    var reply: [UInt8] = []
    while reply.last != 10 {
        let chunk = try socket.recv(maxBytes: 4096)
        if chunk.isEmpty { break }
        reply += chunk
    }
    return String(decoding: reply, as: UTF8.self)
}

/// A client with a generous timeout. The service's `run()` starts serving only once its task gets
/// one of Swift concurrency's threads, which on 2 cores are only two, and other suites' synchronous
/// tests can hold both for a long time under a sanitizer: in CI's Thread Sanitizer run a `recv`
/// waited out 60 s before the task ran. Every use is inside a `withTimeout` of 300 s.
func connect(port: Int) throws(SocketError) -> Socket {
    try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(240))
}

/// True once nothing accepts on `port` any more, waiting at most `timeout`.
func eventuallyRefused(port: Int, timeout: Duration = .seconds(120)) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        do {
            let socket = try connect(port: port)
            socket.close()
        } catch {
            return error.kind == .connectionRefused
        }
        usleep(10_000)
    }
    return false
}

/// True when the server closed `socket` (end-of-file or reset) within the socket's timeout.
func closedByServer(_ socket: Socket) -> Bool {
    do {
        while true {
            if try socket.recv(maxBytes: 4096).isEmpty { return true }
        }
    } catch {
        return error.kind == .connectionReset
    }
}

struct TimedOut: Error {}

/// Runs `body`, failing with ``TimedOut`` if it has not finished after `timeout` (the body is
/// cancelled then and left behind), so a broken shutdown that ignores cancellation fails the
/// test instead of hanging it: a task group would wait for such a body forever.
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let once = ResumeOnce(continuation)
        let work = Task {
            do { once.resume(.success(try await body())) } catch { once.resume(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: timeout)
            once.resume(.failure(TimedOut()))
            work.cancel()
        }
    }
}

/// Resumes a continuation with the first result only.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Protected<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Protected(continuation)
    }

    func resume(_ result: Result<T, any Error>) {
        continuation.withLock { pending in
            defer { pending = nil }
            return pending
        }?.resume(with: result)
    }
}

/// Runs blocking client code on a thread of its own: blocking a Swift concurrency thread (two
/// on this machine) could starve the ServiceGroup the test is driving.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = LoomThreading.Thread(name: "lifecycle-test-client", daemon: true) {
            continuation.resume(with: Result { try body() })
        }
        do { try thread.start() } catch { continuation.resume(throwing: error) }
    }
}
