#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem
import LoomThreading

/// Reads a PROXY header from a blocking `Socket`, for the threaded servers: exactly the
/// header, never a byte of the application's data after it, within a deadline.
///
/// It peeks (`recv` with `MSG_PEEK`), as the specification suggests, and consumes only bytes
/// known to be header: all of a v2 header once its length is known, a v1 line up to its CRLF.
/// While a signature is incomplete in ``ProxyProtocolMode/optional`` mode nothing may be
/// consumed (the bytes could be the application's), so it polls the peek with a short back-off;
/// in every other state it sleeps in the kernel until more bytes arrive.
///
/// ```swift
/// let reader = ProxyHeaderReader(mode: .required, timeout: .seconds(5))
/// let header = try reader.read(from: connection)   // nil only in .optional mode
/// ```
public struct ProxyHeaderReader: Sendable {
    /// Whether a connection without a header is an error.
    public var mode: ProxyProtocolMode
    /// How long the whole header may take to arrive (a sender of one byte a second is cut off).
    public var timeout: Duration
    /// The parser, with its limits.
    public var parser: ProxyHeaderParser

    /// Creates a reader.
    public init(mode: ProxyProtocolMode = .required, timeout: Duration = .seconds(5),
                parser: ProxyHeaderParser = ProxyHeaderParser()) {
        self.mode = mode
        self.timeout = timeout
        self.parser = parser
    }

    /// Reads the header at the start of `socket`'s stream.
    ///
    /// - Returns: the header, after which the socket's next byte is the application's first;
    ///   nil in ``ProxyProtocolMode/optional`` mode when the connection does not start with a
    ///   header (nothing consumed) or closes before sending anything.
    /// - Throws: ``ProxyProtocolError``: a refused header, ``ProxyProtocolError/timedOut(received:)``,
    ///   ``ProxyProtocolError/truncated(received:)``, or a socket failure (an
    ///   ``SocketError/Kind/invalidArgument`` one for a datagram socket). The socket's
    ///   ``Socket/timeout`` is restored in every case.
    public func read(from socket: Socket) throws(ProxyProtocolError) -> ProxyHeader? {
        guard socket.type == .stream else {
            // v2 over UDP prefixes every datagram; a stream reader would eat the first as a header.
            throw .socket(SocketError("PROXY header", kind: .invalidArgument,
                                      detail: "the PROXY header reader needs a stream socket, not a datagram socket"))
        }
        let deadline = Deadline.after(timeout)
        let savedTimeout = socket.timeout
        defer { socket.timeout = savedTimeout }
        let capacity = parser.maxHeaderLength
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { buffer.deallocate() }
        var consumed = 0
        var pause = Duration.milliseconds(1)
        while true {
            let remaining = deadline.remaining
            guard remaining > .zero else { throw .timedOut(received: consumed) }
            socket.timeout = remaining
            let peeked: Int
            do throws(SocketError) {
                peeked = try socket.peek(into: UnsafeMutableRawBufferPointer(rebasing: buffer[consumed...]))
            } catch where error.kind == .timedOut {
                throw .timedOut(received: consumed)
            } catch {
                throw .socket(error)
            }
            if peeked == 0 {
                if consumed == 0 && mode == .optional { return nil }
                throw .truncated(received: consumed)
            }
            let window = UnsafeRawBufferPointer(rebasing: buffer[0..<(consumed + peeked)])
            switch try parser.parse(window) {
            case .header(let header):
                try consumeExactly(header.length - consumed, from: socket, into: buffer, at: consumed, deadline: deadline)
                return header
            case .notProxyHeader:
                if mode == .required { throw .notProxyHeader }
                return nil
            case .needMoreData:
                guard window.count < capacity else { throw .truncated(received: window.count) }  // unreachable: the parser decides within capacity
                if mode == .required || ProxyHeaderParser.isCommitted(window) {
                    // Header bytes for sure: take them, so the next peek sleeps until new ones come.
                    try consumeExactly(peeked, from: socket, into: buffer, at: consumed, deadline: deadline)
                    consumed += peeked
                } else {
                    // The bytes may be the application's. A peer that sent them and half-closed
                    // will send no more: they are the application's (a peek cannot see that end
                    // of file behind them; poll's POLLRDHUP can).
                    if Self.peerHalfClosed(socket) { return nil }
                    // Else leave them and look again a little later.
                    Thread.sleep(for: min(pause, deadline.remaining))
                    pause = min(pause * 2, .milliseconds(50))
                }
            }
        }
    }

    /// True when the peer shut its sending side down (or the connection ended), without reading.
    private static func peerHalfClosed(_ socket: Socket) -> Bool {
        let readHangUp: Int16 = 0x2000  // POLLRDHUP: Linux's, which Glibc's module hides behind _GNU_SOURCE
        var entry = pollfd(fd: socket.fileDescriptor, events: readHangUp, revents: 0)
        let result = systemCall(.poll, on: socket.fileDescriptor) { _ in poll(&entry, 1, 0) }
        guard case .success(let count) = result, count > 0 else { return false }
        return entry.revents & (readHangUp | Int16(POLLHUP | POLLERR)) != 0
    }

    /// Reads exactly `count` bytes that a peek has shown are there.
    private func consumeExactly(
        _ count: Int, from socket: Socket, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
        deadline: Deadline
    ) throws(ProxyProtocolError) {
        var done = 0
        while done < count {
            socket.timeout = max(deadline.remaining, .milliseconds(1))
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + done)..<(offset + count)])
            let received: Int
            do throws(SocketError) {
                received = try socket.recv(into: slice)
            } catch where error.kind == .timedOut {
                throw .timedOut(received: offset + done)
            } catch {
                throw .socket(error)
            }
            guard received > 0 else { throw .truncated(received: offset + done) }
            done += received
        }
    }
}
