/// The room: its members in the order they joined, and the one place every event is decided, so
/// that all members receive all events in one total order.
///
/// It is not thread-safe, on purpose: each engine gives it one serialisation. The threading
/// server calls it with a `Lock` held (the course's Lock-protected table); the event-loop server
/// calls it on its one loop thread. Either way, a broadcast puts its line into every member's
/// queue before the next event is decided, which is what makes the order total.
public final class ChatRoom {
    /// What the server does with the connection after a line.
    public enum Next: Sendable, Equatable {
        /// Keep reading lines.
        case keepReading
        /// Stop reading: the member was told to close (a leave, a refused join).
        case close
    }

    private var members: [ChatSession] = []
    private var names: Set<String> = []
    private var isShutDown = false

    /// An empty room.
    public init() {}

    /// The members' names, in the order they joined.
    public var memberNames: [String] { members.compactMap(\.name) }

    /// Acts on one line from `session` (without its newline).
    public func receive(_ line: ArraySlice<UInt8>, from session: ChatSession) -> Next {
        let joined = session.name != nil
        guard session.state != .gone else { return .close }
        let message: ClientMessage
        do {
            message = try ClientMessage.parse(line, joined: joined)
        } catch {
            return refuse(session, error, closing: !joined)
        }
        switch message {
        case .join(let name):
            if isShutDown { return refuse(session, .shuttingDown, closing: true) }
            if names.contains(name) { return refuse(session, .nameTaken(name), closing: true) }
            session.state = .joined(name)
            members.append(session)
            names.insert(name)
            broadcast(.joined(name: name))
        case .say(let text):
            broadcast(.message(from: session.name!, text: text))
        case .who:
            reply(session, .members(memberNames))
        case .leave(let text):
            if let name = session.name {
                remove(session)
                broadcast(.left(name: name, message: text, reason: nil))
            }
            session.state = .gone
            session.member.close()
            return .close
        }
        // A member dropped as too slow during its own broadcast stops here.
        return session.state == .gone ? .close : .keepReading
    }

    /// The client sent a line longer than ``ChatLimits/maxLineLength``: it is told so and closed.
    public func lineTooLong(from session: ChatSession) {
        _ = refuse(session, .lineTooLong, closing: true)
    }

    /// The connection ended without a leave message (end of file, reset, a server error): a
    /// member's leave is broadcast without `msg`.
    public func disconnected(_ session: ChatSession) {
        if let name = session.name {
            remove(session)
            broadcast(.left(name: name, message: nil, reason: nil))
        }
        session.state = .gone
    }

    /// Tells every member `{"event":"shutdown"}` and closes them (after their queues drain);
    /// later joins are refused.
    public func shutdown() {
        isShutDown = true
        let line = ServerMessage.shutdown.encoded
        let leaving = members
        members.removeAll()
        names.removeAll()
        for session in leaving {
            session.state = .gone
            _ = session.member.send(line)
            session.member.close()
        }
    }

    // MARK: Delivery

    private func refuse(_ session: ChatSession, _ error: ChatProtocolError, closing: Bool) -> Next {
        reply(session, .error(error.description))
        guard closing else { return session.state == .gone ? .close : .keepReading }
        if session.name != nil { disconnected(session) }
        session.state = .gone
        session.member.close()
        return .close
    }

    private func reply(_ session: ChatSession, _ message: ServerMessage) {
        if !session.member.send(message.encoded), session.name != nil { drop(session) }
    }

    /// Queues `message` for every member; members whose queue is full are dropped, and their
    /// leave is broadcast in turn (after this message, so everyone sees the same order).
    private func broadcast(_ message: ServerMessage) {
        let line = message.encoded
        var slow: [ChatSession] = []
        for session in members where !session.member.send(line) {
            slow.append(session)
        }
        for session in slow where session.name != nil {
            drop(session)
        }
    }

    private func drop(_ session: ChatSession) {
        guard let name = session.name else { return }
        remove(session)
        session.state = .gone
        session.member.abort()
        broadcast(.left(name: name, message: nil, reason: ServerMessage.tooSlow))
    }

    private func remove(_ session: ChatSession) {
        guard let name = session.name else { return }
        names.remove(name)
        members.removeAll { $0 === session }
        session.state = .gone
    }
}
