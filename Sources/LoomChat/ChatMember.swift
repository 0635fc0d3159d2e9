/// How the room reaches one connection, whatever the engine: a bounded outgoing queue and two
/// ways to end. The room calls these with its own serialisation held (the member table's lock in
/// threading mode, the loop thread in event-loop mode), so they must not block and must not call
/// back into the room.
public protocol ChatMember: AnyObject {
    /// Queues one encoded line for the client. Returns false when the queue is full: the room
    /// then drops the member as too slow.
    func send(_ line: [UInt8]) -> Bool

    /// Sends what is queued, then closes (after a leave, a refused join, a shutdown).
    func close()

    /// Closes now, dropping what is queued (a member too slow to keep up).
    func abort()
}
