#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import Synchronization

/// A socket with Python's semantics and none of its traps.
///
/// - One owner per descriptor: ``close()`` is idempotent and safe from any thread, `deinit`
///   closes, and `Socket` is a class, so no copy can close another's descriptor. Closing a socket
///   that another thread is blocked on wakes that thread with ``SocketError/Kind/closed``, and the
///   descriptor number is not recycled while any call still uses it.
/// - Every descriptor is close-on-exec; every send uses `MSG_NOSIGNAL`, so a vanished peer is a
///   ``SocketError/Kind/brokenPipe`` or ``SocketError/Kind/connectionReset`` error, never a dead
///   process, and no process-wide signal disposition is touched; `EINTR` is retried.
/// - ``timeout`` follows Python: `nil` blocks, `.zero` is non-blocking, a positive duration makes
///   each call fail with ``SocketError/Kind/timedOut`` after that long (one monotonic deadline
///   per call, across partial progress and interruptions).
///
/// ```swift
/// let server = try Socket.createServer(host: "127.0.0.1", port: 9991)
/// let (connection, peer) = try server.accept()
/// let message = try connection.recv(maxBytes: 1024)   // [] means the peer closed
/// try connection.sendAll("不要回答,不要回答,不要回答")
/// connection.close()
/// ```
public final class Socket: Sendable, CustomStringConvertible {
    let descriptor: OwnedDescriptor
    // Timeout in nanoseconds; -1 means blocking (nil), 0 non-blocking.
    private let timeoutNanoseconds: Atomic<Int64>

    /// The address family the socket was created with.
    public let family: SocketFamily
    /// Stream or datagram.
    public let type: SocketType

    /// Python's `socket.socket(family, type)`: a new blocking, close-on-exec socket.
    public init(family: SocketFamily = .ipv4, type: SocketType = .stream) throws(SocketError) {
        let fd = try socketCall(.socket) { _ in
            Glibc.socket(family.rawValue, type.rawValue | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        descriptor = OwnedDescriptor(fd)
        timeoutNanoseconds = Atomic(-1)
        self.family = family
        self.type = type
    }

    /// Takes ownership of an open socket descriptor (Python's `socket.socket(fileno=fd)`): from
    /// now on this `Socket` closes it, so nobody else may.
    ///
    /// Family and type are read from the kernel; close-on-exec is set; a descriptor in
    /// non-blocking mode gets the timeout `.zero`. If this throws (`fd` is not an IPv4, IPv6 or
    /// Unix socket), the caller still owns `fd`.
    public init(adopting fd: Int32) throws(SocketError) {
        var domain: Int32 = 0
        var kind: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try socketCall(.getsockopt, on: fd) { _ in getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) }
        length = socklen_t(MemoryLayout<Int32>.size)
        _ = try socketCall(.getsockopt, on: fd) { _ in getsockopt(fd, SOL_SOCKET, SO_TYPE, &kind, &length) }
        guard let family = SocketFamily(rawValue: domain) else {
            throw SocketError("adopt", kind: .invalidArgument, errno: EAFNOSUPPORT,
                              detail: "descriptor \(fd) has address family \(domain), not IPv4, IPv6 or Unix")
        }
        guard kind == Int32(SOCK_STREAM.rawValue) || kind == Int32(SOCK_DGRAM.rawValue) else {
            throw SocketError("adopt", kind: .invalidArgument, errno: ESOCKTNOSUPPORT,
                              detail: "descriptor \(fd) is neither a stream nor a datagram socket")
        }
        _ = try socketCall(.fcntl, on: fd) { _ in fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let flags = try socketCall(.fcntl, on: fd) { _ in fcntl(fd, F_GETFL) }
        descriptor = OwnedDescriptor(fd)
        timeoutNanoseconds = Atomic(flags & O_NONBLOCK != 0 ? 0 : -1)
        self.family = family
        type = kind == Int32(SOCK_DGRAM.rawValue) ? .datagram : .stream
    }

    init(descriptor fd: Int32, family: SocketFamily, type: SocketType) {
        descriptor = OwnedDescriptor(fd)
        timeoutNanoseconds = Atomic(-1)
        self.family = family
        self.type = type
    }

    /// Python's `socket.socketpair()`: two connected Unix-domain sockets, for tests and for
    /// talking between threads of one process.
    public static func pair(type: SocketType = .stream) throws(SocketError) -> (Socket, Socket) {
        var fds: (Int32, Int32) = (-1, -1)
        _ = try withUnsafeMutableBytes(of: &fds) { (raw) throws(SocketError) in
            try socketCall(.socketpair) { _ in
                socketpair(AF_UNIX, type.rawValue | Int32(SOCK_CLOEXEC.rawValue), 0,
                           raw.baseAddress!.assumingMemoryBound(to: Int32.self))
            }
        }
        return (Socket(descriptor: fds.0, family: .unix, type: type),
                Socket(descriptor: fds.1, family: .unix, type: type))
    }

    deinit {
        descriptor.closeFromDeinit()
    }

    /// The descriptor, or -1 once closed (Python's `fileno()`). The socket still owns it: never
    /// close it yourself, and do not use it after ``close()``.
    public var fileDescriptor: Int32 { descriptor.current }

    /// True once ``close()`` has been called.
    public var isClosed: Bool { descriptor.isClosed }

    /// Closes the socket. Idempotent and safe from any thread: only the first call closes.
    ///
    /// Calls blocked on this socket in other threads (`accept`, `recv`, `send`, `connect`) wake
    /// up and throw ``SocketError/Kind/closed`` (Python's would stay blocked on Linux); the
    /// descriptor itself is released when the last of them returns, so its number is never
    /// reused under a running call. Any later call throws ``SocketError/Kind/closed``.
    /// Closing does not remove a Unix-domain socket's file: see
    /// ``createUnixServer(path:type:backlog:)``.
    public func close() {
        descriptor.close()
    }

    // MARK: Timeouts

    /// Python's `settimeout`/`gettimeout`: `nil` blocks, `.zero` never blocks
    /// (``SocketError/Kind/wouldBlock``), a positive duration bounds each call
    /// (``SocketError/Kind/timedOut``). A negative duration is treated as `.zero`.
    ///
    /// The timeout is per call: `recv` waits at most that long for its data, `sendAll` and
    /// `connect` at most that long in total, interruptions included.
    public var timeout: Duration? {
        get {
            let nanos = timeoutNanoseconds.load(ordering: .relaxed)
            return nanos < 0 ? nil : .nanoseconds(nanos)
        }
        set {
            let nanos = newValue.map(Self.nanoseconds(of:)) ?? -1
            timeoutNanoseconds.store(nanos, ordering: .relaxed)
            // Any timeout runs the descriptor non-blocking and waits with poll, as CPython does.
            _ = try? descriptor.withDescriptor("settimeout") { fd throws(SocketError) in
                let flags = try socketCall(.fcntl, on: fd, operation: "settimeout") { _ in fcntl(fd, F_GETFL) }
                let wanted = nanos < 0 ? flags & ~O_NONBLOCK : flags | O_NONBLOCK
                if wanted != flags { _ = try socketCall(.fcntl, on: fd, operation: "settimeout") { _ in fcntl(fd, F_SETFL, wanted) } }
            }
        }
    }

    /// Python's `setblocking`: `true` is `timeout = nil`, `false` is `timeout = .zero`.
    public func setBlocking(_ blocking: Bool) {
        timeout = blocking ? nil : .zero
    }

    private static func nanoseconds(of duration: Duration) -> Int64 {
        if duration <= .zero { return 0 }
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return Int64.max }
        let (total, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? Int64.max : max(1, total)
    }

    /// How the call about to start waits, fixed once at its start.
    func waitMode() -> WaitMode {
        let nanos = timeoutNanoseconds.load(ordering: .relaxed)
        if nanos < 0 { return .blocking }
        if nanos == 0 { return .nonBlocking }
        return .until(Deadline.after(.nanoseconds(nanos)))
    }

    /// Runs `call` on the descriptor with the socket's timeout semantics (`wait`): blocking,
    /// non-blocking (`EAGAIN` thrown as ``SocketError/Kind/wouldBlock``), or bounded by a deadline
    /// (non-blocking attempts and `poll` in between, the remaining time recomputed after each
    /// wake-up). `body` gets the descriptor and the byte count to transfer (`length`, or less under
    /// a test's fault plan). `operation` names the call in errors (`"sendall"` rather than `send`).
    @inline(__always)
    func perform<R: FixedWidthInteger>(
        _ call: SystemCall, _ operation: String, events: Int16, address: SocketAddress? = nil, wait: WaitMode,
        length: Int = 0, _ body: (_ fd: Int32, _ length: Int) -> R
    ) throws(SocketError) -> R {
        try descriptor.withDescriptor(operation) { (fd) throws(SocketError) -> R in
            try Self.perform(fd, call, operation, events: events, address: address, wait: wait, length: length, body)
        }
    }

    /// ``perform(_:_:events:address:wait:length:_:)`` for a caller already holding the descriptor.
    @inline(__always)
    static func perform<R: FixedWidthInteger>(
        _ fd: Int32, _ call: SystemCall, _ operation: String, events: Int16, address: SocketAddress?, wait: WaitMode,
        length: Int = 0, _ body: (_ fd: Int32, _ length: Int) -> R
    ) throws(SocketError) -> R {
        let deadline: Deadline
        switch wait {
        case .blocking:
            return try socketCall(call, on: fd, operation: operation, address: address, length: length) { body(fd, $0) }
        case .nonBlocking:
            if let result = try socketCallOrWouldBlock(call, on: fd, operation: operation, address: address,
                                                       length: length, { body(fd, $0) }) {
                return result
            }
            throw SocketError(operation, kind: .wouldBlock, errno: EAGAIN, address: address,
                              detail: "operation would block")
        case .until(let until):
            deadline = until
        }
        while true {
            if let result = try socketCallOrWouldBlock(call, on: fd, operation: operation, address: address,
                                                       length: length, { body(fd, $0) }) {
                return result
            }
            guard try waitUntilReady(fd, events: events, deadline: deadline, operation: operation) else {
                throw SocketError.timedOut(operation, address: address)
            }
        }
    }

    /// `Socket(fd: 5, ipv4, stream)`, for logs.
    public var description: String {
        "Socket(fd: \(fileDescriptor), \(family), \(type))"
    }
}

/// How one call waits: fixed at its start from ``Socket/timeout``.
enum WaitMode {
    case blocking
    case nonBlocking
    case until(Deadline)
}
