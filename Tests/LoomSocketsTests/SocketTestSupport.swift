#if canImport(Glibc)
import Glibc
#endif
import Synchronization
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

/// A value shared with a test thread.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
    func update(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
}

/// How many descriptors the process has open (entries of /proc/self/fd).
func openDescriptorCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while readdir(dir) != nil { count += 1 }
    return count
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

/// Deterministic test data with a prime period (65,521 bytes), so that a dropped, repeated or
/// reordered chunk of any other length shows. Built by copying, which stays fast in debug builds.
func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    let period = 65_521
    let block = (0..<min(count, period)).map { UInt8(truncatingIfNeeded: ($0 &* 31) &+ ($0 >> 8) &+ seed) }
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        var offset = 0
        while offset < count {
            let n = min(block.count, count - offset)
            block.withUnsafeBufferPointer { source in
                UnsafeMutableRawPointer(buffer.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: n)
            }
            offset += n
        }
        initialized = count
    }
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

/// A unique path for a Unix-domain socket.
func temporarySocketPath(_ name: String) -> String {
    "/tmp/loom-test-\(getpid())-\(name)-\(UInt32.random(in: 0...UInt32.max)).sock"
}
