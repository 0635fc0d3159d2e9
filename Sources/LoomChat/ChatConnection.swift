#if canImport(Glibc)
import Glibc
#endif
import LoomServer

/// Event-loop mode's connection: an asyncio-style `StreamProtocol` that cuts lines, hands them
/// to the room, and is itself the room's member for that client.
///
/// Its outgoing queue is `pending`: lines queued during the current callback are written in one
/// `transport.write` once the read is handled. While the transport has paused writing (its
/// buffer is over the high-water mark because the client does not read), lines stay in
/// `pending`; more than `maxQueue` of them and the member is dropped as too slow.
final class ChatConnection: StreamProtocol, ChatMember {
    private let hub: LoopRoom
    private var transport: Transport?
    private var session: ChatSession?
    private var partial: [UInt8] = []
    private var pending: [UInt8] = []
    private var pendingLines = 0
    private var isDirty = false
    private var writingPaused = false
    private var closeRequested = false
    /// Set once a line was too long: the error is sent, then input is dropped until end of file,
    /// 16 MiB or 2 s (``ChatReader/lingerTime``), whichever comes first.
    private var lingering = false
    private var discarded = 0

    init(hub: LoopRoom) {
        self.hub = hub
    }

    // MARK: StreamProtocol

    func connectionMade(_ transport: Transport) {
        hub.assertOnLoop()
        self.transport = transport
        session = ChatSession(member: self)
    }

    func dataReceived(_ data: UnsafeRawBufferPointer) {
        hub.assertOnLoop()
        defer { hub.flush() }
        if lingering {
            discarded += data.count
            if discarded > ChatReader.lingerBytes { transport?.abort() }
            return
        }
        guard let base = data.baseAddress, session?.state != .gone else { return }
        var start = 0
        while start < data.count, let newline = memchr(base + start, 0x0A, data.count - start) {
            let end = base.distance(to: UnsafeRawPointer(newline))
            let length = partial.count + end - start
            if length > ChatLimits.maxLineLength { return lineTooLong() }
            let next: ChatRoom.Next
            if partial.isEmpty {
                next = handle(Array(UnsafeRawBufferPointer(rebasing: data[start..<end]))[...])
            } else {
                partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[start..<end]))
                next = handle(partial[...])
                partial.removeAll(keepingCapacity: false)
            }
            if next == .close { return }
            start = end + 1
        }
        if start < data.count {
            partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[start...]))
            if partial.count > ChatLimits.maxLineLength { lineTooLong() }
        }
    }

    func eofReceived() -> Bool {
        hub.assertOnLoop()
        // A line cut short by end of file is dropped, as the threading reader drops it.
        partial = []
        if let session { hub.room.disconnected(session) }
        hub.flush()
        flush()  // what this member was still owed goes out before the transport closes
        return false
    }

    func connectionLost(_ error: (any Error)?) {
        hub.assertOnLoop()
        if let session { hub.room.disconnected(session) }
        hub.flush()
        // Breaks the cycle session → member → session.
        session = nil
        transport = nil
        pending = []
    }

    func pauseWriting() {
        writingPaused = true
    }

    func resumeWriting() {
        writingPaused = false
        flush()
    }

    // MARK: Lines

    private func handle(_ line: ArraySlice<UInt8>) -> ChatRoom.Next {
        guard let session else { return .close }
        return hub.room.receive(line, from: session)
    }

    private func lineTooLong() {
        partial = []
        guard let session else { return }
        lingering = true
        hub.room.lineTooLong(from: session)
        // The error line has a moment to reach the client, as in threading mode: then it closes.
        if let transport {
            let me = EventLoopBound(self, eventLoop: transport.loop)
            transport.loop.schedule(after: ChatReader.lingerTime) { me.value.transport?.abort() }
        }
    }

    // MARK: ChatMember

    func send(_ line: [UInt8]) -> Bool {
        if closeRequested || transport == nil { return true }
        if writingPaused, pendingLines >= hub.maxQueue { return false }
        pending.append(contentsOf: line)
        pendingLines += 1
        if !isDirty {
            isDirty = true
            hub.markDirty(self)
        }
        return true
    }

    func close() {
        closeRequested = true
        if !isDirty {
            isDirty = true
            hub.markDirty(self)
        }
    }

    func abort() {
        pending = []
        pendingLines = 0
        transport?.abort()
    }

    /// Hands the queued lines to the transport (unless it paused writing and no close is due),
    /// then carries out a requested close: after a too-long line only the sending side is shut
    /// (input is still read and dropped), otherwise the transport closes once flushed.
    func flush() {
        isDirty = false
        guard let transport else { return }
        if !pending.isEmpty, !writingPaused || closeRequested {
            transport.write(pending)
            pending.removeAll(keepingCapacity: pending.capacity <= 65_536)
            pendingLines = 0
        }
        if closeRequested {
            if lingering { transport.writeEOF() } else { transport.close() }
        }
    }
}
