#if canImport(Glibc)
import Glibc
#endif

// Every send passes MSG_NOSIGNAL: a peer that has gone away is an EPIPE error for this call,
// never a SIGPIPE for the process, and no process-wide signal disposition is changed.
extension Socket {
    /// Python's `send`: sends what the kernel takes at once (at least one byte unless `buffer`
    /// is empty) and returns how many bytes that was. Honours ``timeout``.
    public func send(_ buffer: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        try perform(.send, "send", events: Int16(POLLOUT), wait: waitMode(), length: buffer.count) { fd, length in
            Glibc.send(fd, buffer.baseAddress, length, Int32(MSG_NOSIGNAL))
        }
    }

    /// Python's `send` for an array: sends some of `bytes` and returns how many were sent.
    public func send(_ bytes: [UInt8]) throws(SocketError) -> Int {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try send(raw) } }.get()
    }

    /// Python's `sendall`: sends every byte, looping over partial sends.
    ///
    /// With a positive ``timeout`` one deadline covers the whole call (as in Python 3.5+); a
    /// ``SocketError/Kind/timedOut`` error means an unknown prefix may have been sent. A peer
    /// that has gone away throws ``SocketError/Kind/brokenPipe`` or
    /// ``SocketError/Kind/connectionReset``.
    public func sendAll(_ buffer: UnsafeRawBufferPointer) throws(SocketError) {
        let wait = waitMode()
        try descriptor.withDescriptor("sendall") { (fd) throws(SocketError) in
            var offset = 0
            while offset < buffer.count {
                let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
                offset += try Self.perform(fd, .send, "sendall", events: Int16(POLLOUT), address: nil, wait: wait,
                                           length: rest.count) { fd, length in
                    Glibc.send(fd, rest.baseAddress, length, Int32(MSG_NOSIGNAL))
                }
            }
        }
    }

    /// Python's `sendall` for an array.
    public func sendAll(_ bytes: [UInt8]) throws(SocketError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try sendAll(raw) } }.get()
    }

    /// Sends `text` as UTF-8, every byte (`sendall(text.encode())`).
    public func sendAll(_ text: String) throws(SocketError) {
        var text = text
        try text.withUTF8 { utf8 in
            Result { () throws(SocketError) in try sendAll(UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    /// Python's `sendto`: sends one datagram to `address` and returns its size. A zero-length
    /// datagram is allowed and arrives as an empty one.
    @discardableResult
    public func sendTo(_ buffer: UnsafeRawBufferPointer, to address: SocketAddress) throws(SocketError) -> Int {
        let wait = waitMode()
        return try address.withSockAddr { (sa, length) throws(SocketError) in
            try perform(.sendto, "sendto", events: Int16(POLLOUT), address: address, wait: wait) { fd, _ in
                Glibc.sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), sa, length)
            }
        }
    }

    /// Python's `sendto` for an array.
    @discardableResult
    public func sendTo(_ bytes: [UInt8], to address: SocketAddress) throws(SocketError) -> Int {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(SocketError) in try sendTo(raw, to: address) }
        }.get()
    }
}
