/// Why the server refused a client's line; its ``description`` is the text of the
/// `{"error":"…"}` line the client receives.
public enum ChatProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The line is not valid UTF-8.
    case notUTF8
    /// The line is not JSON, or JSON but not an object (`[1]`, `"hi"`, `42`).
    case notJSONObject
    /// The first line has no `name`, an empty one, or one that is not a string.
    case missingName
    /// The name is longer than ``ChatLimits/maxNameLength`` bytes.
    case nameTooLong
    /// Another member already has the name (the connection then closes).
    case nameTaken(String)
    /// The line is longer than ``ChatLimits/maxLineLength`` bytes (the connection then closes).
    case lineTooLong
    /// A joined member's line has none of `msg`, `leave` or `cmd`, or `msg` is not a string.
    case noMessage
    /// A `cmd` other than `who`.
    case unknownCommand(String)
    /// The server is shutting down and takes no new members.
    case shuttingDown

    /// The text sent to the client.
    public var description: String {
        switch self {
        case .notUTF8: "line is not valid UTF-8"
        case .notJSONObject: "line is not a JSON object"
        case .missingName: "the first line must be {\"name\":\"…\"} with a non-empty name"
        case .nameTooLong: "name longer than \(ChatLimits.maxNameLength) bytes"
        case .nameTaken(let name): "name \(name) is already taken"
        case .lineTooLong: "line longer than \(ChatLimits.maxLineLength) bytes"
        case .noMessage: "expected a string msg, \"leave\":true or a cmd"
        case .unknownCommand(let command): "unknown cmd \(command)"
        case .shuttingDown: "server is shutting down"
        }
    }
}
