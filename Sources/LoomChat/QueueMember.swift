#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomThreading

/// Threading mode's member: a bounded `Queue` of lines and a writer `Thread` that drains it to
/// the socket, so a slow client only ever blocks its own writer.
// @unchecked Sendable: Queue and Socket are thread-safe; `writer` is set in start() before the member is shared.
final class QueueMember: ChatMember, @unchecked Sendable {
    private let socket: Socket
    private let queue: Queue<[UInt8]>
    private var writer: Thread?

    /// How long the reader waits for the writer to finish sending before it cuts the connection.
    static let drainTimeout = Duration.seconds(5)

    init(socket: Socket, maxQueue: Int) {
        self.socket = socket
        self.queue = Queue(maxsize: maxQueue)
    }

    /// Starts the writer thread; call once, before the member is given to the room.
    func start(name: String) throws(ThreadingError) {
        let thread = Thread(name: name, daemon: true) { [socket, queue] in
            QueueMember.write(queue, to: socket)
        }
        try thread.start()
        writer = thread
    }

    /// The writer: one `sendAll` for everything queued at the time (up to 64 KiB), so a busy
    /// room costs a system call per batch, not per line. Ends when the queue is shut down and
    /// empty (then sends FIN) or when a send fails.
    private static func write(_ queue: Queue<[UInt8]>, to socket: Socket) {
        var batch: [UInt8] = []
        batch.reserveCapacity(65_536)
        while true {
            do throws(QueueError) {
                batch.append(contentsOf: try queue.get())
                // Let the other threads run once before taking the rest: in a busy room more
                // lines arrive meanwhile, and one send then carries them all.
                sched_yield()
                while batch.count < 65_536 { batch.append(contentsOf: try queue.getNowait()) }
            } catch {
                // .empty ends a batch; .shutDown with nothing left ends the writer.
                if batch.isEmpty { break }
            }
            do throws(SocketError) {
                try socket.sendAll(batch)
            } catch {
                // The peer is gone: stop queueing and wake the reader so the room hears of it.
                queue.shutdown(immediate: true)
                try? socket.shutdown(.both)
                return
            }
            batch.removeAll(keepingCapacity: true)
        }
        try? socket.shutdown(.write)
    }

    func send(_ line: [UInt8]) -> Bool {
        do throws(QueueError) {
            try queue.putNowait(line)
            return true
        } catch {
            // Full means too slow; shut down means the member is already closing: nothing to drop.
            return error != .full
        }
    }

    func close() {
        queue.shutdown(immediate: false)
    }

    func abort() {
        queue.shutdown(immediate: true)
        // Wakes the writer blocked in send and the reader blocked in recv.
        try? socket.shutdown(.both)
    }

    /// Lets the writer send what is queued and waits for it, at most ``drainTimeout``; a peer
    /// that does not read by then is cut off. Called by the reader thread as it ends.
    func finish() {
        queue.shutdown(immediate: false)
        guard let writer else { return }
        if (try? writer.join(timeout: QueueMember.drainTimeout)) != true {
            abort()
            _ = try? writer.join(timeout: QueueMember.drainTimeout)
        }
    }
}
