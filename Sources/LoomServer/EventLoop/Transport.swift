#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem
import LoomTLS

/// One connection of an ``EventLoopServer``, as its ``StreamProtocol`` sees it: Python's
/// `asyncio.Transport`. Use it only on its loop's thread (from the protocol's callbacks, from a
/// callback given to ``EventLoop/execute(_:)`` or ``EventLoop/schedule(after:_:)``, or from code
/// running on that loop); debug builds check it.
///
/// Writes never block: what the kernel does not take at once is kept and sent when the socket
/// is writable. Past ``highWaterMark`` buffered bytes the protocol's `pauseWriting()` is called,
/// and `resumeWriting()` once the buffer drained to ``lowWaterMark``. ``close()`` sends
/// everything buffered before it closes.
///
/// The transport owns its connection's state machine (as SwiftNIO's `BaseSocketChannel`): the loop
/// only tells it that its socket is readable or writable, or that it must close with an error.
public final class Transport {
    /// `open` → `closing` (``close()`` with bytes still to send) → `closed` (the descriptor is
    /// closed and `connectionLost` is queued). ``abort()``, an error or the idle timeout go
    /// straight to `closed`.
    enum State { case open, closing, closed }

    let socket: Socket
    /// The loop owns its transports and outlives them: it closes every one before it finishes.
    unowned(unsafe) let eventLoop: EventLoop
    // Loop-confined state is marked @exclusivity(unchecked): only the loop's thread touches it and
    // no access overlaps another, while the run-time checks Swift adds for class properties used
    // from other files cost ~880 instructions a request on the event loop (callgrind, 1 connection).
    @exclusivity(unchecked) var handler: any StreamProtocol
    @exclusivity(unchecked) var state = State.open
    @exclusivity(unchecked) var writeBuffer = ByteQueue()
    /// What the selector watches for this connection; empty means unregistered.
    @exclusivity(unchecked) private(set) var interest: SelectorEvents = .read
    @exclusivity(unchecked) private(set) var readingPaused = false
    @exclusivity(unchecked) private var writingPaused = false
    @exclusivity(unchecked) private(set) var eofSeen = false
    @exclusivity(unchecked) private(set) var registered = false
    @exclusivity(unchecked) private var writeEOFPending = false
    @exclusivity(unchecked) private(set) var lostError: (any Error)?
    /// Loop clock (nanoseconds) of the last read or of the last send that moved bytes, for the idle timeout.
    @exclusivity(unchecked) var lastActivity: Int64 = 0
    /// With ``ServerConfiguration/tls``: the stage between the socket and the protocol
    /// (`TLSStage.swift`). Nil for plaintext, whose path costs one branch a read and a write.
    @exclusivity(unchecked) var tls: TLSStage?
    /// Bytes received and sent so far, for ``ServerConfiguration/observer``: an addition a transfer
    /// is cheaper than asking whether anyone observes, and they are reported once, at close.
    @exclusivity(unchecked) var bytesRead: UInt64 = 0
    @exclusivity(unchecked) var bytesWritten: UInt64 = 0
    /// Loop clock when the connection was adopted (set only when observed).
    @exclusivity(unchecked) var openedAt: Int64 = 0

    /// Above this many buffered bytes the protocol is asked to pause writing (asyncio: 64 KiB).
    @exclusivity(unchecked) public private(set) var highWaterMark: Int
    /// At or below this many buffered bytes the protocol may write again (asyncio: high / 4).
    @exclusivity(unchecked) public private(set) var lowWaterMark: Int

    init(socket: Socket, loop: EventLoop, handler: any StreamProtocol, highWaterMark: Int, lowWaterMark: Int) {
        self.socket = socket
        self.eventLoop = loop
        self.handler = handler
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
    }

    /// The event loop this connection lives on: hand work to it with ``EventLoop/execute(_:)``
    /// from other threads, or schedule timers with ``EventLoop/schedule(after:_:)``.
    public var loop: EventLoop { eventLoop }

    /// The connected peer, or nil if the kernel no longer knows it. Behind a proxy speaking the
    /// PROXY protocol (``ServerConfiguration/proxyProtocol``), the original client the header named.
    public var peerAddress: SocketAddress? { proxyHeader?.clientAddress ?? (try? socket.peerAddress) }

    /// The PROXY protocol header the connection started with (its addresses and TLVs), or nil when
    /// the server reads none or the client sent none (`.optional` mode). Set before the protocol's
    /// `connectionMade`.
    public internal(set) var proxyHeader: ProxyHeader? {
        get { proxyHeaderBox?.header }
        set { proxyHeaderBox = newValue.map(ProxyHeaderBox.init) }
    }
    /// Boxed: a header with its two addresses is a few hundred bytes, which every transport would
    /// carry inline, PROXY protocol or not (ten thousand idle connections are the design case).
    @exclusivity(unchecked) private var proxyHeaderBox: ProxyHeaderBox?

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
        eventLoop.assertInEventLoop()
        highWaterMark = max(0, high)
        lowWaterMark = min(highWaterMark, max(0, low ?? highWaterMark / 4))
        checkHighWater()
        checkLowWater()
    }

    // MARK: Writing

    /// Sends `data` now as far as the kernel takes it and buffers the rest. Ignored once the
    /// transport is closing (as asyncio does after close). Over TLS, `data` is encrypted first.
    public func write(_ data: UnsafeRawBufferPointer) {
        eventLoop.assertInEventLoop()
        guard state == .open, !writeEOFPending, data.count > 0 else { return }
        if let tls {
            tls.write(data, transport: self)
            return
        }
        send(data)
    }

    /// The bytes on the wire: sent now as far as the kernel takes them, the rest buffered.
    @inline(__always)
    func send(_ data: UnsafeRawBufferPointer) {
        if writeBuffer.isEmpty {
            switch socket.sendNonBlocking(data) {
            case .bytes(let n):
                lastActivity = eventLoop.now  // a connection busy sending is not idle
                bytesWritten &+= UInt64(n)
                if n == data.count { return }
                writeBuffer.append(UnsafeRawBufferPointer(rebasing: data[n...]))
            case .wouldBlock, .endOfFile:
                writeBuffer.append(data)
            case .failed(let code):
                lose(SocketError("send", errno: code))
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
        eventLoop.assertInEventLoop()
        guard state == .open, !writeEOFPending else { return }
        tls?.sendCloseNotify(self)
        guard state == .open else { return }
        writeEOFPending = true
        if writeBuffer.isEmpty { try? socket.shutdown(.write) }
    }

    /// Flushes what is buffered, then closes; `connectionLost(nil)` follows. Reading stops at once.
    public func close() {
        eventLoop.assertInEventLoop()
        guard state == .open else { return }
        if let tls {
            tls.sendCloseNotify(self)
            guard state == .open else { return }
        }
        state = .closing
        if writeBuffer.isEmpty {
            lose(nil)
        } else {
            set(interest: .write)
        }
    }

    /// Closes at once, dropping anything buffered; `connectionLost(nil)` follows.
    public func abort() {
        eventLoop.assertInEventLoop()
        guard state != .closed else { return }
        writeBuffer.removeAll()
        lose(nil)
    }

    // MARK: Reading

    /// Stops reading until ``resumeReading()``: the kernel's buffers fill and TCP slows the peer.
    public func pauseReading() {
        eventLoop.assertInEventLoop()
        guard !readingPaused else { return }
        readingPaused = true
        if state == .open { set(interest: interest.subtracting(.read)) }
    }

    /// Reads again after ``pauseReading()``.
    public func resumeReading() {
        eventLoop.assertInEventLoop()
        guard readingPaused else { return }
        readingPaused = false
        if state == .open, !eofSeen { set(interest: interest.union(.read)) }
    }

    // MARK: What the loop tells it

    /// The selector reported `events`: flush if writable, then read once if readable.
    @inline(__always)
    func ready(_ events: SelectorEvents, buffer: UnsafeMutableRawBufferPointer) {
        if events.contains(.write) { writable() }
        if events.contains(.read), state == .open, !readingPaused, !eofSeen { readable(into: buffer) }
    }

    /// The socket is readable: one `recv` into the loop's shared buffer, handed to the protocol.
    @inline(__always)
    func readable(into buffer: UnsafeMutableRawBufferPointer) {
        switch socket.receiveNonBlocking(into: buffer) {
        case .bytes(let n):
            lastActivity = eventLoop.now
            bytesRead &+= UInt64(n)
            deliver(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n), scratch: buffer)
        case .wouldBlock:
            break
        case .endOfFile:
            if let tls, !tls.transportEnded(self) { return }
            endOfInput()
        case .failed(let code):
            lose(SocketError("recv", errno: code))
        }
    }

    /// Bytes from the peer, to the protocol (through the TLS stage, which may use `scratch`).
    @inline(__always)
    func deliver(_ bytes: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer) {
        if let tls {
            tls.received(bytes, scratch: scratch, transport: self)
            return
        }
        do {
            try handler.dataReceived(bytes)
        } catch {
            fail(error)
        }
    }

    /// The peer ended its side (end of file, or a TLS close_notify).
    func endOfInput() {
        eofSeen = true
        set(interest: interest.subtracting(.read))
        do {
            if try !handler.eofReceived() { close() }
        } catch {
            fail(error)
        }
    }

    /// Ciphertext from the TLS stage: `count` bytes moved from the engine into the write buffer,
    /// then flushed as ``writable()`` does.
    func sendCiphertext(from engine: TLSEngine, count: Int) {
        let wasEmpty = writeBuffer.isEmpty
        writeBuffer.append(upTo: count) { engine.takeOutput(into: $0) }
        if wasEmpty {
            writable()
            if !writeBuffer.isEmpty, state != .closed { want(.write) }
        }
        checkHighWater()
    }

    /// The socket is writable: send from the buffer; finish a close or a write-EOF once empty.
    func writable() {
        while !writeBuffer.isEmpty {
            switch socket.sendNonBlocking(writeBuffer.pending) {
            case .bytes(let n):
                writeBuffer.consume(n)
                bytesWritten &+= UInt64(n)
                lastActivity = eventLoop.now
                // As asyncio: resume at the low-water mark, not only once empty, so the protocol
                // refills the buffer before the socket runs dry.
                checkLowWater()
                if state == .closed { return }  // resumeWriting() aborted
            case .wouldBlock, .endOfFile:
                return
            case .failed(let code):
                lose(SocketError("send", errno: code))
                return
            }
        }
        if state == .closed { return }
        if state == .closing {
            lose(nil)
            return
        }
        set(interest: interest.subtracting(.write))
        if writeEOFPending { try? socket.shutdown(.write) }
        checkLowWater()
    }

    /// A callback threw: report it and drop the connection (asyncio's `_fatal_error`).
    func fail(_ error: any Error) {
        eventLoop.observer?.handlerFailed(error)
        eventLoop.report(error, peer: peerAddress)
        writeBuffer.removeAll()
        lose(error)
    }

    /// Closes the connection now, dropping what is buffered (the idle timeout, the end of the
    /// grace period): `connectionLost(error)` follows.
    func terminate(_ error: any Error) {
        if let tls, !tls.protocolStarted, state != .closed, (error as? SocketError)?.kind == .timedOut {
            tls.reportHandshakeTimeout(self)
        }
        writeBuffer.removeAll()
        lose(error)
    }

    /// Closes the descriptor now; `connectionLost` runs once the current callbacks return.
    func lose(_ error: (any Error)?) {
        guard state != .closed else { return }
        state = .closed
        lostError = error
        let fd = socket.fileDescriptor
        if registered {
            _ = try? eventLoop.selector.unregister(fileDescriptor: fd)
            registered = false
        }
        eventLoop.connectionClosed(self, fileDescriptor: fd)
        socket.close()
        if let observer = eventLoop.observer {
            // A fresh clock reading: the turn's may be old by the time a callback closes.
            let duration = Duration.nanoseconds(max(0, Deadline.now().nanoseconds - openedAt))
            observer.connectionClosed(ClosedConnection(bytesRead: bytesRead, bytesWritten: bytesWritten, duration: duration))
        }
    }

    /// Runs `connectionLost` and drops the protocol, so the protocol and the transport (which hold
    /// each other) are freed.
    func finishLoss() {
        // A TLS connection whose handshake never completed was never made for its protocol.
        if tls?.protocolStarted ?? true { handler.connectionLost(lostError) }
        tls = nil
        handler = ClosedProtocol.shared
    }

    /// Registers with the selector for the first time; false (and the socket closed) if it cannot.
    func register() -> Bool {
        do {
            try eventLoop.selector.register(fileDescriptor: socket.fileDescriptor, events: .read, data: self)
            registered = true
            return true
        } catch {
            // Never made, so never lost: the protocol hears nothing of this connection.
            eventLoop.report(error, peer: nil)
            state = .closed
            handler = ClosedProtocol.shared
            socket.close()
            return false
        }
    }

    // MARK: Interest

    private func want(_ events: SelectorEvents) {
        set(interest: interest.union(events))
    }

    func set(interest wanted: SelectorEvents) {
        guard wanted != interest, state != .closed else { return }
        interest = wanted
        let fd = socket.fileDescriptor
        guard fd >= 0 else { return }
        if interest.isEmpty {
            if registered {
                _ = try? eventLoop.selector.unregister(fileDescriptor: fd)
                registered = false
            }
        } else if !registered {
            do {
                try eventLoop.selector.register(fileDescriptor: fd, events: interest, data: self)
                registered = true
            } catch {
                // Left unregistered the transport would never hear of its socket again.
                terminate(error)
            }
        } else {
            do {
                try eventLoop.selector.modifyEvents(fileDescriptor: fd, events: interest)
            } catch {
                registered = false
                terminate(error)
            }
        }
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
