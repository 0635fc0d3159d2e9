/// A connection handler in the style of Python's `asyncio.Protocol`, called on its event loop's
/// thread, one instance per connection.
///
/// ```swift
/// final class Echo: StreamProtocol {
///     var transport: Transport!
///     func connectionMade(_ transport: Transport) { self.transport = transport }
///     func dataReceived(_ data: UnsafeRawBufferPointer) { transport.write(data) }
/// }
/// let server = try EventLoopServer(configuration: .init(port: 9999)) { Echo() }
/// server.serveForever()
/// ```
///
/// Order: ``connectionMade(_:)``, then any number of ``dataReceived(_:)``, at most one
/// ``eofReceived()``, and exactly one ``connectionLost(_:)``. A connection the loop cannot set up
/// (its epoll registration fails) is closed and reported before ``connectionMade(_:)``, and the
/// protocol gets no callback at all: `connectionLost` only ever follows `connectionMade`. A callback that throws has its
/// error reported (see ``EventLoopServer/Configuration/errorHandler``) and the connection is
/// aborted; the server carries on.
public protocol StreamProtocol: AnyObject {
    /// The connection is set up; keep `transport` to write and close.
    func connectionMade(_ transport: Transport) throws

    /// Bytes arrived. `data` is borrowed from the loop's read buffer and valid only during the
    /// call: copy what you keep. The default implementation copies it into an array and calls
    /// ``dataReceived(bytes:)``.
    func dataReceived(_ data: UnsafeRawBufferPointer) throws

    /// The convenient form of ``dataReceived(_:)``: an array of its own (one allocation a read).
    func dataReceived(bytes: [UInt8]) throws

    /// The peer closed its side. Return true to keep writing (a half-closed connection), false
    /// (the default) to let the transport close once its writes are flushed.
    func eofReceived() throws -> Bool

    /// The connection is closed: `nil` after a normal close, else the error (a reset, a
    /// timeout, a callback's error).
    func connectionLost(_ error: (any Error)?)

    /// The transport's write buffer went above its high-water mark: stop producing.
    func pauseWriting()

    /// The write buffer drained to its low-water mark (or below): produce again.
    func resumeWriting()
}

extension StreamProtocol {
    /// Does nothing.
    public func connectionMade(_ transport: Transport) throws {}
    /// Copies `data` into an array and calls ``dataReceived(bytes:)``.
    public func dataReceived(_ data: UnsafeRawBufferPointer) throws { try dataReceived(bytes: Array(data)) }
    /// Ignores the bytes.
    public func dataReceived(bytes: [UInt8]) throws {}
    /// Returns false: the transport closes once its writes are flushed.
    public func eofReceived() throws -> Bool { false }
    /// Does nothing.
    public func connectionLost(_ error: (any Error)?) {}
    /// Does nothing (the write buffer keeps growing).
    public func pauseWriting() {}
    /// Does nothing.
    public func resumeWriting() {}
}
