#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether
/// it held. The bound is generous: it only matters when the code under test is broken, and then
/// the test fails instead of hanging.
@discardableResult
public func eventually(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        sleep(.milliseconds(5))
    }
    return condition()
}

/// Sleeps the calling thread for `duration` (a signal does not shorten it).
public func sleep(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var left = timespec()
    while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
}

/// Sleeps the calling thread for `seconds`.
public func sleep(seconds: Double) {
    sleep(.seconds(seconds))
}
