import ArgumentParser

/// The command line's one place where a number of seconds (`--timeout 2.5`, `--delay 1`) is
/// checked and becomes a `Duration`. Checking happens in `validate()`, so `inf`, `nan` or `1e300`
/// end with a one-line usage error instead of trapping in an integer conversion later.
enum SecondsOption {
    /// The largest accepted value: about 31 years, far below where nanoseconds overflow `Int64`.
    static let maximum: Double = 1_000_000_000

    /// Throws a `ValidationError` naming `option` unless `value` is finite, within
    /// ``maximum``, and positive (or zero when `allowZero`).
    static func check(_ value: Double, option: String, allowZero: Bool) throws(ValidationError) {
        let lowEnough = allowZero ? value >= 0 : value > 0
        guard value.isFinite, lowEnough, value <= maximum else {
            let range = allowZero ? "zero or more" : "a positive number of"
            throw ValidationError("\(option) must be \(range) seconds, at most \(Int(maximum)) (got \(value))")
        }
    }

    /// The duration of a value that passed ``check(_:option:allowZero:)``, rounded up to the
    /// nanosecond so a timeout never ends early.
    static func duration(_ seconds: Double) -> Duration {
        .nanoseconds(Int64((min(seconds, maximum) * 1_000_000_000).rounded(.up)))
    }
}
