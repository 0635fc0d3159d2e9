#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import Synchronization

/// Stream (TCP, Unix stream) or datagram (UDP, Unix datagram).
public enum SocketType: Sendable, Hashable {
    case stream, datagram

    var rawValue: Int32 {
        switch self {
        case .stream: Int32(SOCK_STREAM.rawValue)
        case .datagram: Int32(SOCK_DGRAM.rawValue)
        }
    }
}

/// Which direction(s) ``Socket/shutdown(_:)`` closes.
public enum ShutdownMode: Sendable {
    case read, write, both

    var rawValue: Int32 {
        switch self {
        case .read: Int32(SHUT_RD)
        case .write: Int32(SHUT_WR)
        case .both: Int32(SHUT_RDWR)
        }
    }
}

/// A socket with Python's semantics and none of its traps.
///
/// - One owner per descriptor: ``close()`` is idempotent, `deinit` closes, and a `Socket` is a
///   class, so no copy can close another's descriptor.
/// - Every descriptor is close-on-exec; every send uses `MSG_NOSIGNAL`, so a vanished peer is a
///   ``SocketError/Kind/brokenPipe`` error, never a dead process; `EINTR` is retried.
/// - ``timeout`` follows Python: `nil` blocks, `.zero` is non-blocking, a positive duration makes
///   each call fail with ``SocketError/Kind/timedOut`` after that long (one monotonic deadline
///   per call, across partial progress and interruptions).
///
/// ```swift
/// let server = try Socket()
/// try server.bind(to: SocketAddress("127.0.0.1:9991"))
/// try server.listen()
/// let (connection, peer) = try server.accept()
/// let message = try connection.recv(maxBytes: 1024)   // [] means the peer closed
/// try connection.sendAll("不要回答,不要回答,不要回答")
/// ```
public final class Socket: Sendable, CustomStringConvertible {
    // -1 once closed. Atomic so that close() from any thread closes exactly once.
    private let descriptor: Atomic<Int32>
    // Timeout in nanoseconds; -1 means blocking (nil).
    private let timeoutNanoseconds: Atomic<Int64>

    /// The address family the socket was created with.
    public let family: SocketFamily
    /// Stream or datagram.
    public let type: SocketType

    /// Creates a socket (close-on-exec, blocking).
    public init(family: SocketFamily = .ipv4, type: SocketType = .stream) throws(SocketError) {
        let fd = try systemCall("socket") { Glibc.socket(family.rawValue, type.rawValue | Int32(SOCK_CLOEXEC.rawValue), 0) }
        descriptor = Atomic(fd)
        timeoutNanoseconds = Atomic(-1)
        self.family = family
        self.type = type
    }

    /// Takes ownership of an open descriptor: the socket closes it from now on.
    /// Family and type are read from the kernel; close-on-exec is set.
    public init(adopting fd: Int32) throws(SocketError) {
        var domain: Int32 = 0
        var kind: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try systemCall("getsockopt") { getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) }
        length = socklen_t(MemoryLayout<Int32>.size)
        _ = try systemCall("getsockopt") { getsockopt(fd, SOL_SOCKET, SO_TYPE, &kind, &length) }
        _ = try systemCall("fcntl") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let flags = try systemCall("fcntl") { fcntl(fd, F_GETFL) }
        descriptor = Atomic(fd)
        timeoutNanoseconds = Atomic(flags & O_NONBLOCK != 0 ? 0 : -1)
        family = SocketFamily(rawValue: domain) ?? .unix
        type = kind == Int32(SOCK_DGRAM.rawValue) ? .datagram : .stream
    }

    init(descriptor fd: Int32, family: SocketFamily, type: SocketType) {
        descriptor = Atomic(fd)
        timeoutNanoseconds = Atomic(-1)
        self.family = family
        self.type = type
    }

    /// A connected pair of Unix-domain sockets (`socketpair`), for tests and for talking between
    /// threads of one process.
    public static func pair(type: SocketType = .stream) throws(SocketError) -> (Socket, Socket) {
        var fds: [Int32] = [-1, -1]
        _ = try systemCall("socketpair") { socketpair(AF_UNIX, type.rawValue | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (Socket(descriptor: fds[0], family: .unix, type: type), Socket(descriptor: fds[1], family: .unix, type: type))
    }

    deinit {
        close()
    }

    /// The descriptor, or -1 once closed. The socket still owns it: do not close it yourself.
    public var fileDescriptor: Int32 { descriptor.load(ordering: .relaxed) }

    /// True once ``close()`` has run.
    public var isClosed: Bool { fileDescriptor < 0 }

    /// Closes the descriptor. Idempotent: only the first call (from any thread) closes.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        // Never retry close on Linux: the descriptor is released even when it reports EINTR.
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    func liveDescriptor(_ operation: @autoclosure () -> String) throws(SocketError) -> Int32 {
        let fd = descriptor.load(ordering: .relaxed)
        if fd < 0 { throw SocketError(operation(), kind: .closed, errno: EBADF, detail: "socket is closed") }
        return fd
    }

    // MARK: Timeouts

    /// Python's `settimeout`: `nil` blocks, `.zero` never blocks (``SocketError/Kind/wouldBlock``),
    /// a positive duration bounds each call (``SocketError/Kind/timedOut``).
    /// A negative duration is treated as `.zero`.
    public var timeout: Duration? {
        get {
            let nanos = timeoutNanoseconds.load(ordering: .relaxed)
            return nanos < 0 ? nil : .nanoseconds(nanos)
        }
        set {
            let nanos: Int64
            if let newValue {
                let (seconds, attoseconds) = newValue.components
                nanos = newValue <= .zero ? 0 : max(1, seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
                    ? Int64.max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            } else {
                nanos = -1
            }
            timeoutNanoseconds.store(nanos, ordering: .relaxed)
            // Any timeout runs the descriptor non-blocking and waits with poll, as CPython does.
            guard let fd = try? liveDescriptor("settimeout") else { return }
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0 else { return }
            let wanted = nanos < 0 ? flags & ~O_NONBLOCK : flags | O_NONBLOCK
            if wanted != flags { _ = fcntl(fd, F_SETFL, wanted) }
        }
    }

    /// Python's `setblocking`: `true` is `timeout = nil`, `false` is `timeout = .zero`.
    public func setBlocking(_ blocking: Bool) {
        timeout = blocking ? nil : .zero
    }

    private func deadline() -> Deadline? {
        let nanos = timeoutNanoseconds.load(ordering: .relaxed)
        return nanos > 0 ? Deadline(after: .nanoseconds(nanos)) : nil
    }

    /// Runs one I/O call under the socket's timeout: blocking, non-blocking or with `deadline`.
    @inline(__always)
    private func perform<R: FixedWidthInteger>(
        _ operation: String, events: Int16, address: SocketAddress? = nil, deadline: Deadline?,
        _ body: (Int32) -> R
    ) throws(SocketError) -> R {
        let fd = try liveDescriptor(operation)
        let nanos = timeoutNanoseconds.load(ordering: .relaxed)
        if nanos < 0 {
            return try systemCall(operation, address: address) { body(fd) }
        }
        while true {
            if let result = try systemCallOrWouldBlock(operation, address: address, { body(fd) }) {
                return result
            }
            guard let deadline else {
                throw SocketError(operation, kind: .wouldBlock, errno: EAGAIN, address: address,
                                  detail: "operation would block")
            }
            guard try waitUntilReady(fd, events: events, deadline: deadline, operation: operation) else {
                throw SocketError.timedOut(operation, address: address)
            }
        }
    }

    // MARK: Connection set-up

    /// Binds to a local address. `EADDRINUSE` and `EACCES` are thrown at once.
    public func bind(to address: SocketAddress) throws(SocketError) {
        let fd = try liveDescriptor("bind")
        try address.withSockAddr { (sa, length) throws(SocketError) in
            _ = try systemCall("bind", address: address) { Glibc.bind(fd, sa, length) }
        }
    }

    /// Starts listening. The default backlog is `SOMAXCONN` (4096 here), not Python's 5, which
    /// refuses most of a burst of clients.
    public func listen(backlog: Int32 = SOMAXCONN) throws(SocketError) {
        let fd = try liveDescriptor("listen")
        _ = try systemCall("listen") { Glibc.listen(fd, max(0, backlog)) }
    }

    /// Accepts a connection. The new socket is blocking (timeout `nil`) and close-on-exec.
    public func accept() throws(SocketError) -> (Socket, SocketAddress) {
        var accepted: Int32 = -1
        let deadline = deadline()
        let address = try SocketAddress.fromKernel { (sa, length) throws(SocketError) in
            accepted = try perform("accept", events: Int16(POLLIN), deadline: deadline) { fd in
                cloom_accept4(fd, sa, length, Int32(SOCK_CLOEXEC.rawValue))
            }
        }
        return (Socket(descriptor: accepted, family: family, type: type), address)
    }

    /// Connects to `address`, honouring ``timeout``.
    public func connect(to address: SocketAddress) throws(SocketError) {
        let fd = try liveDescriptor("connect")
        let deadline = deadline()
        let nanos = timeoutNanoseconds.load(ordering: .relaxed)
        let result = try address.withSockAddr { (sa, length) throws(SocketError) -> Int32 in
            let result = Glibc.connect(fd, sa, length)
            return result == 0 ? 0 : errno
        }
        if result == 0 { return }
        // An interrupted blocking connect carries on in the kernel: wait for it as for EINPROGRESS.
        guard result == EINPROGRESS || result == EINTR else {
            throw SocketError("connect", errno: result, address: address)
        }
        if nanos == 0 {
            throw SocketError("connect", kind: .wouldBlock, errno: EINPROGRESS, address: address,
                              detail: "operation now in progress")
        }
        guard try waitUntilReady(fd, events: Int16(POLLOUT), deadline: deadline, operation: "connect") else {
            throw SocketError.timedOut("connect", address: address)
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try systemCall("connect") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) }
        if error != 0 { throw SocketError("connect", errno: error, address: address) }
    }

    /// Python's `shutdown`: after `.write` the peer reads end-of-file, and this side can still read.
    public func shutdown(_ mode: ShutdownMode) throws(SocketError) {
        let fd = try liveDescriptor("shutdown")
        _ = try systemCall("shutdown") { Glibc.shutdown(fd, mode.rawValue) }
    }

    // MARK: Sending

    /// Sends what the kernel takes at once and returns how many bytes that was.
    public func send(_ buffer: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        try perform("send", events: Int16(POLLOUT), deadline: deadline()) { fd in
            Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
        }
    }

    /// Sends some of `bytes` and returns how many were sent.
    public func send(_ bytes: [UInt8]) throws(SocketError) -> Int {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try send(raw) } }.get()
    }

    /// Sends every byte, looping over partial sends. With a timeout, one deadline covers the whole
    /// call; a timeout error means some bytes may have been sent.
    public func sendAll(_ buffer: UnsafeRawBufferPointer) throws(SocketError) {
        let deadline = deadline()
        var offset = 0
        while offset < buffer.count {
            let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            offset += try perform("sendall", events: Int16(POLLOUT), deadline: deadline) { fd in
                Glibc.send(fd, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
            }
        }
    }

    /// Sends every byte of `bytes`.
    public func sendAll(_ bytes: [UInt8]) throws(SocketError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try sendAll(raw) } }.get()
    }

    /// Sends `text` as UTF-8.
    public func sendAll(_ text: String) throws(SocketError) {
        var text = text
        try text.withUTF8 { utf8 in Result { () throws(SocketError) in try sendAll(UnsafeRawBufferPointer(utf8)) } }.get()
    }

    /// Sends one datagram to `address`.
    @discardableResult
    public func sendTo(_ bytes: [UInt8], to address: SocketAddress) throws(SocketError) -> Int {
        let deadline = deadline()
        return try bytes.withUnsafeBytes { raw in
            Result { () throws(SocketError) in
                try address.withSockAddr { (sa, length) throws(SocketError) in
                    try perform("sendto", events: Int16(POLLOUT), address: address, deadline: deadline) { fd in
                        Glibc.sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), sa, length)
                    }
                }
            }
        }.get()
    }

    // MARK: Receiving

    /// Receives into `buffer` without copying and returns the byte count; 0 means the peer closed
    /// (for a stream socket).
    public func recv(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try perform("recv", events: Int16(POLLIN), deadline: deadline()) { fd in
            Glibc.recv(fd, buffer.baseAddress, buffer.count, 0)
        }
    }

    /// Receives up to `maxBytes`. An empty result means the peer closed, as in Python.
    public func recv(maxBytes: Int) throws(SocketError) -> [UInt8] {
        let capacity = max(0, maxBytes)
        var failure: SocketError?
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            do throws(SocketError) {
                count = try recv(into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Receives one datagram (the part beyond `maxBytes` is discarded) and its sender.
    public func recvFrom(maxBytes: Int) throws(SocketError) -> ([UInt8], SocketAddress) {
        let capacity = max(0, maxBytes)
        var failure: SocketError?
        var sender: SocketAddress?
        let deadline = deadline()
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            count = 0
            do throws(SocketError) {
                sender = try SocketAddress.fromKernel { (sa, length) throws(SocketError) in
                    count = try perform("recvfrom", events: Int16(POLLIN), deadline: deadline) { fd in
                        Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, 0, sa, length)
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return (bytes, sender!)
    }

    // MARK: Addresses

    /// The local address (`getsockname`); with port 0 at bind, the real port.
    public var localAddress: SocketAddress {
        get throws(SocketError) {
            let fd = try liveDescriptor("getsockname")
            return try SocketAddress.fromKernel { (sa, length) throws(SocketError) in
                _ = try systemCall("getsockname") { getsockname(fd, sa, length) }
            }
        }
    }

    /// The connected peer's address (`getpeername`).
    public var peerAddress: SocketAddress {
        get throws(SocketError) {
            let fd = try liveDescriptor("getpeername")
            return try SocketAddress.fromKernel { (sa, length) throws(SocketError) in
                _ = try systemCall("getpeername") { getpeername(fd, sa, length) }
            }
        }
    }

    public var description: String {
        "Socket(fd: \(fileDescriptor), \(family), \(type))"
    }
}
