#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import LoomSystem

extension Socket {
    /// One `recv` on a non-blocking socket, as a value (the event loop's hot path).
    @inline(__always)
    package func receiveNonBlocking(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let fd = fileDescriptor
        guard fd >= 0 else { return .failed(EBADF) }
        return ioCall(.recv, on: fd, length: buffer.count) { length in Glibc.recv(fd, buffer.baseAddress, length, 0) }
    }

    /// One `send` (`MSG_NOSIGNAL`) on a non-blocking socket, as a value.
    @inline(__always)
    package func sendNonBlocking(_ buffer: UnsafeRawBufferPointer) -> IOResult {
        let fd = fileDescriptor
        guard fd >= 0 else { return .failed(EBADF) }
        return ioCall(.send, on: fd, length: buffer.count) { length in
            Glibc.send(fd, buffer.baseAddress, length, Int32(MSG_NOSIGNAL))
        }
    }

    /// One `accept4` returning a non-blocking, close-on-exec socket (timeout `.zero`), or nil on
    /// `EAGAIN`. Other errors (`EMFILE`, `ECONNABORTED`…) are thrown.
    package func acceptNonBlocking() throws(SocketError) -> Socket? {
        let accepted = try descriptor.withDescriptor("accept") { (fd) throws(SocketError) -> Int32? in
            try socketCallOrWouldBlock(.accept, on: fd) { _ in
                cloom_accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
            }
        }
        guard let accepted else { return nil }
        let socket = Socket(descriptor: accepted, family: family, type: type)
        socket.timeout = .zero  // records the mode; the descriptor is non-blocking already (no F_SETFL)
        return socket
    }
}
