/// A socket a service manager (systemd, `systemd-socket-activate`) opened for this process,
/// with the name its unit gave it (`FileDescriptorName=`; `unknown` when none).
public struct InheritedSocket: Sendable {
    /// The name from `LISTEN_FDNAMES`, or `unknown`.
    public let name: String
    /// The socket, now owned by this process (close-on-exec set; family and type read from the
    /// kernel).
    public let socket: Socket
}
