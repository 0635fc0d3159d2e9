#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Resolves `host` with `getaddrinfo` (IPv4 and IPv6, names and numbers) into stream addresses.
    public static func resolve(host: String, port: Int, type: SocketType = .stream) throws(SocketError) -> [SocketAddress] {
        guard (0...65535).contains(port) else {
            throw SocketError("getaddrinfo", kind: .invalidArgument, detail: "port \(port) is outside 0-65535")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type.rawValue
        hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV
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
            if let sa = entry.pointee.ai_addr {
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

    /// Python's `socket.create_connection`: resolves `host`, tries each address in turn with
    /// `timeout` per attempt, and returns the first connected socket. The socket keeps `timeout`.
    /// The error of the last attempt is thrown when none connects.
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

    /// Python's `socket.create_server`: a listening TCP socket with `SO_REUSEADDR` set.
    ///
    /// - Parameters:
    ///   - host: a numeric address or a name; the default binds loopback only.
    ///   - family: forces IPv4 or IPv6 when `host` resolves to both; nil takes the first.
    ///   - reusePort: sets `SO_REUSEPORT` so several servers share the port.
    ///   - dualStack: for an IPv6 socket, accepts IPv4 peers too (clears `IPV6_V6ONLY`).
    public static func createServer(
        host: String = "127.0.0.1", port: Int, family: SocketFamily? = nil, reusePort: Bool = false,
        dualStack: Bool = false, backlog: Int32 = SOMAXCONN
    ) throws(SocketError) -> Socket {
        let candidates = try resolve(host: host, port: port)
        guard let address = candidates.first(where: { family == nil || $0.family == family }) else {
            throw SocketError("getaddrinfo \(host)", kind: .nameResolution, detail: "no \(family.map { "\($0)" } ?? "") address")
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
