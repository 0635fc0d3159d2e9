#if canImport(Glibc)
import Glibc
#endif
import CLoomShims

/// The outcome of one non-blocking read or write, without allocating an error: the event
/// loop's hot path (package-internal).
package enum NonBlockingResult: Equatable {
    /// This many bytes moved (never 0 for a read: see ``endOfFile``).
    case bytes(Int)
    /// `EAGAIN`: try again when the selector reports readiness.
    case wouldBlock
    /// The peer closed its side (a read returned 0).
    case endOfFile
    /// Any other errno; `EINTR` never appears (it is retried).
    case failed(Int32)
}

extension Socket {
    /// One `recv` on a non-blocking socket. `EINTR` is retried.
    @inline(__always)
    package func receiveNonBlocking(into buffer: UnsafeMutableRawBufferPointer) -> NonBlockingResult {
        let fd = fileDescriptor
        while true {
            let n = Glibc.recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return .bytes(n) }
            if n == 0 { return buffer.count == 0 ? .bytes(0) : .endOfFile }
            let code = errno
            if code == EINTR { continue }
            return code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(fd < 0 ? EBADF : code)
        }
    }

    /// One `send` (`MSG_NOSIGNAL`) on a non-blocking socket. `EINTR` is retried.
    @inline(__always)
    package func sendNonBlocking(_ buffer: UnsafeRawBufferPointer) -> NonBlockingResult {
        let fd = fileDescriptor
        while true {
            let n = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .bytes(n) }
            let code = errno
            if code == EINTR { continue }
            return code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(fd < 0 ? EBADF : code)
        }
    }

    /// One `accept4` returning a non-blocking, close-on-exec socket (timeout `.zero`), or nil on
    /// `EAGAIN`. Other errors (`EMFILE`, `ECONNABORTED`…) are thrown; `EINTR` is retried.
    package func acceptNonBlocking() throws(SocketError) -> Socket? {
        let accepted = try descriptor.withDescriptor("accept") { (fd) throws(SocketError) -> Int32? in
            try systemCallOrWouldBlock("accept", {
                cloom_accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
            })
        }
        guard let accepted else { return nil }
        let socket = Socket(descriptor: accepted, family: family, type: type)
        socket.timeout = .zero  // records the mode; the descriptor is non-blocking already (no F_SETFL)
        return socket
    }
}
