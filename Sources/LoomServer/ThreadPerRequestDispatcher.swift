/// Python's `ThreadingMixIn`: a new detached thread per request. The server's ``ActiveRequests``
/// counts them, so nothing here holds on to a finished thread.
struct ThreadPerRequestDispatcher: RequestDispatcher {
    let name: String
    let daemon: Bool
    let stackSize: Int?

    func dispatch(_ work: @escaping @Sendable () -> Void) throws(ServerError) {
        try HandlerThread.spawn(name: name, daemon: daemon, stackSize: stackSize, work)
    }

    func stop(wait: Bool) {}
}
