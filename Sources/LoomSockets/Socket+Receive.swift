#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Python's `recv_into`: receives into `buffer` without copying and returns the byte count.
    ///
    /// Returns as soon as any data is there: it never waits to fill `buffer`. For a stream
    /// socket 0 means the peer closed its side (orderly end-of-file, repeatable); for a datagram
    /// socket it is an empty datagram. A connection the peer reset throws
    /// ``SocketError/Kind/connectionReset``. Honours ``timeout``.
    public func recv(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let count = try perform(.recv, "recv", events: Int16(POLLIN), wait: waitMode(), length: buffer.count) { fd, length in
            Glibc.recv(fd, buffer.baseAddress, length, 0)
        }
        // close() from another thread wakes a blocked recv with end-of-file: report the close.
        if count == 0, buffer.count > 0, descriptor.isClosed {
            throw OwnedDescriptor.closedError("recv")
        }
        return count
    }

    /// Python's `recv`: receives up to `maxBytes`. An empty result means the peer closed (for a
    /// stream socket), as in Python; the call never waits for more once some data is there.
    public func recv(maxBytes: Int) throws(SocketError) -> [UInt8] {
        let capacity = max(0, maxBytes)
        var failure: SocketError?
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            do throws(SocketError) {
                count = try recv(into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Python's `recvfrom_into`: receives one datagram into `buffer` and returns its size (at
    /// most `buffer.count`: the rest of a longer datagram is discarded) and its sender.
    public func recvFrom(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> (Int, SocketAddress) {
        let wait = waitMode()
        var count = 0
        let sender = try descriptor.withDescriptor("recvfrom") { (fd) throws(SocketError) in
            try SocketAddress.fromKernel(family: family) { (sa, length) throws(SocketError) in
                let capacity = length.pointee
                count = try Self.perform(fd, .recvfrom, "recvfrom", events: Int16(POLLIN), address: nil, wait: wait) { fd, _ in
                    length.pointee = capacity
                    return Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, 0, sa, length)
                }
            }
        }
        // close() from another thread wakes a blocked recvfrom with an empty result: report the close.
        if count == 0, descriptor.isClosed { throw OwnedDescriptor.closedError("recvfrom") }
        return (count, sender)
    }

    /// Python's `recvfrom`: receives one datagram and its sender. A datagram longer than
    /// `maxBytes` is truncated (the rest is discarded, as in Python); a zero-length datagram is
    /// returned as `[]`, which for UDP is not end-of-file.
    public func recvFrom(maxBytes: Int) throws(SocketError) -> ([UInt8], SocketAddress) {
        let capacity = max(0, maxBytes)
        var outcome: Result<SocketAddress, SocketError> = .failure(OwnedDescriptor.closedError("recvfrom"))
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            do throws(SocketError) {
                let (received, sender) = try recvFrom(into: UnsafeMutableRawBufferPointer(buffer))
                count = received
                outcome = .success(sender)
            } catch {
                count = 0
                outcome = .failure(error)
            }
        }
        return (bytes, try outcome.get())
    }
}
