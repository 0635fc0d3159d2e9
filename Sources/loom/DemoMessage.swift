/// Where one message of the course's socket demo ends, since TCP has no message boundaries.
///
/// The course's client sends one JSON object and waits for the reply without closing, so the
/// server cannot wait for end-of-file; a single `recv` (what the course did) may return half a
/// message, even half of a multi-byte UTF-8 character. A message is complete when:
/// - it is JSON-like (starts with `{` or `[`) and its brackets balance, outside strings (both
///   `"…"` and Python-repr `'…'`, with backslash escapes): the course's client;
/// - the peer half-closes or closes (end of file): Loom's client does so after sending;
/// - it is not JSON-like and the peer pauses (see `DemoSocketServer`): any other client;
/// - it reaches ``maxLength``: a peer cannot make the server buffer without end.
/// Bytes are collected as bytes and decoded as UTF-8 only once complete.
struct MessageBoundary {
    /// 8 KiB, like `socketserver.UDPServer.max_packet_size`; the course's messages are tiny.
    static let maxLength = 8 * 1024

    private(set) var bytes: [UInt8] = []
    private var depth = 0
    private var quote: UInt8?
    private var escaped = false
    private var started = false
    private(set) var isJSONLike = false
    private(set) var isComplete = false

    mutating func append(_ chunk: [UInt8]) {
        for byte in chunk where !isComplete {
            bytes.append(byte)
            scan(byte)
            if bytes.count >= Self.maxLength { isComplete = true }
        }
    }

    private mutating func scan(_ byte: UInt8) {
        if !started {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: return                  // leading whitespace
            case UInt8(ascii: "{"), UInt8(ascii: "["): isJSONLike = true
            default: break
            }
            started = true
        }
        guard isJSONLike else { return }
        if let open = quote {
            if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == open { quote = nil }
            return
        }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
        case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth <= 0 { isComplete = true }
        default: break
        }
    }
}
