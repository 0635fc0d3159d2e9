import COpenSSL

/// OpenSSL's per-thread error queue: drained after every failure, so that a stale entry never
/// shows up as the reason of a later, unrelated call.
enum OpenSSLErrorQueue {
    /// Empties the queue and returns the reason of its most specific (last) entry, or nil.
    static func drain() -> String? {
        var last: String?
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            last = reasonText(code)
        }
        return last
    }

    /// Empties the queue; called before an operation whose failure is read from it.
    @inline(__always)
    static func clear() {
        ERR_clear_error()
    }

    /// OpenSSL's reason string for an error code ("key values mismatch"), else the full text.
    static func reasonText(_ code: UInt) -> String {
        if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
