#if canImport(Glibc)
import Glibc
#endif

/// How one call of a layer above the socket (a TLS stream) waits, fixed at the start of that
/// call from ``Socket/timeout``, so that one deadline covers all the `recv`s and `send`s the
/// call makes, as the socket's own calls do (package API for LoomTLS).
package struct CallWait {
    let mode: WaitMode
}

extension Socket {
    /// The wait of a call starting now: blocking, non-blocking, or a deadline `timeout` away.
    package func startCall() -> CallWait {
        CallWait(mode: waitMode())
    }

    /// One `recv` into `buffer` under `wait` (0: end of file; `.wouldBlock` / `.timedOut` thrown).
    package func recv(into buffer: UnsafeMutableRawBufferPointer, wait: CallWait) throws(SocketError) -> Int {
        let count = try perform(.recv, "recv", events: Int16(POLLIN), wait: wait.mode, length: buffer.count) { fd, length in
            Glibc.recv(fd, buffer.baseAddress, length, 0)
        }
        if count == 0, buffer.count > 0, descriptor.isClosed {
            throw OwnedDescriptor.closedError("recv")
        }
        return count
    }

    /// Sends every byte of `buffer` (`MSG_NOSIGNAL`) under `wait`; returns how many bytes left
    /// before a failure through `sent`, so that the caller knows what is still pending.
    package func sendAll(_ buffer: UnsafeRawBufferPointer, wait: CallWait, sent: inout Int) throws(SocketError) {
        try descriptor.withDescriptor("send") { (fd) throws(SocketError) in
            while sent < buffer.count {
                let rest = UnsafeRawBufferPointer(rebasing: buffer[sent...])
                sent += try Self.perform(fd, .send, "send", events: Int16(POLLOUT), address: nil, wait: wait.mode,
                                         length: rest.count) { fd, length in
                    Glibc.send(fd, rest.baseAddress, length, Int32(MSG_NOSIGNAL))
                }
            }
        }
    }
}

extension Socket {
    /// One `send` that never waits (`MSG_DONTWAIT | MSG_NOSIGNAL`), whatever the timeout:
    /// for best-effort goodbyes (a TLS close_notify) on the way to closing. Returns the count
    /// sent, or nil when it would block or failed.
    package func sendWithoutWaiting(_ buffer: UnsafeRawBufferPointer) -> Int? {
        try? descriptor.withDescriptor("send") { (fd) throws(SocketError) -> Int? in
            try socketCallOrWouldBlock(.send, on: fd, operation: "send", length: buffer.count) { length in
                Glibc.send(fd, buffer.baseAddress, length, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
        } ?? nil
    }
}
