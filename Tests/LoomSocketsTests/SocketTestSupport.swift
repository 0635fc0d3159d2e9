#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

/// Every socket test runs one at a time: descriptor counts and timing margins stay meaningful,
/// and the 2-core machine is not flooded by tests racing each other.
@Suite(.serialized) struct SocketTests {}

/// A joinable pthread for tests (LoomThreading is built separately; the tests do not depend on it).
final class TestThread: Sendable {
    private let handle: pthread_t

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        var handle = pthread_t()
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let status = pthread_create(&handle, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        self.handle = handle
    }

    func join() {
        pthread_join(handle, nil)
    }
}

/// A connected TCP pair over IPv4 loopback: (client, server side).
func tcpPair(family: SocketFamily = .ipv4) throws -> (Socket, Socket) {
    let host = family == .ipv6 ? "::1" : "127.0.0.1"
    let listener = try Socket.createServer(host: host, port: 0, family: family)
    let client = try Socket(family: family)
    try client.connect(to: try listener.localAddress)
    let (server, _) = try listener.accept()
    return (client, server)
}

/// memcmp: byte-exact comparison that stays fast in debug builds.
func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

/// Measures how long `body` takes.
func elapsed(_ body: () throws -> Void) rethrows -> Duration {
    let start = ContinuousClock.now
    try body()
    return ContinuousClock.now - start
}

/// Expects `body` to throw a SocketError of `kind`.
func expectError(_ kind: SocketError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(kind), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as SocketError {
        #expect(error.kind == kind, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a SocketError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// True when `fd` has FD_CLOEXEC set.
func isCloseOnExec(_ fd: Int32) -> Bool {
    let flags = fcntl(fd, F_GETFD)
    return flags >= 0 && flags & FD_CLOEXEC != 0
}

/// The path of a real python3, or nil (the interop tests then say why they skip).
let python3Path: String? = {
    for path in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(path, X_OK) == 0 {
        return path
    }
    return nil
}()
