#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Python's `recv_into(buffer, flags=MSG_PEEK)`: copies the bytes waiting on the socket into
    /// `buffer` without consuming them, so the next ``recv(into:)`` returns them again.
    ///
    /// Waits like ``recv(into:)`` (honours ``timeout``) when nothing is waiting, and returns as
    /// soon as anything is: a repeated peek with no new data returns the same bytes at once.
    /// 0 means the peer closed its side (stream socket). Used to read a header (PROXY protocol)
    /// without taking a byte of what follows it.
    public func peek(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let count = try perform(.recv, "recv", events: Int16(POLLIN), wait: waitMode(), length: buffer.count) { fd, length in
            Glibc.recv(fd, buffer.baseAddress, length, Int32(MSG_PEEK))
        }
        // close() from another thread wakes a blocked recv with end-of-file: report the close.
        if count == 0, buffer.count > 0, descriptor.isClosed {
            throw OwnedDescriptor.closedError("recv")
        }
        return count
    }

    /// ``peek(into:)`` returning an array of at most `maxBytes` bytes.
    public func peek(maxBytes: Int) throws(SocketError) -> [UInt8] {
        let capacity = max(0, maxBytes)
        var failure: SocketError?
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            do throws(SocketError) {
                count = try peek(into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }
}
