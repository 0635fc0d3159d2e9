import Glibc
import Synchronization

/// A value of which every thread has its own copy: Python's `threading.local`, typed.
///
/// Each thread sees only what it stored itself. A thread's value is destroyed when that thread
/// ends — for a Loom ``Thread``, before its `join()` returns — or when it sets `nil`.
///
/// ```swift
/// let connection = ThreadLocal<Connection> { Connection.open() }   // created on first use per thread
/// connection.value!.send(…)
///
/// let requestID = ThreadLocal<Int>()   // no initial value: nil until set in this thread
/// requestID.value = 42
/// ```
///
/// Built on a `pthread_key_t` with a destructor, so threads Loom did not start also release
/// their values when they end.
public final class ThreadLocal<Value>: @unchecked Sendable {
    // @unchecked Sendable: each thread only reaches its own box through the pthread key; the
    // shared bookkeeping is in `LocalBoxes`, behind a mutex. Values never cross threads.
    private let key: pthread_key_t
    private let id: Int
    private let makeInitial: (@Sendable () -> Value)?

    /// A thread-local with no value in any thread until one is set (or, with `initialValue`,
    /// created by `initialValue()` the first time each thread reads it).
    public init(initialValue: (@Sendable () -> Value)? = nil) {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            if let pointer { LocalBoxes.threadEnded(pointer) }
        }
        precondition(result == 0, "pthread_key_create failed (\(result)): too many ThreadLocals alive")
        self.key = key
        self.id = LocalBoxes.nextID()
        self.makeInitial = initialValue
    }

    deinit {
        pthread_key_delete(key)
        LocalBoxes.destroyAll(of: id)
    }

    /// This thread's value; `nil` if it has none. Setting `nil` destroys it.
    public var value: Value? {
        get {
            if let box = currentBox { return box.value }
            guard let makeInitial else { return nil }
            let value = makeInitial()
            install(value)
            return value
        }
        set {
            if let newValue {
                if let box = currentBox {
                    box.value = newValue
                } else {
                    install(newValue)
                }
            } else {
                destroyCurrentValue()
            }
        }
    }

    private var currentBox: LocalBox<Value>? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<LocalBox<Value>>.fromOpaque(pointer).takeUnretainedValue()
    }

    private func install(_ value: Value) {
        let pointer = Unmanaged.passRetained(LocalBox(value)).toOpaque()
        LocalBoxes.register(pointer, local: id)
        pthread_setspecific(key, pointer)
        // A Loom thread destroys its values itself as it ends, before `join()` returns.
        if let thread = CurrentThread.get(), !thread.isDummy, thread !== mainThread {
            thread.threadCleanups.append { [weak self] in self?.destroyCurrentValue() }
        }
    }

    private func destroyCurrentValue() {
        guard let pointer = pthread_getspecific(key) else { return }
        pthread_setspecific(key, nil)
        if LocalBoxes.unregister(pointer) {
            Unmanaged<AnyObject>.fromOpaque(pointer).release()
        }
    }
}

final class LocalBox<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Which thread-local boxes are alive, so a box is released exactly once: by its thread (as it
/// ends or sets `nil`) or by its `ThreadLocal`'s deinit, whichever unregisters it first. A box is
/// only dereferenced after it was found here, under the lock, so never after it was freed.
enum LocalBoxes {
    struct Entry {
        let local: Int
        let thread: UInt
    }

    /// Keyed by the box's address.
    private static let boxes = Mutex<[UInt: Entry]>([:])
    private static let counter = Atomic<Int>(0)

    private static func address(_ pointer: UnsafeMutableRawPointer) -> UInt {
        UInt(bitPattern: pointer)
    }

    static func nextID() -> Int { counter.add(1, ordering: .relaxed).newValue }

    static func register(_ pointer: UnsafeMutableRawPointer, local: Int) {
        boxes.withLock { $0[address(pointer)] = Entry(local: local, thread: UInt(pthread_self())) }
    }

    /// Returns whether the caller now owns the box's reference.
    static func unregister(_ pointer: UnsafeMutableRawPointer) -> Bool {
        boxes.withLock { $0.removeValue(forKey: address(pointer)) != nil }
    }

    /// The pthread key's destructor, in the exiting thread.
    static func threadEnded(_ pointer: UnsafeMutableRawPointer) {
        let owned = boxes.withLock { boxes in
            guard boxes[address(pointer)]?.thread == UInt(pthread_self()) else { return false }
            boxes[address(pointer)] = nil
            return true
        }
        if owned { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
    }

    static func destroyAll(of local: Int) {
        let owned = boxes.withLock { boxes in
            let mine = boxes.filter { $0.value.local == local }.map(\.key)
            for address in mine { boxes[address] = nil }
            return mine
        }
        for address in owned {
            Unmanaged<AnyObject>.fromOpaque(UnsafeMutableRawPointer(bitPattern: address)!).release()
        }
    }
}
