/// A PROXY header on the heap. A header with its two addresses is a few hundred bytes: held inline,
/// it would grow every transport, and every stack frame and async frame that holds a
/// ``ServerRequest``, whether or not the server speaks the PROXY protocol. Boxed, they pay a pointer.
final class ProxyHeaderBox: Sendable {
    let header: ProxyHeader
    init(_ header: ProxyHeader) { self.header = header }
}
