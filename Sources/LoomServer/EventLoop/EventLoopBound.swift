/// A value that belongs to one event loop, carried through `@Sendable` closures that run on that
/// loop (``EventLoop/execute(_:)``, ``EventLoop/schedule(after:_:)``): SwiftNIO's `NIOLoopBound`.
///
/// ```swift
/// let me = EventLoopBound(self, eventLoop: transport.loop)
/// transport.loop.schedule(after: .seconds(5)) { me.value.timedOut() }
/// ```
///
/// Reading ``value`` off the loop's thread traps in debug builds: the wrapper is `Sendable` only
/// because the value is never used anywhere else.
public struct EventLoopBound<Value>: @unchecked Sendable {  // the value is only reached on its loop's thread (asserted)
    private let wrapped: Value
    /// The loop the value belongs to.
    public let eventLoop: EventLoop

    /// Binds `value` to `eventLoop`; call it on that loop's thread (or before the loop starts).
    public init(_ value: Value, eventLoop: EventLoop) {
        eventLoop.assertInEventLoop()
        wrapped = value
        self.eventLoop = eventLoop
    }

    /// The value; only on the loop's thread.
    public var value: Value {
        eventLoop.assertInEventLoop()
        return wrapped
    }
}
