#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Python's `getaddrinfo`: resolves `host` (a name or a numeric IPv4/IPv6 address) into the
    /// addresses to try, in the resolver's order, without duplicates.
    ///
    /// A failure throws ``SocketError/Kind/nameResolution`` (Python's `socket.gaierror`).
    public static func resolve(host: String, port: Int, type: SocketType = .stream) throws(SocketError) -> [SocketAddress] {
        guard (0...65535).contains(port) else {
            throw SocketError("getaddrinfo", kind: .invalidArgument, detail: "port \(port) is outside 0-65535")
        }
        try SocketAddress.rejectNUL(in: host, operation: "getaddrinfo")
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type.rawValue
        // No AI_ADDRCONFIG (Python passes no flags either): it hides ::1 and 127.0.0.1 on
        // machines, such as containers, whose only addresses are on the loopback interface.
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        if status == EAI_SYSTEM {
            throw SocketError("getaddrinfo \(host)", errno: errno)
        }
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status)).lowercased()
            throw SocketError("getaddrinfo \(host)", kind: .nameResolution, errno: status, detail: reason)
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let sa = entry.pointee.ai_addr, SocketFamily(rawValue: entry.pointee.ai_family) != nil {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(entry.pointee.ai_addrlen)))
                }
                let address = SocketAddress(storage: storage, length: entry.pointee.ai_addrlen)
                if !addresses.contains(address) { addresses.append(address) }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    /// Python's `socket.create_connection`: resolves `host`, tries each address in turn (each
    /// attempt bounded by `timeout`) and returns the first connected socket, which keeps
    /// `timeout` as its ``timeout``. When none connects, the last attempt's error is thrown.
    ///
    /// ```swift
    /// let socket = try Socket.createConnection(host: "localhost", port: 9999, timeout: .seconds(5))
    /// ```
    public static func createConnection(host: String, port: Int, timeout: Duration? = nil) throws(SocketError) -> Socket {
        let addresses = try resolve(host: host, port: port)
        var lastError: SocketError?
        for address in addresses {
            do {
                let socket = try Socket(family: address.family, type: .stream)
                socket.timeout = timeout
                try socket.connect(to: address)
                return socket
            } catch {
                lastError = error
            }
        }
        throw lastError ?? SocketError("connect", kind: .nameResolution, detail: "no address for \(host)")
    }

    /// Python's `socket.create_server`: a bound, listening TCP socket with `SO_REUSEADDR` set.
    ///
    /// - Parameters:
    ///   - host: a numeric address or a name; the default binds loopback only. Use `"0.0.0.0"`
    ///     or `"::"` to listen on every interface.
    ///   - port: the port; 0 picks a free one (read it back with ``localAddress``).
    ///   - family: forces IPv4 or IPv6 when `host` resolves to both; nil takes the first.
    ///   - reusePort: sets `SO_REUSEPORT` so several servers share the port.
    ///   - dualStack: for an IPv6 socket, accepts IPv4 peers too (clears `IPV6_V6ONLY`).
    ///   - backlog: the listen backlog (default ``defaultBacklog``).
    public static func createServer(
        host: String = "127.0.0.1", port: Int, family: SocketFamily? = nil, reusePort: Bool = false,
        dualStack: Bool = false, backlog: Int32 = Socket.defaultBacklog
    ) throws(SocketError) -> Socket {
        let candidates = try resolve(host: host, port: port)
        guard let address = candidates.first(where: { family == nil || $0.family == family }) else {
            throw SocketError("getaddrinfo \(host)", kind: .nameResolution,
                              detail: "no \(family.map { "\($0) " } ?? "")address")
        }
        let socket = try Socket(family: address.family, type: .stream)
        try socket.setOption(.reuseAddress, true)
        if reusePort { try socket.setOption(.reusePort, true) }
        if address.family == .ipv6 { try socket.setOption(.ipv6Only, !dualStack) }
        try socket.bind(to: address)
        try socket.listen(backlog: backlog)
        return socket
    }
}
