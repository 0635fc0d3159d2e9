#if canImport(Glibc)
import Glibc
#endif

/// A value a socket option holds, converted to and from the kernel's representation.
public protocol SocketOptionValue: Sendable {
    /// Builds the value from the bytes `getsockopt` wrote.
    static func fromOptionBytes(_ bytes: UnsafeRawBufferPointer) -> Self
    /// The bytes `setsockopt` takes.
    var optionBytes: [UInt8] { get }
}

extension Bool: SocketOptionValue {
    /// Reads the kernel's value (an `int`, or a `struct linger`).
    public static func fromOptionBytes(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.loadUnaligned(as: Int32.self) != 0
    }
    /// The kernel's representation of the value.
    public var optionBytes: [UInt8] { withUnsafeBytes(of: Int32(self ? 1 : 0)) { Array($0) } }
}

extension Int: SocketOptionValue {
    /// Reads the kernel's value (an `int`, or a `struct linger`).
    public static func fromOptionBytes(_ bytes: UnsafeRawBufferPointer) -> Int {
        Int(bytes.loadUnaligned(as: Int32.self))
    }
    /// The kernel's representation of the value.
    public var optionBytes: [UInt8] { withUnsafeBytes(of: Int32(clamping: self)) { Array($0) } }
}

/// `SO_LINGER`: `nil` turns lingering off; a duration makes `close` wait up to that long
/// (whole seconds) for unsent data; `.zero` makes `close` reset the connection.
public struct Linger: SocketOptionValue, Equatable {
    /// How long `close` lingers, or nil when lingering is off.
    public var duration: Duration?

    /// Creates a linger setting.
    public init(_ duration: Duration?) { self.duration = duration }

    /// Reads the kernel's value (an `int`, or a `struct linger`).
    public static func fromOptionBytes(_ bytes: UnsafeRawBufferPointer) -> Linger {
        let value = bytes.loadUnaligned(as: linger.self)
        return Linger(value.l_onoff == 0 ? nil : .seconds(Int(value.l_linger)))
    }

    /// The kernel's representation of the value.
    public var optionBytes: [UInt8] {
        var value = linger()
        if let duration {
            value.l_onoff = 1
            value.l_linger = Int32(clamping: duration.components.seconds)
        }
        return withUnsafeBytes(of: value) { Array($0) }
    }
}

/// A typed socket option: `socket.setOption(.reuseAddress, true)`, `try socket.option(.noDelay)`.
///
/// Options not named here: `SocketOption<Int>(level: SOL_SOCKET, name: SO_PRIORITY)`.
public struct SocketOption<Value: SocketOptionValue>: Sendable {
    /// The `setsockopt` level (`SOL_SOCKET`, `IPPROTO_TCP`, …).
    public let level: Int32
    /// The option's name at that level.
    public let name: Int32

    /// An option by level and name.
    public init(level: Int32, name: Int32) {
        self.level = level
        self.name = name
    }
}

extension SocketOption where Value == Bool {
    /// `SO_REUSEADDR`: bind to a port with connections still in `TIME_WAIT`.
    public static var reuseAddress: SocketOption<Bool> { .init(level: SOL_SOCKET, name: SO_REUSEADDR) }
    /// `SO_REUSEPORT`: several sockets share one port; the kernel balances connections.
    public static var reusePort: SocketOption<Bool> { .init(level: SOL_SOCKET, name: SO_REUSEPORT) }
    /// `TCP_NODELAY`: turn Nagle's algorithm off.
    public static var noDelay: SocketOption<Bool> { .init(level: Int32(IPPROTO_TCP), name: TCP_NODELAY) }
    /// `SO_KEEPALIVE`.
    public static var keepAlive: SocketOption<Bool> { .init(level: SOL_SOCKET, name: SO_KEEPALIVE) }
    /// `SO_BROADCAST`, for UDP.
    public static var broadcast: SocketOption<Bool> { .init(level: SOL_SOCKET, name: SO_BROADCAST) }
    /// `IPV6_V6ONLY`: an IPv6 socket refuses IPv4-mapped peers.
    public static var ipv6Only: SocketOption<Bool> { .init(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY) }
}

extension SocketOption where Value == Int {
    /// `SO_SNDBUF`, in bytes (Linux reports double what was set).
    public static var sendBufferSize: SocketOption<Int> { .init(level: SOL_SOCKET, name: SO_SNDBUF) }
    /// `SO_RCVBUF`, in bytes (Linux reports double what was set).
    public static var receiveBufferSize: SocketOption<Int> { .init(level: SOL_SOCKET, name: SO_RCVBUF) }
}

extension SocketOption where Value == Linger {
    /// `SO_LINGER`.
    public static var linger: SocketOption<Linger> { .init(level: SOL_SOCKET, name: SO_LINGER) }
}

extension SocketOption where Value == Int {
    /// `SO_ERROR`, read-only: the pending error of the socket (and clears it), for example the
    /// outcome of a non-blocking ``Socket/connect(to:)``; 0 when there is none.
    public static var error: SocketOption<Int> { .init(level: SOL_SOCKET, name: SO_ERROR) }
}

extension Socket {
    /// Python's `setsockopt`: `try socket.setOption(.reuseAddress, true)`.
    public func setOption<Value>(_ option: SocketOption<Value>, _ value: Value) throws(SocketError) {
        let bytes = value.optionBytes
        try descriptor.withDescriptor("setsockopt") { (fd) throws(SocketError) in
            _ = try bytes.withUnsafeBytes { raw in
                Result { () throws(SocketError) in
                    try socketCall(.setsockopt, on: fd) { _ in
                        setsockopt(fd, option.level, option.name, raw.baseAddress, socklen_t(raw.count))
                    }
                }
            }.get()
        }
    }

    /// Python's `getsockopt`: `let on = try socket.option(.noDelay)`.
    public func option<Value>(_ option: SocketOption<Value>) throws(SocketError) -> Value {
        var buffer = [UInt8](repeating: 0, count: 64)
        try descriptor.withDescriptor("getsockopt") { (fd) throws(SocketError) in
            var length = socklen_t(buffer.count)
            _ = try buffer.withUnsafeMutableBytes { raw in
                Result { () throws(SocketError) in
                    try socketCall(.getsockopt, on: fd) { _ in getsockopt(fd, option.level, option.name, raw.baseAddress, &length) }
                }
            }.get()
        }
        return buffer.withUnsafeBytes { Value.fromOptionBytes($0) }
    }
}
