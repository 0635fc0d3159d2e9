#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import LoomSystem

extension Socket {
    /// Python's `bind`: gives the socket a local address. Port 0 picks a free port (read it
    /// back with ``localAddress``). `EADDRINUSE` and `EACCES` are thrown at once, as
    /// ``SocketError/Kind/addressInUse`` and ``SocketError/Kind/permissionDenied``.
    public func bind(to address: SocketAddress) throws(SocketError) {
        try descriptor.withDescriptor("bind") { (fd) throws(SocketError) in
            try address.withSockAddr { (sa, length) throws(SocketError) in
                _ = try socketCall(.bind, on: fd, address: address) { _ in Glibc.bind(fd, sa, length) }
            }
        }
    }

    /// The default listen backlog: 4096, Linux's `SOMAXCONN` (the kernel caps any larger value at
    /// `net.core.somaxconn`).
    public static let defaultBacklog: Int32 = 4096

    /// Python's `listen`. The default backlog is ``defaultBacklog`` (4096), not Python's 128 or
    /// `socketserver`'s 5, which refuse most of a burst of clients. A negative backlog is clamped
    /// to 0, as in Python.
    public func listen(backlog: Int32 = Socket.defaultBacklog) throws(SocketError) {
        try descriptor.withDescriptor("listen") { (fd) throws(SocketError) in
            _ = try socketCall(.listen, on: fd) { _ in Glibc.listen(fd, max(0, backlog)) }
        }
    }

    /// Python's `accept`: waits for a connection (honouring ``timeout``) and returns it with the
    /// peer's address.
    ///
    /// The new socket is blocking (timeout `nil`, whatever the listener's timeout, as in Python)
    /// and close-on-exec from its first instant (`accept4` with `SOCK_CLOEXEC`).
    public func accept() throws(SocketError) -> (Socket, SocketAddress) {
        var accepted: Int32 = -1
        let wait = waitMode()
        let address = try descriptor.withDescriptor("accept") { (fd) throws(SocketError) in
            try SocketAddress.fromKernel(family: family) { (sa, length) throws(SocketError) in
                accepted = try Self.perform(fd, .accept, "accept", events: Int16(POLLIN), address: nil, wait: wait) { fd, _ in
                    cloom_accept4(fd, sa, length, Int32(SOCK_CLOEXEC.rawValue))
                }
            }
        }
        return (Socket(descriptor: accepted, family: family, type: type), address)
    }

    /// Python's `connect`, honouring ``timeout``: `nil` waits as long as the kernel does, `.zero`
    /// starts the connection and throws ``SocketError/Kind/wouldBlock`` (wait for writability,
    /// then read ``SocketOption/error``), a positive timeout throws
    /// ``SocketError/Kind/timedOut`` when the connection is not up in time.
    ///
    /// A refused connection throws ``SocketError/Kind/connectionRefused``, described as
    /// `connect to 127.0.0.1:9999: connection refused`.
    public func connect(to address: SocketAddress) throws(SocketError) {
        let wait = waitMode()
        let isUnix = family == .unix
        try descriptor.withDescriptor("connect") { (fd) throws(SocketError) in
            var backoff: Int32 = 1
            while true {
                // Not retried on EINTR: an interrupted connect goes on in the kernel (handled below).
                let code = try address.withSockAddr { (sa, length) throws(SocketError) -> Int32 in
                    switch systemCall(.connect, on: fd, retryingInterrupts: false, { _ in Glibc.connect(fd, sa, length) }) {
                    case .success: return 0
                    case .failure(let code): return code
                    }
                }
                switch code {
                case 0:
                    return
                case EINPROGRESS, EINTR:
                    // An interrupted blocking connect carries on in the kernel: wait for it as
                    // for a non-blocking one.
                    if case .nonBlocking = wait {
                        throw SocketError("connect", kind: .wouldBlock, errno: EINPROGRESS, address: address,
                                          detail: "operation now in progress")
                    }
                    var deadline: Deadline?
                    if case .until(let until) = wait { deadline = until }
                    guard try waitUntilReady(fd, events: Int16(POLLOUT), deadline: deadline, operation: "connect") else {
                        throw SocketError.timedOut("connect", address: address)
                    }
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = try socketCall(.getsockopt, on: fd, operation: "connect") { _ in getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) }
                    if error != 0 { throw SocketError("connect", errno: error, address: address) }
                    return
                case EAGAIN where isUnix:
                    // A Unix listener's backlog is full: the kernel gives no readiness to wait
                    // for, so a timed connect retries with a short backoff until its deadline.
                    guard case .until(let deadline) = wait else {
                        throw SocketError("connect", kind: .wouldBlock, errno: EAGAIN, address: address,
                                          detail: "the listener's backlog is full")
                    }
                    if deadline.hasPassed { throw SocketError.timedOut("connect", address: address) }
                    let pause = min(backoff, max(1, deadline.remainingPollMilliseconds))
                    _ = systemCall(.poll) { _ in poll(nil, 0, pause) }
                    backoff = min(backoff * 2, 20)
                default:
                    throw SocketError("connect", errno: code, address: address)
                }
            }
        }
    }

    /// Python's `shutdown`: after `.write` the peer reads end-of-file, and this side can still
    /// read; `.both` also wakes calls blocked on the socket in other threads.
    public func shutdown(_ mode: ShutdownMode) throws(SocketError) {
        try descriptor.withDescriptor("shutdown") { (fd) throws(SocketError) in
            _ = try socketCall(.shutdown, on: fd) { _ in Glibc.shutdown(fd, mode.rawValue) }
        }
    }
}
