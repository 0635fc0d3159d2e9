#if canImport(Glibc)
import Glibc
#endif
import LoomSystem

extension Socket {
    /// A Unix-domain server socket bound to `path`: listening for `.stream`, ready for
    /// ``recvFrom(maxBytes:)`` for `.datagram`.
    ///
    /// Binding a Unix-domain socket creates a file, and neither ``close()`` nor the end of the
    /// process removes it (as in Python), so the next bind to that path fails with
    /// ``SocketError/Kind/addressInUse``. The usual Python fix, `os.unlink(path)` before `bind`,
    /// also deletes the socket of a server that is still running, or any other file that
    /// happens to be there. This function removes the file only when it is a *stale* socket: a
    /// socket file that nothing listens on any more. A live server, or a file that is not a
    /// socket, makes it throw ``SocketError/Kind/addressInUse`` instead.
    ///
    /// The server's owner removes the file when done: `unlink(path)` after ``close()``.
    ///
    /// ```swift
    /// let server = try Socket.createUnixServer(path: "/tmp/loom.sock")
    /// defer { server.close(); unlink("/tmp/loom.sock") }
    /// ```
    public static func createUnixServer(
        path: String, type: SocketType = .stream, backlog: Int32 = Socket.defaultBacklog
    ) throws(SocketError) -> Socket {
        let address = try SocketAddress(unixPath: path)
        let socket = try Socket(family: .unix, type: type)
        do {
            try socket.bind(to: address)
        } catch where error.kind == .addressInUse {
            try removeStaleUnixSocket(at: address, type: type)
            try socket.bind(to: address)
        }
        if type == .stream { try socket.listen(backlog: backlog) }
        return socket
    }

    /// Unlinks `address`'s file if it is a socket nobody listens on; throws `addressInUse` otherwise.
    private static func removeStaleUnixSocket(at address: SocketAddress, type: SocketType) throws(SocketError) {
        let path = address.path ?? ""
        var info = stat()
        let inUse = SocketError("bind", errno: EADDRINUSE, address: address)
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { throw inUse }
        let probe = try Socket(family: .unix, type: type)
        defer { probe.close() }
        // A live server with a full backlog makes a blocking connect wait: bound the probe.
        probe.timeout = .milliseconds(500)
        do {
            try probe.connect(to: address)
        } catch where error.kind == .connectionRefused {
            // Nothing is bound to the file any more: it is stale.
            if case .failure(let code) = systemCall(.unlink, { _ in unlink(path) }), code != ENOENT {
                throw SocketError("unlink", errno: code, address: address)
            }
            return
        } catch {
            throw inUse
        }
        throw inUse
    }
}
