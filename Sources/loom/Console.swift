#if canImport(Glibc)
import Glibc
#endif
import LoomSystem

/// Output for every `loom` command: each line leaves in one `write(2)`, so lines printed by
/// different threads never run into each other, and nothing sits in a buffer when a signal
/// stops the process.
enum Console {
    /// Writes `text` and a newline to stdout.
    static func line(_ text: String) {
        write(1, text + "\n")
    }

    /// Writes `text` and a newline to stderr.
    static func error(_ text: String) {
        write(2, text + "\n")
    }

    /// Writes raw bytes to stdout, unchanged.
    static func bytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write(1, $0) }
    }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { write(fd, UnsafeRawBufferPointer($0)) }
    }

    private static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) {
        writeAll(fd, buffer)
    }
}
