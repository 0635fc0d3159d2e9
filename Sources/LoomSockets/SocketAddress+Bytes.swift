#if canImport(Glibc)
import Glibc
#endif

extension SocketAddress {
    /// An IPv4 or IPv6 address from its bytes in network order (4 or 16 of them) and a port,
    /// as protocols carry them on the wire (the PROXY protocol's binary header), without going
    /// through text. Throws ``SocketError/Kind/invalidArgument`` for any other byte count.
    public init<Bytes: Collection<UInt8>>(ipBytes bytes: Bytes, port: UInt16) throws(SocketError) {
        let copy = Array(bytes)
        let outcome = copy.withUnsafeBytes { raw in
            Result { () throws(SocketError) in try SocketAddress(ipBytes: raw, port: port) }
        }
        self = try outcome.get()
    }

    /// The same for bytes already in memory, without generic dispatch: the
    /// form parsers on a hot path use.
    public init(ipBytes bytes: UnsafeRawBufferPointer, port: UInt16) throws(SocketError) {
        var storage = sockaddr_storage()
        switch bytes.count {
        case 4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(port.bigEndian)
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: bytes) }
            withUnsafeBytes(of: sin) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        case 16:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(port.bigEndian)
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
            withUnsafeBytes(of: sin6) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
        default:
            throw SocketError("address", kind: .invalidArgument,
                              detail: "an IP address has 4 or 16 bytes, not \(bytes.count)")
        }
    }

    /// A Unix-domain address from the raw bytes of a `sun_path` (at most 108), as the PROXY
    /// protocol carries it: NUL padding after a path is dropped; a leading NUL is a Linux
    /// abstract name, kept whole up to its trailing padding; no bytes at all (or only NULs) make
    /// an unnamed address (``isUnnamed``). Throws ``SocketError/Kind/invalidArgument`` when
    /// longer than `sun_path`.
    public init<Bytes: Collection<UInt8>>(unixPathBytes bytes: Bytes) throws(SocketError) {
        let copy = Array(bytes)
        let outcome = copy.withUnsafeBytes { raw in
            Result { () throws(SocketError) in try SocketAddress(unixPathBytes: raw) }
        }
        self = try outcome.get()
    }

    /// The same for bytes already in memory, without generic dispatch.
    public init(unixPathBytes bytes: UnsafeRawBufferPointer) throws(SocketError) {
        var sun = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: sun.sun_path)
        guard bytes.count <= capacity else {
            throw SocketError("address", kind: .invalidArgument,
                              detail: "a unix socket path has at most \(capacity) bytes, not \(bytes.count)")
        }
        sun.sun_family = sa_family_t(AF_UNIX)
        var used = 0
        withUnsafeMutableBytes(of: &sun.sun_path) { raw in
            raw.copyBytes(from: bytes)
            let all = raw.prefix(bytes.count)
            if all.first == 0 {
                // Abstract: everything up to the last non-NUL byte is the name.
                used = (all.lastIndex { $0 != 0 }).map { $0 + 1 } ?? 0
            } else {
                // A path ends at its first NUL; the kernel's length counts that terminator.
                let end = all.firstIndex(of: 0) ?? all.count
                used = end < capacity ? end + 1 : end
            }
        }
        var storage = sockaddr_storage()
        withUnsafeBytes(of: sun) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        self.init(storage: storage, length: socklen_t(used == 0 ? MemoryLayout<sa_family_t>.size : offset + used))
    }
}
