/// A line the server sends, to every member (in one total order) or to one client.
///
/// On the wire, keys in this order:
/// `{"from":"alice","msg":"hello"}`, `{"event":"join","name":"alice"}`,
/// `{"event":"leave","name":"alice","msg":"我下线了！"}` (no `msg` when the client just went away;
/// `"reason":"too slow"` when the server dropped it), `{"event":"members","names":["alice"]}`,
/// `{"event":"shutdown"}`, `{"error":"…"}`.
public enum ServerMessage: Sendable, Equatable {
    /// `from` said `text`.
    case message(from: String, text: String)
    /// `name` joined.
    case joined(name: String)
    /// `name` left, with its parting message if it sent one, or the server's reason for dropping it.
    case left(name: String, message: String?, reason: String?)
    /// The members, in the order they joined (the answer to `{"cmd":"who"}`).
    case members([String])
    /// The server is stopping; the connection closes next.
    case shutdown
    /// The client's line was refused.
    case error(String)

    /// The reason given when a member's outgoing queue overflowed.
    public static let tooSlow = "too slow"

    /// The line, newline included.
    public var encoded: [UInt8] {
        var output: [UInt8] = [0x7B]
        switch self {
        case .message(let from, let text):
            JSONText.appendField("from", from, to: &output)
            output.append(0x2C)
            JSONText.appendField("msg", text, to: &output)
        case .joined(let name):
            appendEvent("join", to: &output)
            output.append(0x2C)
            JSONText.appendField("name", name, to: &output)
        case .left(let name, let message, let reason):
            appendEvent("leave", to: &output)
            output.append(0x2C)
            JSONText.appendField("name", name, to: &output)
            if let message {
                output.append(0x2C)
                JSONText.appendField("msg", message, to: &output)
            }
            if let reason {
                output.append(0x2C)
                JSONText.appendField("reason", reason, to: &output)
            }
        case .members(let names):
            appendEvent("members", to: &output)
            output.append(0x2C)
            JSONText.appendKey("names", to: &output)
            output.append(0x5B)
            for (index, name) in names.enumerated() {
                if index > 0 { output.append(0x2C) }
                JSONText.appendString(name, to: &output)
            }
            output.append(0x5D)
        case .shutdown:
            appendEvent("shutdown", to: &output)
        case .error(let text):
            JSONText.appendField("error", text, to: &output)
        }
        output.append(contentsOf: [0x7D, 0x0A])
        return output
    }

    private func appendEvent(_ event: StaticString, to output: inout [UInt8]) {
        JSONText.appendKey("event", to: &output)
        JSONText.appendString(event.description, to: &output)
    }

    /// Parses a line from the server (without its newline), for clients and tests. Throws
    /// ``ChatProtocolError/notJSONObject`` for a line that is none of the above.
    public static func parse(_ line: ArraySlice<UInt8>) throws(ChatProtocolError) -> ServerMessage {
        let object = try JSONObject(parsing: line)
        if let text = object.string("error") { return .error(text) }
        if let from = object.string("from"), let text = object.string("msg") { return .message(from: from, text: text) }
        switch object.string("event") {
        case "join"?:
            if let name = object.string("name") { return .joined(name: name) }
        case "leave"?:
            if let name = object.string("name") {
                return .left(name: name, message: object.string("msg"), reason: object.string("reason"))
            }
        case "members"?:
            if let names = object.strings("names") { return .members(names) }
        case "shutdown"?:
            return .shutdown
        default:
            break
        }
        throw .notJSONObject
    }
}
