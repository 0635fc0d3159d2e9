@_spi(Fuzzing) import LoomFuzzSupport

/// libFuzzer's entry point: UppercaseProtocol's byte transform through a real event loop.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try EventLoopReadHarness.runUppercase(Array(UnsafeBufferPointer(start: data, count: size)))
    } catch {
        fatalError("fuzz invariant broken: \(error)")  // a crash: libFuzzer saves the input
    }
    return 0
}
