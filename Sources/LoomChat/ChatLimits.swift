/// The protocol's fixed limits, the same in both servers.
public enum ChatLimits {
    /// Longest line a client may send, newline excluded: 64 KiB. A longer one is answered with
    /// ``ChatProtocolError/lineTooLong`` and the connection is closed.
    public static let maxLineLength = 65_536
    /// Longest member name, in UTF-8 bytes.
    public static let maxNameLength = 64
    /// Default of ``ChatServerConfiguration/maxQueue``: messages waiting for one slow member.
    public static let defaultMaxQueue = 1000
}
