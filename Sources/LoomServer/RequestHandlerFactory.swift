import LoomSockets

/// Makes the handler for one request: how configuration reaches a handler without globals.
/// Called on the request's thread with what Python passes to `RequestHandlerClass(...)`; the
/// handler it returns must be a new object (the server runs and then drops it). An error it
/// throws goes to ``BaseServer/handleError(_:clientAddress:)`` and the request is closed.
///
/// ```swift
/// final class Greeter: BaseRequestHandler {
///     var greeting = ""
///     override func handle() throws { try request.sendAll(greeting) }
/// }
/// let greeting = "hello"
/// let server = try ThreadingTCPServer(port: 0) { request, clientAddress, server in
///     let handler = Greeter(request: request, clientAddress: clientAddress, server: server)
///     handler.greeting = greeting
///     return handler
/// }
/// ```
public typealias RequestHandlerFactory<Handler: BaseRequestHandler> =
    @Sendable (_ request: Socket, _ clientAddress: SocketAddress, _ server: BaseServer) throws -> Handler

/// The one way a server makes handlers: from a class (Python's) or from a factory.
struct RequestHandlerMaker: Sendable {
    /// The class of the handlers made, for logs and ``BaseServer/handlerType``.
    let type: BaseRequestHandler.Type
    let make: RequestHandlerFactory<BaseRequestHandler>

    /// Python's way: `type.init(request:clientAddress:server:)`.
    init(type: BaseRequestHandler.Type) {
        self.type = type
        self.make = { request, clientAddress, server in
            type.init(request: request, clientAddress: clientAddress, server: server)
        }
    }

    /// From a factory returning `Handler`s.
    init<Handler: BaseRequestHandler>(factory: @escaping RequestHandlerFactory<Handler>) {
        self.type = Handler.self
        self.make = { request, clientAddress, server in try factory(request, clientAddress, server) }
    }
}
