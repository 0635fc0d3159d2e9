/// Python's `threading` and `queue` for Swift: joinable threads, locks, conditions, semaphores,
/// events, barriers, timers, thread-locals, blocking queues and a thread pool.
public enum LoomThreadingModule {}
