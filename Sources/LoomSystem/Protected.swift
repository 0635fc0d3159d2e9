/// A value behind a ``FutexMutex``: Loom's internal replacement for `Synchronization.Mutex`.
///
/// The lock policy (ARCHITECTURE.md): Loom's own code locks with the futex family only
/// (``FutexMutex``, ``Protected``, ``Monitor``; `Lock`, `RLock` and `Condition` in LoomThreading
/// are built on them). Their atomics are compiled into the package, where Thread Sanitizer sees the
/// acquire and release; `Synchronization.Mutex`'s lock lives in the uninstrumented standard library,
/// so TSan reports the accesses it guards as races.
///
/// Not for an empty `Value` such as `()`: a lock with nothing to guard is a ``FutexMutex``. An
/// empty stored property shares its address with the object's header, which generic code reads
/// unlocked, so Thread Sanitizer reports the (harmless) overlap as a Swift access race.
package final class Protected<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only reached through `withLock`, under `mutex`.
    private let mutex = FutexMutex()
    private var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        mutex.lock()
        defer { mutex.unlock() }
        return try body(&value)
    }
}
