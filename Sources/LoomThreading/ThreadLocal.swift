import LoomSystem
import Glibc
import Synchronization

/// A value of which every thread has its own copy: Python's `threading.local`, typed.
///
/// Each thread sees only what it stored itself. A thread's value is destroyed when that thread
/// ends — for a Loom ``Thread``, before its `join()` returns — or when it sets `nil`. Freeing a
/// `ThreadLocal` destroys the values every thread still holds in it.
///
/// ```swift
/// let connection = ThreadLocal<Connection> { Connection.open() }   // created on first use per thread
/// connection.value!.send(…)
///
/// let requestID = ThreadLocal<Int>()   // no initial value: nil until set in this thread
/// requestID.value = 42
/// ```
///
/// Any number of `ThreadLocal`s may be alive at once (one per connection is fine): they share a
/// single process-wide `pthread_key_t` holding a per-thread table, whose destructor also releases
/// the values of threads Loom did not start when they end.
public final class ThreadLocal<Value>: @unchecked Sendable {
    // @unchecked Sendable: each thread only reaches its own table (through the pthread key), and
    // only its own box in it; the table's dictionary is behind its mutex because a freed
    // ThreadLocal removes its boxes from every thread's table. Values never cross threads.
    private let id: Int
    private let makeInitial: (@Sendable () -> Value)?

    /// A thread-local with no value in any thread until one is set (or, with `initialValue`,
    /// created by `initialValue()` the first time each thread reads it).
    public init(initialValue: (@Sendable () -> Value)? = nil) {
        self.id = LocalTables.nextID()
        self.makeInitial = initialValue
    }

    deinit {
        LocalTables.destroyAll(of: id)
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
        guard let table = LocalTables.current else { return nil }
        guard let box = table.withLock({ $0[id] }) else { return nil }
        return unsafeDowncast(box, to: LocalBox<Value>.self)
    }

    private func install(_ value: Value) {
        let table = LocalTables.currentOrNew()
        let old = table.withLock { $0.updateValue(LocalBox(value), forKey: id) }
        _ = old  // released here, outside the table's lock
    }

    private func destroyCurrentValue() {
        guard let table = LocalTables.current else { return }
        let old = table.withLock { $0.removeValue(forKey: id) }
        _ = old  // released here, outside the table's lock: its deinit may use thread-locals
    }
}

final class LocalBox<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// One thread's thread-local values, keyed by `ThreadLocal` id.
typealias LocalTable = Protected<[Int: AnyObject]>

/// The process-wide pthread key and the set of every thread's table, so a freed `ThreadLocal`
/// can remove its value from each. A table is created once per thread, registered once, and
/// torn down once as the thread ends; setting and clearing values adds nothing per call.
enum LocalTables {
    private static let counter = Atomic<Int>(0)
    /// Every live thread's table (strong: the thread's own reference is in the key).
    private static let tables = Protected<[ObjectIdentifier: LocalTable]>([:])

    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            LocalTables.threadEnded(Unmanaged<LocalTable>.fromOpaque(pointer).takeRetainedValue())
        }
        precondition(result == 0, "pthread_key_create failed: \(result)")
        return key
    }()

    static func nextID() -> Int { counter.add(1, ordering: .relaxed).newValue }

    static var current: LocalTable? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<LocalTable>.fromOpaque(pointer).takeUnretainedValue()
    }

    static func currentOrNew() -> LocalTable {
        if let table = current { return table }
        let table = LocalTable([:])
        tables.withLock { $0[ObjectIdentifier(table)] = table }
        pthread_setspecific(key, Unmanaged.passRetained(table).toOpaque())
        // A Loom thread destroys its values itself as it ends, before `join()` returns: one
        // cleanup per thread, however many values it sets and clears.
        if let thread = CurrentThread.get(), !thread.isDummy, thread !== mainThread {
            thread.threadCleanups.append {
                guard let pointer = pthread_getspecific(key) else { return }
                pthread_setspecific(key, nil)
                threadEnded(Unmanaged<LocalTable>.fromOpaque(pointer).takeRetainedValue())
            }
        }
        return table
    }

    /// The calling thread is ending (its key is already cleared): drops its table and values.
    static func threadEnded(_ table: LocalTable) {
        _ = tables.withLock { $0.removeValue(forKey: ObjectIdentifier(table)) }
        let values = table.withLock { values in
            defer { values = [:] }
            return values
        }
        _ = values  // released outside every lock
    }

    static func destroyAll(of local: Int) {
        let all = tables.withLock { Array($0.values) }
        var removed: [AnyObject] = []
        for table in all {
            if let box = table.withLock({ $0.removeValue(forKey: local) }) { removed.append(box) }
        }
        _ = removed  // released outside every lock
    }
}
