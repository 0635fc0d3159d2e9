#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem

extension TLSSocket {
    static let endOfStream: UInt8 = 8
    /// Plaintext taken per engine write: four full records, one `send` of ciphertext.
    static let writeChunk = 64 * 1024

    // MARK: Handshake

    /// Python's `do_handshake()`: runs the handshake to its end under one deadline (the socket's
    /// timeout). ``TLSContext/wrap(_:serverSide:serverHostname:doHandshakeOnConnect:suppressRaggedEOFs:session:)``
    /// calls it unless told not to; `recv` and `send` call it if it has not run.
    ///
    /// Throws ``TLSError/Kind/certificateVerification`` with OpenSSL's reason when the peer's
    /// certificate is refused, ``TLSError/Kind/unexpectedEOF`` when the peer leaves,
    /// ``TLSError/Kind/wantRead`` on a non-blocking socket that must wait, a
    /// ``TLSError/Kind/transport`` timeout when the deadline passes, and
    /// ``TLSError/Kind/protocolError`` for anything else (a plaintext peer, no shared version).
    public func doHandshake() throws(TLSError) {
        if state.load(ordering: .acquiring) & Self.handshakeDone != 0 { return }
        try checkUsable("tls handshake")
        try receiveLock.withLock { () throws(TLSError) in
            try sendLock.withLock { () throws(TLSError) in
                if state.load(ordering: .acquiring) & Self.handshakeDone != 0 { return }
                let wait = socket.startCall()
                while true {
                    let step = engineLock.withLock {
                        Result { () throws(TLSError) in try engine.doHandshake() }
                    }
                    do throws(TLSError) {
                        try flushOutput(outbox, wait: wait, operation: "tls handshake")
                    } catch {
                        // The handshake's own failure says more than the alert that could not leave.
                        _ = try step.get()
                        throw error
                    }
                    switch try step.get() {
                    case .complete:
                        state.bitwiseOr(Self.handshakeDone, ordering: .acquiringAndReleasing)
                        return
                    case .wantWrite:
                        continue
                    case .wantRead:
                        try receiveCiphertext(inbox, wait: wait, operation: "tls handshake")
                    }
                }
            }
        }
    }

    // MARK: Receiving

    /// Python's `recv_into`: decrypts into `buffer` and returns the count, as soon as any
    /// plaintext is there; 0 means end of file (close_notify, or with ``suppressRaggedEOFs`` a
    /// transport closed without it).
    public func recv(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        guard !buffer.isEmpty else { return 0 }
        try checkUsable("tls recv")
        try doHandshake()
        return try receiveLock.withLock { () throws(TLSError) -> Int in
            if state.load(ordering: .acquiring) & Self.endOfStream != 0 { return 0 }
            let wait = socket.startCall()
            while true {
                let (step, producedOutput) = engineLock.withLock { () -> (Result<TLSIOResult, TLSError>, Bool) in
                    let before = engine.pendingOutputCount
                    let step = Result { () throws(TLSError) in try engine.read(into: buffer) }
                    return (step, engine.pendingOutputCount > before)
                }
                if producedOutput {
                    // A TLS 1.3 key update asks for an answer. A sender holding the lock sends it
                    // with its own data (its flush empties the engine): waiting for that sender
                    // here could deadlock against a peer that waits for us to read.
                    if sendLock.tryLock() {
                        defer { _ = sendLock.unlock() }
                        try flushOutput(outbox, wait: wait, operation: "tls recv")
                    }
                }
                let result: TLSIOResult
                do throws(TLSError) {
                    result = try step.get()
                } catch where error.kind == .unexpectedEOF && suppressRaggedEOFs {
                    state.bitwiseOr(Self.endOfStream, ordering: .acquiringAndReleasing)
                    return 0
                }
                switch result {
                case .bytes(let count):
                    return count
                case .closed:
                    return 0
                case .wantWrite:
                    continue
                case .wantRead:
                    try receiveCiphertext(inbox, wait: wait, operation: "tls recv")
                }
            }
        }
    }

    /// Python's `recv(n)`: up to `maxBytes` of plaintext; `[]` at end of file.
    public func recv(maxBytes: Int) throws(TLSError) -> [UInt8] {
        var failure: TLSError?
        let bytes = [UInt8](unsafeUninitializedCapacity: max(0, maxBytes)) { buffer, count in
            do throws(TLSError) {
                count = try recv(into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Python's `pending()`: decrypted bytes buffered and readable without waiting.
    public var pending: Int { engineLock.withLock { engine.bufferedPlaintextCount } }

    // MARK: Sending

    /// Python's `send`: encrypts up to 64 KiB of `buffer` and returns how many bytes were taken.
    ///
    /// The bytes taken are committed: if the socket cannot take all their ciphertext at once
    /// (non-blocking, or the timeout passes), the rest stays queued and leaves first on the next
    /// call (see ``hasPendingOutput``) instead of failing this one.
    public func send(_ buffer: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        guard !buffer.isEmpty else { return 0 }
        try checkUsable("tls send")
        try doHandshake()
        return try sendLock.withLock { () throws(TLSError) -> Int in
            let wait = socket.startCall()
            try flushOutput(outbox, wait: wait, operation: "tls send")
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<min(buffer.count, Self.writeChunk)])
            let taken = try write(chunk)
            do throws(TLSError) {
                try flushOutput(outbox, wait: wait, operation: "tls send")
            } catch where error.kind == .wantWrite || error.socketError?.kind == .timedOut {
                return taken
            }
            return taken
        }
    }

    /// Python's `send` for an array.
    public func send(_ bytes: [UInt8]) throws(TLSError) -> Int {
        try bytes.withUnsafeBytes { raw in Result { () throws(TLSError) in try send(raw) } }.get()
    }

    /// Python's `sendall`: encrypts and sends every byte, one deadline for the whole call.
    public func sendAll(_ buffer: UnsafeRawBufferPointer) throws(TLSError) {
        guard !buffer.isEmpty else { return }
        try checkUsable("tls sendall")
        try doHandshake()
        try sendLock.withLock { () throws(TLSError) in
            let wait = socket.startCall()
            try flushOutput(outbox, wait: wait, operation: "tls sendall")
            var offset = 0
            while offset < buffer.count {
                let end = min(buffer.count, offset + Self.writeChunk)
                offset += try write(UnsafeRawBufferPointer(rebasing: buffer[offset..<end]))
                try flushOutput(outbox, wait: wait, operation: "tls sendall")
            }
        }
    }

    /// Python's `sendall` for an array.
    public func sendAll(_ bytes: [UInt8]) throws(TLSError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(TLSError) in try sendAll(raw) } }.get()
    }

    /// Sends `text` as UTF-8, every byte.
    public func sendAll(_ text: String) throws(TLSError) {
        var text = text
        try text.withUTF8 { utf8 in Result { () throws(TLSError) in try sendAll(UnsafeRawBufferPointer(utf8)) } }.get()
    }

    /// True when ciphertext of bytes already accepted by ``send(_:)-(UnsafeRawBufferPointer)``
    /// waits for the socket: wait until it is writable and call ``flush()``.
    public var hasPendingOutput: Bool {
        sendLock.withLock { !outbox.isEmpty } || engineLock.withLock { engine.pendingOutputCount > 0 }
    }

    /// Sends any queued ciphertext, under the socket's timeout.
    public func flush() throws(TLSError) {
        try sendLock.withLock { () throws(TLSError) in
            try flushOutput(outbox, wait: socket.startCall(), operation: "tls send")
        }
    }

    // MARK: Closing

    /// Python's `unwrap()`: the closing handshake (our close_notify, then the peer's), after
    /// which the socket carries plaintext again and is returned; this stream is done.
    ///
    /// Bytes the peer sent right after its close_notify may already have been read from the
    /// socket with the last TLS records: they are in ``bytesAfterUnwrap``, to be used before
    /// anything read from the returned socket.
    public func unwrap() throws(TLSError) -> Socket {
        try checkUsable("tls unwrap")
        return try receiveLock.withLock { () throws(TLSError) -> Socket in
            try sendLock.withLock { () throws(TLSError) -> Socket in
                let wait = socket.startCall()
                while true {
                    let step = engineLock.withLock { Result { () throws(TLSError) in try engine.shutdown() } }
                    state.bitwiseOr(Self.closeNotifySent, ordering: .acquiringAndReleasing)
                    try flushOutput(outbox, wait: wait, operation: "tls unwrap")
                    switch try step.get() {
                    case .complete:
                        state.bitwiseOr(Self.unwrapped, ordering: .acquiringAndReleasing)
                        leftover.withLock { $0 = engineLock.withLock { engine.takeUnprocessedInput() } }
                        return socket
                    case .wantWrite:
                        continue
                    case .wantRead:
                        try receiveCiphertext(inbox, wait: wait, operation: "tls unwrap")
                    }
                }
            }
        }
    }

    /// Python's `shutdown(how)`: for `.write` and `.both`, sends close_notify first (so the
    /// peer reads a clean end of file), then shuts the socket down.
    public func shutdown(_ mode: ShutdownMode) throws(TLSError) {
        if mode != .read, state.load(ordering: .acquiring) & (Self.closeNotifySent | Self.unwrapped) == 0,
           isHandshakeComplete {
            try sendLock.withLock { () throws(TLSError) in
                let step = engineLock.withLock { Result { () throws(TLSError) in try engine.shutdown() } }
                state.bitwiseOr(Self.closeNotifySent, ordering: .acquiringAndReleasing)
                try flushOutput(outbox, wait: socket.startCall(), operation: "tls shutdown")
                _ = try step.get()
            }
        }
        do {
            try socket.shutdown(mode)
        } catch {
            throw TLSError("tls shutdown", transport: error)
        }
    }

    /// Plaintext read from the socket after the peer's close_notify, before ``unwrap()`` returned.
    public var bytesAfterUnwrap: [UInt8] { leftover.withLock { $0 } }

    // MARK: Plumbing

    private func checkUsable(_ operation: String) throws(TLSError) {
        if state.load(ordering: .acquiring) & Self.unwrapped != 0 {
            throw TLSError(operation, kind: .invalidConfiguration, reason: "the stream was unwrapped")
        }
    }

    /// One engine write (sending lock held).
    private func write(_ chunk: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        let step = engineLock.withLock { Result { () throws(TLSError) in try engine.write(chunk) } }
        switch try step.get() {
        case .bytes(let count): return count
        case .closed: throw TLSError("tls send", kind: .zeroReturn, reason: "the TLS session has been closed")
        case .wantRead: throw TLSError("tls send", kind: .wantRead, reason: "the read operation would block")
        case .wantWrite: throw TLSError("tls send", kind: .wantWrite, reason: "the write operation would block")
        }
    }

    /// Sends every byte of ciphertext the engine has produced (sending lock held).
    func flushOutput(_ outbox: Outbox, wait: CallWait, operation: String) throws(TLSError) {
        while true {
            if outbox.isEmpty {
                engineLock.withLock { outbox.collect(from: engine) }
                if outbox.isEmpty { return }
            }
            do {
                try outbox.send(socket, wait: wait)
            } catch where error.kind == .wouldBlock {
                throw TLSError(operation, kind: .wantWrite, reason: "the write operation would block")
            } catch {
                throw TLSError(operation, transport: error)
            }
        }
    }

    /// One `recv` of ciphertext fed to the engine (receiving lock held); end of file is fed as such.
    private func receiveCiphertext(_ inbox: Inbox, wait: CallWait, operation: String) throws(TLSError) {
        let count: Int
        do {
            count = try socket.recv(into: inbox.buffer, wait: wait)
        } catch where error.kind == .wouldBlock {
            throw TLSError(operation, kind: .wantRead, reason: "the read operation would block")
        } catch {
            throw TLSError(operation, transport: error)
        }
        if count == 0, state.load(ordering: .acquiring) & Self.closing != 0 {
            throw TLSError(operation, transport: SocketError(operation, kind: .closed, errno: EBADF, detail: "socket is closed"))
        }
        engineLock.withLock {
            if count == 0 {
                engine.feedEndOfInput()
            } else {
                engine.feed(UnsafeRawBufferPointer(rebasing: inbox.buffer[..<count]))
            }
        }
    }
}
