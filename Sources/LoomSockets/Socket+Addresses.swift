#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Python's `getsockname`: the local address; after binding port 0, it holds the real port.
    public var localAddress: SocketAddress {
        get throws(SocketError) {
            try descriptor.withDescriptor("getsockname") { (fd) throws(SocketError) in
                try SocketAddress.fromKernel(family: family) { (sa, length) throws(SocketError) in
                    _ = try socketCall(.getsockname, on: fd) { _ in getsockname(fd, sa, length) }
                }
            }
        }
    }

    /// Python's `getpeername`: the connected peer's address
    /// (``SocketError/Kind/notConnected`` when there is none).
    public var peerAddress: SocketAddress {
        get throws(SocketError) {
            try descriptor.withDescriptor("getpeername") { (fd) throws(SocketError) in
                try SocketAddress.fromKernel(family: family) { (sa, length) throws(SocketError) in
                    _ = try socketCall(.getpeername, on: fd) { _ in getpeername(fd, sa, length) }
                }
            }
        }
    }
}
