import LoomThreading

/// A value shared between a test and the threads it starts, guarded by a Loom `Lock` (whose
/// atomics Thread Sanitizer sees, unlike those of `Synchronization.Mutex`).
// @unchecked Sendable: `storage` is only read and written with `lock` held.
public final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = Lock()
    private var storage: Value

    public init(_ value: Value) { storage = value }

    /// The value now; setting replaces it.
    public var value: Value {
        get { lock.withLock { storage } }
        set { lock.withLock { storage = newValue } }
    }

    /// Reads and changes the value in one step.
    @discardableResult
    public func update<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&storage) } }
}
