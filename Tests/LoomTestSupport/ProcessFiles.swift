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

/// Descriptors of this process that are IP sockets bound to local port `port`, in any state: the
/// listener and every connection a server on that port accepted and has not closed (clients use
/// other ports). Robust against other tests opening and closing descriptors meanwhile.
public func serverSockets(port: Int) -> Int {
    var count = 0
    for name in directoryEntries("/proc/self/fd") {
        guard let fd = Int32(name) else { continue }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { continue }
        let local: Int? = withUnsafeBytes(of: storage) { raw in
            switch Int32(storage.ss_family) {
            case AF_INET: Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            case AF_INET6: Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            default: nil
            }
        }
        if local == port { count += 1 }
    }
    return count
}
