#if canImport(Glibc)
import Glibc
#endif

/// Buffered reading from a stream socket: Python's `socket.makefile('rb')`, the `rfile` of a
/// `socketserver.StreamRequestHandler`.
///
/// ```swift
/// let reader = BufferedReader(connection)
/// while true {
///     let line = try reader.readLine()          // includes the "\n"; [] at end of file
///     if line.isEmpty { break }
///     try connection.sendAll(line)
/// }
/// ```
///
/// Rules it keeps, whatever the peer does:
/// - **Bounded memory.** ``readLine(maxLength:)`` never lets its buffer grow past a few times
///   `maxLength` (or the initial capacity, if larger): a peer that never sends a newline
///   cannot make it buffer without end.
/// - **No read that blocks again once data can be returned.** Each call issues at most the
///   `recv`s it needs, one at a time, and returns as soon as it has what it was asked for; it
///   never tries to fill its buffer "while data keeps coming" (the loop that hangs other
///   libraries when exactly 4096·k bytes arrive).
/// - **Nothing is lost.** When a call fails (timeout, reset, end of file in
///   ``read(exactly:)``), every byte already received stays buffered for the next call.
/// - **Linear cost.** A line arriving one byte at a time is scanned once, and buffered bytes
///   are moved at most a constant number of times on average.
///
/// Each `recv` it makes honours the socket's ``Socket/timeout`` (per `recv`, as in Python).
/// A reader is not thread-safe: use it from one thread at a time (it is not `Sendable`), and
/// do not call ``Socket/recv(maxBytes:)`` on the socket directly while it is in use, since
/// it may hold bytes that have already been received.
public final class BufferedReader {
    /// The socket read from (for a TLS stream, the socket it wraps). The reader does not own
    /// it: closing the socket is the caller's job.
    public let socket: Socket
    /// What the reader receives from: ``socket`` itself, or a stream over it (TLS).
    public let stream: any ByteStream

    private var storage: UnsafeMutableRawBufferPointer
    // Buffered bytes are storage[start..<end].
    private var start = 0
    private var end = 0
    // storage[start..<start+scanned] is known to hold no newline, so readLine never rescans it.
    private var scanned = 0

    /// Creates a reader over `socket` with an initial buffer of `capacity` bytes (Python's
    /// default is 8 KiB; 64 KiB makes bulk reads cheaper).
    public init(_ socket: Socket, capacity: Int = 65_536) {
        self.socket = socket
        stream = socket
        storage = .allocate(byteCount: max(64, capacity), alignment: 16)
    }

    /// Creates a reader over any ``ByteStream`` (a TLS stream, for example).
    public init(_ stream: any ByteStream, capacity: Int = 65_536) {
        self.socket = stream.transport
        self.stream = stream
        storage = .allocate(byteCount: max(64, capacity), alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    /// Bytes received from the socket and not yet returned by a read.
    public var bufferedCount: Int { end - start }

    /// The buffer's current size (for tests of the memory bound).
    var capacity: Int { storage.count }

    /// Python's `readline(limit)`: reads one line, `"\n"` included.
    ///
    /// Returns, whichever comes first:
    /// - a line ending in `"\n"`, at most `maxLength` bytes long, newline included;
    /// - the first `maxLength` bytes of a longer line, without a newline (the rest of the line
    ///   is returned by the next calls, exactly as Python's `readline(limit)`; a caller that
    ///   wants to reject over-long lines checks `line.count == maxLength && line.last != 10`);
    /// - at end of file, the last bytes (a final line without `"\n"`), then `[]` from then on.
    ///
    /// `maxLength <= 0` returns `[]` at once, as Python's `readline(0)`. Blocks only while it
    /// has neither a whole line, nor `maxLength` bytes, nor end of file.
    public func readLine(maxLength: Int = 65_536) throws(SocketError) -> [UInt8] {
        guard maxLength > 0 else { return [] }
        while true {
            let available = end - start
            let window = min(available, maxLength)
            if scanned < window, let base = storage.baseAddress {
                let from = base + start + scanned
                if let newline = memchr(from, 0x0A, window - scanned) {
                    return take(base.distance(to: newline) - start + 1)
                }
                scanned = window
            }
            if available >= maxLength { return take(maxLength) }
            if try fill() == 0 { return take(available) }
        }
    }

    /// Reads exactly `count` bytes, waiting for as many `recv`s as that takes.
    ///
    /// If the peer closes first, throws ``SocketError/Kind/endOfFile`` (described as
    /// `read: end of file after 42 of 100 bytes`) and keeps the bytes that did arrive buffered:
    /// ``read(upTo:)`` returns them. Unlike Python's `read(n)`, which silently returns a short
    /// result, a short frame cannot pass unnoticed. `count <= 0` returns `[]`.
    /// Large reads go straight from the socket into the result, without an extra copy.
    /// The result grows as bytes arrive beyond the first MiB, so a hostile length prefix
    /// (`read(exactly: 1 << 40)`) cannot make it allocate more than the peer actually sends.
    public func read(exactly count: Int) throws(SocketError) -> [UInt8] {
        guard count > 0 else { return [] }
        if end - start >= count { return take(count) }
        if count > Self.upFrontLimit { return try readGrowing(exactly: count) }
        var failure: SocketError?
        let result = [UInt8](unsafeUninitializedCapacity: count) { destination, initialized in
            let target = UnsafeMutableRawBufferPointer(destination)
            initialized = drain(into: target)
            do throws(SocketError) {
                while initialized < count {
                    let rest = UnsafeMutableRawBufferPointer(rebasing: target[initialized...])
                    // A large remainder goes straight into the result; a small one through the
                    // buffer, so that many small reads cost one recv rather than one each.
                    let direct = rest.count >= storage.count / 2
                    let received = direct ? try stream.readSome(into: rest) : try fill()
                    if received == 0 {
                        throw SocketError("read", kind: .endOfFile, errno: 0,
                                          detail: "end of file after \(initialized) of \(count) bytes")
                    }
                    initialized += direct ? received : drain(into: rest)
                }
            } catch {
                failure = error
                unread(UnsafeRawBufferPointer(rebasing: target[..<initialized]))
                initialized = 0
            }
        }
        if let failure { throw failure }
        return result
    }

    /// Reads allocate up to this many bytes before any arrive; beyond it the result grows.
    static let upFrontLimit = 1 << 20

    /// ``read(exactly:)`` for a large `count`: appends what arrives, so memory follows the data.
    private func readGrowing(exactly count: Int) throws(SocketError) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(Self.upFrontLimit)
        do throws(SocketError) {
            while result.count < count {
                let chunk = try read(upTo: min(count - result.count, 1 << 16))
                if chunk.isEmpty {
                    throw SocketError("read", kind: .endOfFile, errno: 0,
                                      detail: "end of file after \(result.count) of \(count) bytes")
                }
                result += chunk
            }
        } catch {
            result.withUnsafeBytes { unread($0) }
            throw error
        }
        return result
    }

    /// Python's `read1(n)`: returns between 1 and `maxBytes` bytes, or `[]` at end of file.
    ///
    /// Returns buffered bytes without touching the socket when there are any; otherwise makes
    /// exactly one `recv`, which returns as soon as any data is there. `maxBytes <= 0` returns
    /// `[]` at once.
    public func read(upTo maxBytes: Int) throws(SocketError) -> [UInt8] {
        guard maxBytes > 0 else { return [] }
        if end == start {
            if maxBytes >= storage.count { return try receive(maxBytes: maxBytes) }
            if try fill() == 0 { return [] }
        }
        return take(min(end - start, maxBytes))
    }

    /// Python's `read(n)`: reads until end of file or until `maxLength` bytes have arrived,
    /// whichever comes first, and returns them (`[]` when the stream had already ended).
    public func readToEnd(maxLength: Int = 1 << 20) throws(SocketError) -> [UInt8] {
        var result: [UInt8] = []
        while result.count < maxLength {
            let chunk = try read(upTo: min(maxLength - result.count, storage.count))
            if chunk.isEmpty { break }
            result += chunk
        }
        return result
    }

    // MARK: Buffer management

    /// Removes `count` buffered bytes from the front and returns them.
    private func take(_ count: Int) -> [UInt8] {
        let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: storage[start..<(start + count)]))
        consume(count)
        return bytes
    }

    /// Copies as many buffered bytes as fit into `target`, removes them, and returns the count.
    private func drain(into target: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(end - start, target.count)
        if count > 0 {
            target.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: count)
            consume(count)
        }
        return count
    }

    private func consume(_ count: Int) {
        start += count
        scanned = 0
        if start == end {
            start = 0
            end = 0
        }
    }

    /// One `recv` into the free space after the buffered bytes; returns its count (0: end of file).
    private func fill() throws(SocketError) -> Int {
        makeRoom(for: 1)
        let received = try stream.readSome(into: UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
        end += received
        return received
    }

    /// One receive of up to `maxBytes` straight into a new array.
    private func receive(maxBytes: Int) throws(SocketError) -> [UInt8] {
        var failure: SocketError?
        let bytes = [UInt8](unsafeUninitializedCapacity: maxBytes) { buffer, count in
            do throws(SocketError) {
                count = try stream.readSome(into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Puts `bytes`, which were read before the buffered ones, back in front of them.
    private func unread(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        let buffered = end - start
        let needed = bytes.count + buffered
        let target = needed <= storage.count ? storage : .allocate(byteCount: needed, alignment: 16)
        if buffered > 0 {
            // memmove semantics: the two ranges may overlap when target is storage.
            (target.baseAddress! + bytes.count).copyMemory(from: storage.baseAddress! + start, byteCount: buffered)
        }
        target.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        if target.baseAddress != storage.baseAddress {
            storage.deallocate()
            storage = target
        }
        start = 0
        end = needed
        scanned = 0
    }

    /// Ensures at least `count` free bytes after `end`: slides the buffered bytes to the front
    /// when that leaves at least half the buffer free, otherwise doubles the buffer. Either way
    /// each byte is moved a bounded number of times on average.
    private func makeRoom(for count: Int) {
        if storage.count - end >= count { return }
        let buffered = end - start
        if buffered + count <= storage.count / 2 {
            if buffered > 0 {
                storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: buffered)
            }
        } else {
            let grown = UnsafeMutableRawBufferPointer.allocate(
                byteCount: max(storage.count * 2, buffered + count), alignment: 16)
            if buffered > 0 {
                grown.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: buffered)
            }
            storage.deallocate()
            storage = grown
        }
        start = 0
        end = buffered
    }
}

// A reader holds a mutable buffer and no lock: confine it to one thread at a time.
@available(*, unavailable)
extension BufferedReader: Sendable {}
