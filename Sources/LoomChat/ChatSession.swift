/// One connection as the room sees it: its member (the way to write to it) and where it is in
/// the protocol. Created by the server for each connection; used only under the room's
/// serialisation, like the room itself.
public final class ChatSession {
    /// Where the connection is in the protocol.
    public enum State: Sendable, Equatable {
        /// Connected, waiting for its `{"name":…}` line.
        case connected
        /// A member of the room, under this name.
        case joined(String)
        /// Left, refused or dropped: nothing it sends counts any more.
        case gone
    }

    /// The connection's outgoing side.
    public let member: any ChatMember
    /// Where it is in the protocol.
    public internal(set) var state = State.connected

    /// A session for a new connection.
    public init(member: any ChatMember) {
        self.member = member
    }

    /// The member's name once joined.
    public var name: String? {
        if case .joined(let name) = state { return name }
        return nil
    }
}
