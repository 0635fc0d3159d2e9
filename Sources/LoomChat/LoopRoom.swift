#if canImport(Glibc)
import Glibc
#endif

/// Event-loop mode's shared state: the room, and the members with lines to send. Everything here
/// runs on the server's one loop thread (a `Transport` may only be used on its own loop), so the
/// room needs no lock; the order of events is the order the loop handles them.
// @unchecked Sendable: captured by the @Sendable protocol factory but used only on the loop thread (assertOnLoop()).
final class LoopRoom: @unchecked Sendable {
    let room = ChatRoom()
    let maxQueue: Int
    /// Members with queued lines, written out once the current read has been handled.
    private var dirty: [ChatConnection] = []
    private var loopThread: pthread_t?

    init(maxQueue: Int) {
        self.maxQueue = maxQueue
    }

    /// Records the loop thread (the protocol factory runs there) and checks later calls.
    func assertOnLoop() {
        if let loopThread {
            assert(pthread_equal(loopThread, pthread_self()) != 0, "chat room used off its event loop")
        } else {
            loopThread = pthread_self()
        }
    }

    /// `member` has lines queued; it is flushed by ``flush()``.
    func markDirty(_ member: ChatConnection) {
        dirty.append(member)
    }

    /// Writes every queued line: one `write` per member per read handled, whatever the number
    /// of lines that read broadcast.
    func flush() {
        while let member = dirty.popLast() {
            member.flush()
        }
    }
}
