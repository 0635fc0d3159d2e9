#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import LoomSystem

/// Python's `selectors.DefaultSelector` on Linux: epoll, level-triggered, with a value of your
/// choice per registration and a thread-safe wake-up.
///
/// ```swift
/// let selector = try Selector<String>()
/// try selector.register(listener, events: .read, data: "listener")
/// for (key, events) in try selector.select(timeout: .seconds(1)) {
///     print(key.data, events)          // "listener read"
/// }
/// ```
///
/// - Python's errors: registering twice throws ``SelectorError/Kind/alreadyRegistered``, an
///   unknown socket ``SelectorError/Kind/notRegistered``, empty or unknown events
///   ``SelectorError/Kind/invalidEvents``; `unregister` after the socket was closed still works.
/// - No limit of 1,024 descriptors: any descriptor the process may open.
/// - `EINTR` is retried with the remaining time recomputed on the monotonic clock.
/// - ``waker`` wakes a blocked ``select(timeout:)`` from another thread (an eventfd).
/// - Not thread-safe, like Python's selectors: use it from one thread at a time; only the waker
///   is meant for other threads.
/// - ``select(timeout:_:)`` is the allocation-free form for event loops.
///
/// Always unregister a descriptor before closing it: epoll forgets a closed descriptor silently,
/// and a descriptor number reused by a new socket must be registered anew.
public final class Selector<Value> {
    @usableFromInline
    struct Slot {
        @usableFromInline var events: SelectorEvents
        @usableFromInline var generation: UInt32
        @usableFromInline var socket: Socket?
        @usableFromInline var data: Value
    }

    /// How many events one `epoll_wait` returns at first. The buffers grow with the number of
    /// registrations (as Python's `max_ev = len(fd_to_key)`), so one ``select(timeout:)``
    /// returns every ready key, however many.
    public static var maxEventsPerCall: Int { 256 }

    @usableFromInline static var wakeToken: UInt64 { UInt64.max }

    @usableFromInline var epollFD: Int32
    // Indexed by descriptor: O(1) look-up for any number of descriptors.
    @usableFromInline var slots: [Slot?] = []
    @usableFromInline var nextGeneration: UInt32 = 0
    @usableFromInline var readyEvents: UnsafeMutablePointer<UInt32>
    @usableFromInline var readyTokens: UnsafeMutablePointer<UInt64>
    /// The kernel's packed events, before they are copied into the two arrays above.
    @usableFromInline var readyScratch: UnsafeMutableRawPointer
    /// Room in the ready buffers: always more than ``count`` (the waker takes one).
    @usableFromInline var readyCapacity = Selector.maxEventsPerCall
    @usableFromInline let wakerRef: SelectorWaker
    /// The number of registrations.
    public private(set) var count = 0

    /// Creates an epoll instance (close-on-exec) and its wake-up eventfd.
    public init() throws(SocketError) {
        let epfd = try socketCall(.epollCreate) { _ in cloom_epoll_create() }
        let waker: SelectorWaker
        do {
            waker = try SelectorWaker()
            _ = try socketCall(.epollCtl, on: epfd) { _ in
                cloom_epoll_ctl(epfd, EPOLL_CTL_ADD, waker.fd, EPOLLIN.rawValue, Selector.wakeToken)
            }
        } catch {
            closeDescriptor(epfd)
            throw error
        }
        epollFD = epfd
        wakerRef = waker
        readyEvents = .allocate(capacity: Self.maxEventsPerCall)
        readyTokens = .allocate(capacity: Self.maxEventsPerCall)
        readyScratch = Self.allocateScratch(Self.maxEventsPerCall)
    }

    /// A selector whose ready buffers start with room for `readyCapacity` events, so that tests
    /// can watch them grow without opening hundreds of descriptors.
    convenience init(readyCapacity: Int) throws(SocketError) {
        try self.init()
        resizeReadyBuffers(to: max(1, readyCapacity))
    }

    deinit {
        close()
        readyEvents.deallocate()
        readyTokens.deallocate()
        readyScratch.deallocate()
    }

    /// True once ``close()`` has run.
    public var isClosed: Bool { epollFD < 0 }

    /// The epoll descriptor (Python's `fileno()`), or -1 once closed.
    public var fileDescriptor: Int32 { epollFD }

    /// Wakes ``select(timeout:)`` from any thread; hand this object to the threads that need it.
    /// After ``close()`` it still works but wakes nothing.
    public var waker: SelectorWaker { wakerRef }

    /// Shorthand for `waker.wakeup()`.
    public func wakeup() {
        wakerRef.wakeup()
    }

    /// Releases the epoll descriptor and forgets every registration (the registered sockets stay
    /// open). Idempotent. Afterwards every operation throws ``SelectorError/Kind/closed``.
    public func close() {
        guard epollFD >= 0 else { return }
        closeDescriptor(epollFD)
        epollFD = -1
        slots = []
        count = 0
    }

    // MARK: Registration

    /// Registers `socket` for `events` with `data`. Throws if it is registered already (by this
    /// or another object with the same descriptor), closed, or `events` is invalid.
    @discardableResult
    public func register(_ socket: Socket, events: SelectorEvents, data: Value) throws(SelectorError) -> SelectorKey<Value> {
        try add(socket: socket, fd: socket.fileDescriptor, events: events, data: data)
    }

    /// Registers a bare descriptor (a pipe, an eventfd, a socket owned elsewhere).
    @discardableResult
    public func register(fileDescriptor fd: Int32, events: SelectorEvents, data: Value) throws(SelectorError) -> SelectorKey<Value> {
        try add(socket: nil, fd: fd, events: events, data: data)
    }

    private func add(socket: Socket?, fd: Int32, events: SelectorEvents, data: Value) throws(SelectorError) -> SelectorKey<Value> {
        guard epollFD >= 0 else { throw SelectorError(.closed, "register", fileDescriptor: fd) }
        guard events.isValid else { throw SelectorError(.invalidEvents, "register", fileDescriptor: fd) }
        guard fd >= 0 else { throw SelectorError(.invalidDescriptor, "register", fileDescriptor: fd) }
        let index = Int(fd)
        if index < slots.count, slots[index] != nil {
            throw SelectorError(.alreadyRegistered, "register", fileDescriptor: fd)
        }
        nextGeneration &+= 1
        let generation = nextGeneration
        let mask = Self.epollMask(events), token = Self.token(fd, generation)
        if case .failure(let code) = systemCall(.epollCtl, on: epollFD, { _ in cloom_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, mask, token) }) {
            throw SelectorError(.system, "register", fileDescriptor: fd, underlying: SocketError("epoll_ctl", errno: code))
        }
        if index >= slots.count {
            slots.append(contentsOf: repeatElement(nil, count: max(index + 1 - slots.count, slots.count / 2 + 16)))
        }
        slots[index] = Slot(events: events, generation: generation, socket: socket, data: data)
        count += 1
        return SelectorKey(socket: socket, fileDescriptor: fd, events: events, data: data)
    }

    /// Stops watching `socket` and returns its key. Works after the socket was closed (the key is
    /// found by identity, as Python does); throws ``SelectorError/Kind/notRegistered`` otherwise.
    @discardableResult
    public func unregister(_ socket: Socket) throws(SelectorError) -> SelectorKey<Value> {
        let fd = try registeredDescriptor(of: socket, "unregister")
        return try remove(fd: fd)
    }

    /// Stops watching a descriptor and returns its key.
    @discardableResult
    public func unregister(fileDescriptor fd: Int32) throws(SelectorError) -> SelectorKey<Value> {
        guard epollFD >= 0 else { throw SelectorError(.closed, "unregister", fileDescriptor: fd) }
        return try remove(fd: fd)
    }

    @usableFromInline
    func remove(fd: Int32) throws(SelectorError) -> SelectorKey<Value> {
        guard fd >= 0, Int(fd) < slots.count, let slot = slots[Int(fd)] else {
            throw SelectorError(.notRegistered, "unregister", fileDescriptor: fd)
        }
        slots[Int(fd)] = nil
        count -= 1
        // EBADF/ENOENT mean the descriptor was closed since: epoll has dropped it already.
        _ = systemCall(.epollCtl, on: epollFD) { _ in cloom_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0) }
        return SelectorKey(socket: slot.socket, fileDescriptor: fd, events: slot.events, data: slot.data)
    }

    /// Changes the events and the data of a registration and returns the new key. When only the
    /// data changes the kernel is not called. If the kernel refuses, the registration is removed
    /// and the error thrown (bpo-30014).
    @discardableResult
    public func modify(_ socket: Socket, events: SelectorEvents, data: Value) throws(SelectorError) -> SelectorKey<Value> {
        let fd = try registeredDescriptor(of: socket, "modify")
        return try modify(fileDescriptor: fd, events: events, data: data)
    }

    /// ``modify(_:events:data:)`` for a bare descriptor.
    @discardableResult
    public func modify(fileDescriptor fd: Int32, events: SelectorEvents, data: Value) throws(SelectorError) -> SelectorKey<Value> {
        try modifyEvents(fileDescriptor: fd, events: events)
        slots[Int(fd)]!.data = data
        let slot = slots[Int(fd)]!
        return SelectorKey(socket: slot.socket, fileDescriptor: fd, events: slot.events, data: slot.data)
    }

    /// Changes only the events of a registration, keeping its data: the event loop's fast path
    /// (one `epoll_ctl`, nothing allocated). A no-op when the events are unchanged.
    @inlinable
    public func modifyEvents(fileDescriptor fd: Int32, events: SelectorEvents) throws(SelectorError) {
        guard epollFD >= 0 else { throw SelectorError(.closed, "modify", fileDescriptor: fd) }
        guard events.isValid else { throw SelectorError(.invalidEvents, "modify", fileDescriptor: fd) }
        guard fd >= 0, Int(fd) < slots.count, let slot = slots[Int(fd)] else {
            throw SelectorError(.notRegistered, "modify", fileDescriptor: fd)
        }
        if slot.events == events { return }
        let mask = Self.epollMask(events), token = Self.token(fd, slot.generation)
        if case .failure(let code) = systemCall(.epollCtl, on: epollFD, { _ in cloom_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, mask, token) }) {
            _ = try? remove(fd: fd)
            throw SelectorError(.system, "modify", fileDescriptor: fd, underlying: SocketError("epoll_ctl", errno: code))
        }
        slots[Int(fd)]!.events = events
    }

    // MARK: Look-up

    /// The key of `socket` (Python's `get_key`).
    public func key(for socket: Socket) throws(SelectorError) -> SelectorKey<Value> {
        let fd = try registeredDescriptor(of: socket, "key")
        return try key(forFileDescriptor: fd)
    }

    /// The key of a descriptor.
    public func key(forFileDescriptor fd: Int32) throws(SelectorError) -> SelectorKey<Value> {
        guard epollFD >= 0 else { throw SelectorError(.closed, "key", fileDescriptor: fd) }
        guard fd >= 0, Int(fd) < slots.count, let slot = slots[Int(fd)] else {
            throw SelectorError(.notRegistered, "key", fileDescriptor: fd)
        }
        return SelectorKey(socket: slot.socket, fileDescriptor: fd, events: slot.events, data: slot.data)
    }

    /// Every registration, in descriptor order (Python's `get_map().values()`).
    public var keys: [SelectorKey<Value>] {
        slots.enumerated().compactMap { index, slot in
            slot.map { SelectorKey(socket: $0.socket, fileDescriptor: Int32(index), events: $0.events, data: $0.data) }
        }
    }

    private func registeredDescriptor(of socket: Socket, _ operation: String) throws(SelectorError) -> Int32 {
        guard epollFD >= 0 else { throw SelectorError(.closed, operation) }
        let fd = socket.fileDescriptor
        if fd >= 0, Int(fd) < slots.count, let slot = slots[Int(fd)], slot.socket == nil || slot.socket === socket {
            return fd
        }
        // A closed socket (fd -1) or one whose number now names another registration: by identity.
        if let index = slots.firstIndex(where: { $0?.socket === socket }) { return Int32(index) }
        throw SelectorError(.notRegistered, operation, fileDescriptor: fd)
    }

    // MARK: Waiting

    /// Waits until a registered descriptor is ready, the timeout passes or ``wakeup()`` is called,
    /// and returns the ready keys with the events that are ready (a subset of each key's events).
    ///
    /// - Parameter timeout: `nil` waits for ever; `.zero` or less polls; otherwise waits at most
    ///   that long (rounded up to the millisecond). A signal does not shorten it.
    /// - Returns: every ready registration, however many; an empty array on timeout or wake-up.
    public func select(timeout: Duration? = nil) throws(SelectorError) -> [(key: SelectorKey<Value>, events: SelectorEvents)] {
        var ready: [(key: SelectorKey<Value>, events: SelectorEvents)] = []
        _ = try self.select(timeout: timeout) { fd, events, data in
            let slot = slots[Int(fd)]!
            ready.append((SelectorKey(socket: slot.socket, fileDescriptor: fd, events: slot.events, data: data), events))
        }
        return ready
    }

    /// The allocation-free ``select(timeout:)``: calls `body` with the descriptor, the ready
    /// events and the registration's data for each ready registration, and returns how many
    /// there were. `body` may register, modify and unregister, also other descriptors: an event
    /// for a registration removed (or replaced) earlier in the same batch is not delivered.
    @inlinable
    @discardableResult
    public func select(
        timeout: Duration?, _ body: (_ fd: Int32, _ events: SelectorEvents, _ data: Value) -> Void
    ) throws(SelectorError) -> Int {
        if count >= readyCapacity { growReadyBuffers() }
        let n = try wait(timeout: timeout)
        var delivered = 0
        for i in 0..<n {
            let token = readyTokens[i]
            if token == Self.wakeToken {
                wakerRef.drain()
                continue
            }
            let fd = Int32(truncatingIfNeeded: token & 0xFFFF_FFFF)
            let generation = UInt32(truncatingIfNeeded: token >> 32)
            // Fields are read one by one: binding the whole slot would retain its socket too.
            guard Int(fd) < slots.count, slots[Int(fd)]?.generation == generation,
                  let registered = slots[Int(fd)]?.events else { continue }
            // Python's mapping: anything but "only readable" counts as writable, anything but
            // "only writable" as readable (hang-ups and errors wake both).
            let raw = readyEvents[i]
            var events: SelectorEvents = []
            if raw & ~EPOLLIN.rawValue != 0 { events.insert(.write) }
            if raw & ~EPOLLOUT.rawValue != 0 { events.insert(.read) }
            events.formIntersection(registered)
            if events.isEmpty { continue }
            delivered += 1
            body(fd, events, slots[Int(fd)].unsafelyUnwrapped.data)
        }
        return delivered
    }

    /// One `epoll_wait`, retried on EINTR with the remaining time.
    @usableFromInline
    func wait(timeout: Duration?) throws(SelectorError) -> Int {
        guard epollFD >= 0 else { throw SelectorError(.closed, "select") }
        let deadline = timeout.flatMap { $0 > .zero ? Deadline.after($0) : nil }
        let blocking = timeout == nil
        while true {
            // Recomputed on every attempt, so an interruption (retried in systemCall) shortens nothing.
            let result = systemCall(.epollWait, on: epollFD) { _ in
                cloom_epoll_wait(epollFD, readyScratch, readyEvents, readyTokens, Int32(readyCapacity),
                                 deadline?.remainingPollMilliseconds ?? (blocking ? -1 : 0))
            }
            switch result {
            case .success(let n):
                // epoll may return a hair early on a coarse clock: never report a timeout early.
                if n == 0, let deadline, !deadline.hasPassed { continue }
                return Int(n)
            case .failure(let code):
                throw SelectorError(.system, "select", underlying: SocketError("epoll_wait", errno: code))
            }
        }
    }

    /// Grows the ready buffers (doubling) until one `epoll_wait` can report every registration
    /// and the waker. Called before a wait, never while `select`'s body may still read them.
    @usableFromInline
    func growReadyBuffers() {
        var capacity = readyCapacity
        while capacity <= count { capacity *= 2 }
        resizeReadyBuffers(to: capacity)
    }

    private func resizeReadyBuffers(to capacity: Int) {
        readyEvents.deallocate()
        readyTokens.deallocate()
        readyScratch.deallocate()
        readyEvents = .allocate(capacity: capacity)
        readyTokens = .allocate(capacity: capacity)
        readyScratch = Self.allocateScratch(capacity)
        readyCapacity = capacity
    }

    private static func allocateScratch(_ capacity: Int) -> UnsafeMutableRawPointer {
        .allocate(byteCount: capacity * cloom_epoll_event_size(), alignment: 8)
    }

    @inlinable
    static func token(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    @inlinable
    static func epollMask(_ events: SelectorEvents) -> UInt32 {
        (events.contains(.read) ? EPOLLIN.rawValue : 0) | (events.contains(.write) ? EPOLLOUT.rawValue : 0)
    }
}

extension Selector where Value == Void {
    /// Registers `socket` without data (Python's `data=None`).
    @discardableResult
    public func register(_ socket: Socket, events: SelectorEvents) throws(SelectorError) -> SelectorKey<Void> {
        try register(socket, events: events, data: ())
    }

    /// Registers a descriptor without data.
    @discardableResult
    public func register(fileDescriptor fd: Int32, events: SelectorEvents) throws(SelectorError) -> SelectorKey<Void> {
        try register(fileDescriptor: fd, events: events, data: ())
    }

    /// Changes the events of `socket`.
    @discardableResult
    public func modify(_ socket: Socket, events: SelectorEvents) throws(SelectorError) -> SelectorKey<Void> {
        try modify(socket, events: events, data: ())
    }
}
