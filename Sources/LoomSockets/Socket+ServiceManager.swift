#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// The listening sockets a service manager passed to this process (socket activation),
    /// with `sd_listen_fds_with_names` semantics: descriptors from 3, `LISTEN_FDS` of them, only
    /// when `LISTEN_PID` is this process's id; names from `LISTEN_FDNAMES`.
    ///
    /// Each descriptor gets close-on-exec and becomes a ``Socket`` whose family and type are
    /// read from it (TCP, UDP, Unix stream or datagram, as the unit declared). `LISTEN_PID`,
    /// `LISTEN_FDS` and `LISTEN_FDNAMES` are removed from the environment in every case, so
    /// that child processes do not take the sockets for theirs. Call it once, at start-up,
    /// before other threads read the environment (`unsetenv` is not thread-safe).
    ///
    /// ```swift
    /// guard let inherited = try Socket.inheritedFromServiceManager().first else { … }  // not activated
    /// let server = try BaseServer(socket: inherited.socket, handler: MyHandler.self)
    /// ```
    ///
    /// - Returns: the sockets in descriptor order; empty when the process was not socket-activated
    ///   (no `LISTEN_PID`, or another process's).
    /// - Throws: ``SocketError/Kind/invalidArgument`` when the variables are malformed (not
    ///   numbers, a name count that differs from `LISTEN_FDS`) or a descriptor is not an IPv4,
    ///   IPv6 or Unix socket; the variables are removed all the same.
    public static func inheritedFromServiceManager() throws(SocketError) -> [InheritedSocket] {
        let names = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
        var environment: [String: String] = [:]
        for name in names {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        defer { for name in names { unsetenv(name) } }
        return try inheritedFromServiceManager(environment: environment, pid: getpid(), firstDescriptor: 3)
    }

    /// ``inheritedFromServiceManager()`` on a given environment, process id and first descriptor
    /// (systemd's is always 3), touching no process-wide state but the descriptors: for tests.
    static func inheritedFromServiceManager(
        environment: [String: String], pid: pid_t, firstDescriptor: Int32
    ) throws(SocketError) -> [InheritedSocket] {
        guard let pidText = environment["LISTEN_PID"] else { return [] }
        guard let listenPID = pid_t(pidText), listenPID > 0 else {
            throw SocketError("socket activation", kind: .invalidArgument, errno: EINVAL,
                              detail: "LISTEN_PID '\(pidText)' is not a process id")
        }
        guard listenPID == pid else { return [] }
        guard let countText = environment["LISTEN_FDS"], let count = Int32(countText), count >= 0 else {
            throw SocketError("socket activation", kind: .invalidArgument, errno: EINVAL,
                              detail: "LISTEN_FDS '\(environment["LISTEN_FDS"] ?? "")' is not a descriptor count")
        }
        guard count <= Int32.max - firstDescriptor else {
            throw SocketError("socket activation", kind: .invalidArgument, errno: EINVAL,
                              detail: "LISTEN_FDS \(count) is too large")
        }
        var names = [String](repeating: "unknown", count: Int(count))
        if let list = environment["LISTEN_FDNAMES"] {
            let given = list.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard given.count == Int(count) else {
                throw SocketError("socket activation", kind: .invalidArgument, errno: EINVAL,
                                  detail: "LISTEN_FDNAMES has \(given.count) names for \(count) descriptors")
            }
            names = given
        }
        // Close-on-exec first, on all of them, as sd_listen_fds does: none may leak into a child
        // even when a later one turns out to be unusable.
        for fd in firstDescriptor..<(firstDescriptor + count) {
            _ = try socketCall(.fcntl, on: fd, operation: "fcntl(\(fd))") { _ in fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var sockets: [InheritedSocket] = []
        for (offset, fd) in (firstDescriptor..<(firstDescriptor + count)).enumerated() {
            sockets.append(InheritedSocket(name: names[offset], socket: try Socket(adopting: fd)))
        }
        return sockets
    }
}
