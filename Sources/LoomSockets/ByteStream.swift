/// A connected, reliable stream of bytes that ``BufferedReader`` and ``BufferedWriter`` can sit
/// on: a stream ``Socket``, or a TLS stream (`LoomTLS`'s `TLSSocket`), as Python's
/// `makefile()` works on both `socket.socket` and `ssl.SSLSocket`.
///
/// Failures are ``SocketError``s, as every `ssl.SSLError` is an `OSError` in Python: a TLS
/// stream reports its own failures with the closest ``SocketError/Kind`` and keeps the TLS
/// reason in ``SocketError/detail``.
public protocol ByteStream: AnyObject, Sendable {
    /// The kernel socket the bytes travel on: the socket itself, or the one a TLS stream wraps.
    /// Its ``Socket/timeout`` governs the stream's calls.
    var transport: Socket { get }

    /// True once the stream has been closed by this process.
    var isClosed: Bool { get }

    /// Receives what is available into `buffer` (waiting, under the timeout, while nothing is)
    /// and returns the count; 0 means the peer ended the stream.
    func readSome(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int

    /// Sends some of `buffer` (at least one byte unless it is empty) and returns how many bytes
    /// the stream took.
    func writeSome(_ buffer: UnsafeRawBufferPointer) throws(SocketError) -> Int

    /// Sends every byte of `buffer`.
    func writeAll(_ buffer: UnsafeRawBufferPointer) throws(SocketError)
}

extension Socket: ByteStream {
    /// The socket itself.
    public var transport: Socket { self }

    /// ``recv(into:)`` under the name ``ByteStream`` uses.
    @inline(__always)
    public func readSome(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try recv(into: buffer)
    }

    /// ``send(_:)-(UnsafeRawBufferPointer)`` under the name ``ByteStream`` uses.
    @inline(__always)
    public func writeSome(_ buffer: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        try send(buffer)
    }

    /// ``sendAll(_:)-(UnsafeRawBufferPointer)`` under the name ``ByteStream`` uses.
    @inline(__always)
    public func writeAll(_ buffer: UnsafeRawBufferPointer) throws(SocketError) {
        try sendAll(buffer)
    }
}
