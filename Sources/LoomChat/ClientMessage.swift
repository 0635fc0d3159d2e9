/// A line a client sends, once parsed: what the room acts on.
///
/// On the wire (one JSON object a line, unknown fields ignored):
/// `{"name":"alice"}` joins (the first line), `{"msg":"hello"}` speaks,
/// any object with `"leave":true` leaves (the course's `{"status":true,"leave":true,"msg":"我下线了！"}`
/// leaves with a parting message), `{"cmd":"who"}` asks for the member list.
public enum ClientMessage: Sendable, Equatable {
    /// Join the room under `name`.
    case join(name: String)
    /// Say `text` to everyone.
    case say(String)
    /// Leave, with an optional parting message.
    case leave(message: String?)
    /// Ask for the member list.
    case who

    /// The message the course's socket client sends: `{"status":true,"leave":true,"msg":"我下线了！"}`.
    public static let courseLeave = ClientMessage.leave(message: "我下线了！")

    /// Parses one line (without its newline; a trailing `\r` is ignored). `joined` tells
    /// whether the sender is already a member: before, only a join (or a leave) is accepted.
    public static func parse(_ line: ArraySlice<UInt8>, joined: Bool) throws(ChatProtocolError) -> ClientMessage {
        let line = line.last == 0x0D ? line.dropLast() : line
        let object = try JSONObject(parsing: line)
        if object.isTrue("leave") { return .leave(message: object.string("msg")) }
        guard joined else {
            guard let name = object.string("name"), !name.isEmpty else { throw .missingName }
            guard name.utf8.count <= ChatLimits.maxNameLength else { throw .nameTooLong }
            return .join(name: name)
        }
        if let command = object.string("cmd") {
            guard command == "who" else { throw .unknownCommand(command) }
            return .who
        }
        guard let text = object.string("msg") else { throw .noMessage }
        return .say(text)
    }

    /// The line a client sends for this message, newline included. A leave with a message is
    /// written the course's way, `status` first.
    public var encoded: [UInt8] {
        var output: [UInt8] = [0x7B]  // {
        switch self {
        case .join(let name):
            JSONText.appendField("name", name, to: &output)
        case .say(let text):
            JSONText.appendField("msg", text, to: &output)
        case .leave(let message):
            output.append(contentsOf: Array(#""status":true,"leave":true"#.utf8))
            if let message {
                output.append(0x2C)
                JSONText.appendField("msg", message, to: &output)
            }
        case .who:
            JSONText.appendField("cmd", "who", to: &output)
        }
        output.append(contentsOf: [0x7D, 0x0A])  // }\n
        return output
    }
}
