@_spi(Fuzzing) import LoomFuzzSupport

/// libFuzzer's entry point: the event loop's read and write path under scripted faults.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try EventLoopReadHarness.run(Array(UnsafeBufferPointer(start: data, count: size)))
    } catch {
        fatalError("fuzz invariant broken: \(error)")  // a crash: libFuzzer saves the input
    }
    return 0
}
