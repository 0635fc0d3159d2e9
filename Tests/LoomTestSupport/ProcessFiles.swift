#if canImport(Glibc)
import Glibc
#endif

/// How many descriptors the process has open (entries of /proc/self/fd, the directory's own
/// included).
public func openDescriptorCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while readdir(dir) != nil { count += 1 }
    return count
}

/// The names in a directory, without `.` and `..` (empty when it cannot be read).
public func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// A whole file as text (for /proc files and logs), or nil when it cannot be opened.
public func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A unique path for a Unix-domain socket in /tmp (this process, `name`, a random suffix).
public func temporarySocketPath(_ name: String) -> String {
    "/tmp/loom-test-\(getpid())-\(name)-\(UInt32.random(in: 0...UInt32.max)).sock"
}
