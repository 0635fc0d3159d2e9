#if canImport(Glibc)
import Glibc
#endif

/// The address families Loom's sockets speak.
public enum SocketFamily: Sendable, Hashable {
    case ipv4, ipv6, unix

    var rawValue: Int32 {
        switch self {
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        case .unix: AF_UNIX
        }
    }

    init?(rawValue: Int32) {
        switch rawValue {
        case AF_INET: self = .ipv4
        case AF_INET6: self = .ipv6
        case AF_UNIX: self = .unix
        default: return nil
        }
    }
}

/// An IPv4, IPv6 or Unix-domain socket address.
///
/// Parses and prints the forms users type: `127.0.0.1:9999`, `[::1]:9999`, `unix:/tmp/loom.sock`.
/// ```swift
/// let address = try SocketAddress("127.0.0.1:9999")
/// print(address)          // 127.0.0.1:9999
/// ```
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    // sockaddr_storage is large enough for every family; `length` says how much of it is used.
    var storage: sockaddr_storage
    var length: socklen_t

    /// The address's family.
    public var family: SocketFamily { SocketFamily(rawValue: Int32(storage.ss_family)) ?? .ipv4 }

    /// True for an address with nothing but a family: the sender of a datagram from an unbound
    /// Unix-domain socket, or an unbound socket's own address. Nothing can be sent to it.
    public var isUnnamed: Bool {
        switch family {
        case .unix: path == nil
        case .ipv4, .ipv6: Int(length) <= MemoryLayout<sa_family_t>.size
        }
    }

    /// An IPv4 or IPv6 address from a numeric host (`127.0.0.1`, `::1`) and a port.
    /// Throws ``SocketError/Kind/invalidArgument`` when `host` is not a numeric address;
    /// use ``Socket/createConnection(host:port:timeout:)`` to resolve names.
    public init(host: String, port: Int) throws(SocketError) {
        try Self.rejectNUL(in: host, operation: "address")
        guard (0...65535).contains(port) else {
            throw SocketError("address", kind: .invalidArgument, detail: "port \(port) is outside 0-65535")
        }
        var storage = sockaddr_storage()
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(port).bigEndian)
            sin.sin_addr = v4
            withUnsafeBytes(of: sin) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(UInt16(port).bigEndian)
            sin6.sin6_addr = v6
            withUnsafeBytes(of: sin6) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
        } else {
            throw SocketError("address", kind: .invalidArgument, detail: "'\(host)' is not a numeric IP address")
        }
    }

    /// A Unix-domain address for a filesystem path (at most 107 bytes).
    public init(unixPath path: String) throws(SocketError) {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: sun.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw SocketError("address", kind: .invalidArgument,
                              detail: "unix socket path must be 1 to \(capacity - 1) bytes without NUL")
        }
        withUnsafeMutableBytes(of: &sun.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        var storage = sockaddr_storage()
        withUnsafeBytes(of: sun) { src in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + 1
        self.init(storage: storage, length: socklen_t(length))
    }

    /// Parses `127.0.0.1:9999`, `[::1]:9999` or `unix:/path`.
    public init(_ text: String) throws(SocketError) {
        if text.hasPrefix("unix:") {
            try self.init(unixPath: String(text.dropFirst(5)))
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw SocketError("address", kind: .invalidArgument, detail: "'\(text)' has no port")
            }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            throw SocketError("address", kind: .invalidArgument, detail: "'\(text)' is not host:port, [v6]:port or unix:path")
        }
        guard let port = Int(portText) else {
            throw SocketError("address", kind: .invalidArgument, detail: "'\(portText)' is not a port number")
        }
        try self.init(host: String(host), port: port)
    }

    /// C APIs stop at a NUL, so `"127.0.0.1\0evil"` would silently mean `127.0.0.1`: refuse it.
    static func rejectNUL(in host: String, operation: String) throws(SocketError) {
        guard host.utf8.contains(0) else { return }
        throw SocketError(operation, kind: .invalidArgument, detail: "host contains a NUL byte")
    }

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// The numeric host (`127.0.0.1`, `::1`), or the path of a Unix-domain address.
    public var host: String {
        switch family {
        case .ipv4:
            return withUnsafeBytes(of: storage) { raw in
                var addr = raw.load(as: sockaddr_in.self).sin_addr
                var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        case .ipv6:
            return withUnsafeBytes(of: storage) { raw in
                var addr = raw.load(as: sockaddr_in6.self).sin6_addr
                var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        case .unix:
            return path ?? ""
        }
    }

    /// The port of an IP address; 0 for a Unix-domain address.
    public var port: Int {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case .ipv4: Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            case .ipv6: Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            case .unix: 0
            }
        }
    }

    /// The path of a Unix-domain address; nil for an unnamed one or for IP addresses.
    public var path: String? {
        guard family == .unix else { return nil }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let count = Int(length) - offset
        guard count > 0 else { return nil }
        return withUnsafeBytes(of: storage) { raw in
            let bytes = raw[offset..<(offset + count)].prefix { $0 != 0 }
            return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
        }
    }

    /// `127.0.0.1:9999`, `[::1]:9999` or `unix:/path`: the forms ``init(_:)`` parses.
    public var description: String {
        switch family {
        case .ipv4: "\(host):\(port)"
        case .ipv6: "[\(host)]:\(port)"
        case .unix: "unix:\(path ?? "")"
        }
    }

    /// Calls `body` with the address as the kernel wants it.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SocketError) -> R) throws(SocketError) -> R {
        var copy = storage
        let length = length
        return try withUnsafePointer(to: &copy) { (pointer) throws(SocketError) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SocketError) -> R in
                try body(sa, length)
            }
        }
    }

    /// Reads an address the kernel fills in (`accept`, `getsockname`, `recvfrom`).
    ///
    /// The kernel reports an unnamed sender (an unbound Unix datagram socket) with length 0 and
    /// no family at all; such an address takes `family`, the receiving socket's, and stays
    /// unnamed (``isUnnamed``) instead of passing for the IPv4 address `0.0.0.0:0`.
    static func fromKernel(family: SocketFamily, _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) throws(SocketError) -> Void) throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try withUnsafeMutablePointer(to: &storage) { (pointer) throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SocketError) in
                try body(sa, &length)
            }
        }
        if Int(length) < MemoryLayout<sa_family_t>.size {
            storage = sockaddr_storage()
            storage.ss_family = sa_family_t(family.rawValue)
            length = socklen_t(MemoryLayout<sa_family_t>.size)
        }
        return SocketAddress(storage: storage, length: length)
    }

    /// Byte-wise equality of the kernel representations.
    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        guard lhs.length == rhs.length else { return false }
        return withUnsafeBytes(of: lhs.storage) { l in
            withUnsafeBytes(of: rhs.storage) { r in
                l.prefix(Int(lhs.length)).elementsEqual(r.prefix(Int(rhs.length)))
            }
        }
    }

    /// Hashes the kernel representation.
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
    }
}
