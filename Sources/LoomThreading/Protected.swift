/// A value behind a `FutexMutex`: the internal replacement for `Synchronization.Mutex`.
///
/// Loom uses its own mutex everywhere because its atomics are compiled into Loom, where the
/// Thread Sanitizer sees them; `Mutex`'s lock lives in the uninstrumented standard library, so
/// TSan reports every access it guards as a race.
final class Protected<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only reached through `withLock`, under `mutex`.
    private let mutex = FutexMutex()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    @inline(__always)
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        mutex.lock()
        defer { mutex.unlock() }
        return try body(&value)
    }
}
