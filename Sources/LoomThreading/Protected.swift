/// A value behind a `FutexMutex`: the internal replacement for `Synchronization.Mutex`.
///
/// LoomThreading (this module; the others may use `Mutex`) takes its own mutex because its atomics
/// are compiled into this module, where the Thread Sanitizer sees them; `Mutex`'s lock lives in
/// the uninstrumented standard library, so TSan may report the accesses it guards as races.
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
