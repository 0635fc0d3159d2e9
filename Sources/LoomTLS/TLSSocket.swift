import LoomSockets
import LoomSystem
import Synchronization

/// Python's `ssl.SSLSocket`: a blocking TLS stream over a connected ``Socket``, made by
/// ``TLSContext/wrap(_:serverSide:serverHostname:doHandshakeOnConnect:suppressRaggedEOFs:session:)``.
///
/// The same semantics as `Socket`: the wrapped socket's ``timeout`` with Python's meaning (nil
/// blocks; `.zero` is non-blocking and a call that needs the peer throws
/// ``TLSError/Kind/wantRead`` or ``TLSError/Kind/wantWrite``; a positive duration is one deadline
/// per call), `recv` returning `[]` / 0 at end of file, `sendAll`, `shutdown`, `close`. Ciphertext
/// goes out through Loom's own `send` (`MSG_NOSIGNAL`), never OpenSSL's socket BIO, so a vanished
/// peer is an error, never a SIGPIPE.
///
/// ```swift
/// let tls = try TLSContext(purpose: .serverAuth).connect(host: "example.com", port: 443)
/// try tls.sendAll("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")
/// let reader = BufferedReader(tls)
/// ```
///
/// One thread may receive while another sends; `close()` is safe from any thread and wakes
/// both. Failures are ``TLSError``s; through ``ByteStream`` (``BufferedReader``,
/// ``BufferedWriter``) they are the closest ``SocketError``.
public final class TLSSocket: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: `engine` is only touched under `engineLock`, `inbox` under `receiveLock`,
    // `outbox` under `sendLock`; locks are always taken in the order receive → send → engine.
    let engine: TLSEngine
    let engineLock = FutexMutex()
    let inbox = Inbox()
    let receiveLock = FutexMutex()
    let outbox = Outbox()
    let sendLock = FutexMutex()
    let leftover = Protected<[UInt8]>([])
    let state = Atomic<UInt8>(0)

    /// The connected socket underneath. Do not read or write it directly while TLS is on.
    public let socket: Socket
    /// True for the server side.
    public let serverSide: Bool
    /// The host name given to ``TLSContext/wrap(_:serverSide:serverHostname:doHandshakeOnConnect:suppressRaggedEOFs:session:)``.
    public let serverHostname: String?
    /// Python's `suppress_ragged_eofs`: a peer that closes the transport without close_notify
    /// reads as end of file (true, Python's default) or throws ``TLSError/Kind/unexpectedEOF``.
    public let suppressRaggedEOFs: Bool
    /// The context the connection was made from.
    public let context: TLSContext

    static let handshakeDone: UInt8 = 1
    static let unwrapped: UInt8 = 2
    static let closeNotifySent: UInt8 = 4
    static let closing: UInt8 = 16

    init(socket: Socket, engine: TLSEngine, context: TLSContext, suppressRaggedEOFs: Bool) {
        self.socket = socket
        self.serverSide = engine.serverSide
        self.serverHostname = engine.serverHostname
        self.context = context
        self.suppressRaggedEOFs = suppressRaggedEOFs
        self.engine = engine
    }

    /// Python's `settimeout`/`gettimeout`: the wrapped socket's timeout, shared with it.
    public var timeout: Duration? {
        get { socket.timeout }
        set { socket.timeout = newValue }
    }

    /// Python's `setblocking`.
    public func setBlocking(_ blocking: Bool) {
        socket.setBlocking(blocking)
    }

    /// The descriptor of the wrapped socket (Python's `fileno()`), for selectors.
    public var fileDescriptor: Int32 { socket.fileDescriptor }

    /// True once ``close()`` has been called.
    public var isClosed: Bool { socket.isClosed }

    /// True once the handshake has completed.
    public var isHandshakeComplete: Bool { engineLock.withLock { engine.isHandshakeComplete } }

    /// `TLSSocket(fd: 5, TLSv1.3, server)`, for logs.
    public var description: String {
        "TLSSocket(fd: \(fileDescriptor), \(version ?? "no handshake yet"), \(serverSide ? "server" : "client"))"
    }

    /// Closes the connection: a best-effort close_notify that never waits (Python sends none),
    /// then the socket. Idempotent and safe from any thread; blocked calls wake with
    /// ``TLSError/Kind/transport`` (``SocketError/Kind/closed``).
    public func close() {
        // A recv blocked in another thread may see the peer's answer to our close_notify before
        // the socket is closed: the flag makes it report the close, not an end of file.
        state.bitwiseOr(Self.closing, ordering: .acquiringAndReleasing)
        if !socket.isClosed && state.load(ordering: .acquiring) & (Self.closeNotifySent | Self.unwrapped) == 0 {
            // A sender blocked in another thread holds the lock: then skip the goodbye.
            if sendLock.tryLock() {
                engineLock.withLock {
                    guard engine.isHandshakeComplete, (try? engine.shutdown()) != nil else { return }
                    state.bitwiseOr(Self.closeNotifySent, ordering: .acquiringAndReleasing)
                    outbox.collect(from: engine)
                }
                outbox.sendWithoutWaiting(socket)
                _ = sendLock.unlock()
            }
        }
        socket.close()
    }
}

/// Ciphertext received from the socket and not yet fed to the engine; one per stream, used
/// under the receiving lock.
final class Inbox {
    // Two full records per recv: bulk transfers need few system calls, idle streams stay small.
    static let capacity = 32 * 1024
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Inbox.capacity, alignment: 16)
    deinit { buffer.deallocate() }
}

/// Ciphertext taken from the engine and not yet sent; used under the sending lock.
final class Outbox {
    // One write chunk (64 KiB of plaintext, four records) with its record overhead: one send.
    static let capacity = 65 * 1024
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Outbox.capacity, alignment: 16)
    var start = 0
    var end = 0
    deinit { buffer.deallocate() }

    var isEmpty: Bool { start == end }

    /// Moves pending ciphertext from the engine into the free space (engine lock held).
    func collect(from engine: TLSEngine) {
        if start == end { start = 0; end = 0 }
        if end < buffer.count {
            end += engine.takeOutput(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        }
    }

    /// Sends what it holds under `wait`; what is not sent when it throws stays for next time.
    func send(_ socket: Socket, wait: CallWait) throws(SocketError) {
        var sent = 0
        defer { start += sent }
        try socket.sendAll(UnsafeRawBufferPointer(rebasing: buffer[start..<end]), wait: wait, sent: &sent)
    }

    /// One send that never waits; for the goodbye in close().
    func sendWithoutWaiting(_ socket: Socket) {
        guard !isEmpty else { return }
        if let sent = socket.sendWithoutWaiting(UnsafeRawBufferPointer(rebasing: buffer[start..<end])) {
            start += sent
        }
    }
}
