#if canImport(Glibc)
import Glibc
#endif
import LoomSockets

/// One connection of an ``EventLoopServer``, as its ``StreamProtocol`` sees it: Python's
/// `asyncio.Transport`. Use it only on its loop's thread (from the protocol's callbacks or
/// code running on that loop).
///
/// Writes never block: what the kernel does not take at once is kept and sent when the socket
/// is writable. Past ``highWaterMark`` buffered bytes the protocol's `pauseWriting()` is called,
/// and `resumeWriting()` once the buffer drained to ``lowWaterMark``. ``close()`` sends
/// everything buffered before it closes.
public final class Transport {
    enum State { case open, closing, closed }

    let socket: Socket
    unowned(unsafe) let loop: EventLoop
    var handler: any StreamProtocol
    var state = State.open
    var writeBuffer = ByteQueue()
    var interest: SelectorEvents = .read
    var readingPaused = false
    var writingPaused = false
    var eofSeen = false
    var registered = false
    var writeEOFPending = false
    var lostError: (any Error)?
    /// Loop clock (milliseconds) of the last read or of the last send that moved bytes, for the idle timeout.
    var lastActivity: Int64 = 0

    /// Above this many buffered bytes the protocol is asked to pause writing (asyncio: 64 KiB).
    public private(set) var highWaterMark: Int
    /// At or below this many buffered bytes the protocol may write again (asyncio: high / 4).
    public private(set) var lowWaterMark: Int

    init(socket: Socket, loop: EventLoop, handler: any StreamProtocol, highWaterMark: Int, lowWaterMark: Int) {
        self.socket = socket
        self.loop = loop
        self.handler = handler
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
    }

    /// The connected peer, or nil if the kernel no longer knows it.
    public var peerAddress: SocketAddress? { try? socket.peerAddress }

    /// The local address of the connection.
    public var localAddress: SocketAddress? { try? socket.localAddress }

    /// Bytes accepted by ``write(_:)-5l3xo`` and not yet taken by the kernel.
    public var writeBufferSize: Int { writeBuffer.count }

    /// True once ``close()`` or ``abort()`` was called or the connection was lost.
    public var isClosing: Bool { state != .open }

    /// True while reading is paused by ``pauseReading()``.
    public var isReadingPaused: Bool { readingPaused }

    /// Python's `set_write_buffer_limits(high, low)`. `low` defaults to a quarter of `high`.
    public func setWriteBufferLimits(high: Int, low: Int? = nil) {
        highWaterMark = max(0, high)
        lowWaterMark = min(highWaterMark, max(0, low ?? highWaterMark / 4))
        checkHighWater()
        checkLowWater()
    }

    // MARK: Writing

    /// Sends `data` now as far as the kernel takes it and buffers the rest. Ignored once the
    /// transport is closing (as asyncio does after close).
    public func write(_ data: UnsafeRawBufferPointer) {
        guard state == .open, !writeEOFPending, data.count > 0 else { return }
        if writeBuffer.isEmpty {
            switch socket.sendNonBlocking(data) {
            case .bytes(let n):
                lastActivity = loop.now  // a connection busy sending is not idle
                if n == data.count { return }
                writeBuffer.append(UnsafeRawBufferPointer(rebasing: data[n...]))
            case .wouldBlock, .endOfFile:
                writeBuffer.append(data)
            case .failed(let code):
                loop.lose(self, error: SocketError("send", errno: code))
                return
            }
            want(.write)
        } else {
            writeBuffer.append(data)
        }
        checkHighWater()
    }

    /// Sends `bytes` (see ``write(_:)-5l3xo``).
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Sends `text` as UTF-8.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Python's `write_eof()`: once the buffer is flushed, shut the sending side down; the peer
    /// reads end-of-file and this side can still receive.
    public func writeEOF() {
        guard state == .open, !writeEOFPending else { return }
        writeEOFPending = true
        if writeBuffer.isEmpty { try? socket.shutdown(.write) }
    }

    /// Flushes what is buffered, then closes; `connectionLost(nil)` follows. Reading stops at once.
    public func close() {
        guard state == .open else { return }
        state = .closing
        if writeBuffer.isEmpty {
            loop.lose(self, error: nil)
        } else {
            set(interest: .write)
        }
    }

    /// Closes at once, dropping anything buffered; `connectionLost(nil)` follows.
    public func abort() {
        guard state != .closed else { return }
        writeBuffer.removeAll()
        loop.lose(self, error: nil)
    }

    // MARK: Reading

    /// Stops reading until ``resumeReading()``: the kernel's buffers fill and TCP slows the peer.
    public func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        if state == .open { set(interest: interest.subtracting(.read)) }
    }

    /// Reads again after ``pauseReading()``.
    public func resumeReading() {
        guard readingPaused else { return }
        readingPaused = false
        if state == .open, !eofSeen { set(interest: interest.union(.read)) }
    }

    // MARK: Loop side

    /// The socket is writable: send from the buffer; finish a close or a write-EOF once empty.
    func flush() {
        while !writeBuffer.isEmpty {
            switch socket.sendNonBlocking(writeBuffer.pending) {
            case .bytes(let n):
                writeBuffer.consume(n)
                lastActivity = loop.now
                // As asyncio: resume at the low-water mark, not only once empty, so the protocol
                // refills the buffer before the socket runs dry.
                checkLowWater()
                if state == .closed { return }  // resumeWriting() aborted
            case .wouldBlock, .endOfFile:
                return
            case .failed(let code):
                loop.lose(self, error: SocketError("send", errno: code))
                return
            }
        }
        if state == .closed { return }
        if state == .closing {
            loop.lose(self, error: nil)
            return
        }
        set(interest: interest.subtracting(.write))
        if writeEOFPending { try? socket.shutdown(.write) }
        checkLowWater()
    }

    func want(_ events: SelectorEvents) {
        set(interest: interest.union(events))
    }

    func set(interest wanted: SelectorEvents) {
        guard wanted != interest, state != .closed else { return }
        interest = wanted
        loop.updateInterest(of: self)
    }

    private func checkHighWater() {
        if !writingPaused, writeBuffer.count > highWaterMark, state == .open {
            writingPaused = true
            handler.pauseWriting()
        }
    }

    private func checkLowWater() {
        if writingPaused, writeBuffer.count <= lowWaterMark {
            writingPaused = false
            if state == .open { handler.resumeWriting() }
        }
    }
}
