import CFuzzDriver
@_spi(Fuzzing) import LoomFuzzSupport

/// libFuzzer's callback: the event loop's read and write path under scripted faults.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try EventLoopReadHarness.run(bytes)
    } catch {
        fatalError("fuzz invariant broken: \(error)")  // a crash: libFuzzer keeps the input
    }
    return 0
}

/// The target's entry point (SwiftPM links `main` to it): starts libFuzzer's driver.
@_cdecl("EventLoopReadFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
}
