import CLoomShims
import LoomSystem

extension Socket {
    /// A TCP connection's totals since it was accepted, from the kernel (`TCP_INFO` and
    /// `SIOCOUTQ`): bytes received from the peer, and bytes handed to the kernel to send. One call
    /// at the end of a connection instead of a count on every `recv` and `send`, which is how a
    /// threaded server observes bytes for free. Throws for a socket that is not TCP (a Unix-domain
    /// connection: `EOPNOTSUPP`) or a closed one.
    package func tcpByteTotals() throws(SocketError) -> (received: UInt64, sent: UInt64) {
        var received: UInt64 = 0
        var sent: UInt64 = 0
        try descriptor.withDescriptor("getsockopt TCP_INFO") { (fd) throws(SocketError) in
            _ = try socketCall(.getsockopt, on: fd, operation: "getsockopt TCP_INFO") { _ in
                cloom_tcp_byte_totals(fd, &received, &sent)
            }
        }
        return (received, sent)
    }
}
