import LoomSockets

/// A TLS stream under ``BufferedReader`` and ``BufferedWriter``: TLS failures become the
/// closest ``SocketError`` (``TLSError/asSocketError``), as Python's `SSLError` is an `OSError`.
extension TLSSocket: ByteStream {
    /// The wrapped socket.
    public var transport: Socket { socket }

    /// ``recv(into:)`` with `SocketError`s.
    public func readSome(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        do { return try recv(into: buffer) } catch { throw error.asSocketError }
    }

    /// ``send(_:)-(UnsafeRawBufferPointer)`` with `SocketError`s.
    public func writeSome(_ buffer: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        do { return try send(buffer) } catch { throw error.asSocketError }
    }

    /// ``sendAll(_:)-(UnsafeRawBufferPointer)`` with `SocketError`s.
    public func writeAll(_ buffer: UnsafeRawBufferPointer) throws(SocketError) {
        do { try sendAll(buffer) } catch { throw error.asSocketError }
    }
}
