import LoomServer

/// The PROXY protocol header parser (v1 and v2) on whatever a peer sends first.
@_spi(Fuzzing) public enum ProxyHeaderHarness {
    /// Input: a flag byte (checksum verification, a small `maxV2Length`), then the peer's bytes.
    /// Properties: it never crashes; a header is never longer than the bytes given nor than
    /// ``ProxyHeaderParser/maxHeaderLength``; and it decides on the smallest prefix: fed the
    /// bytes one more at a time (as an event loop does), once a prefix gets an answer other than
    /// `needMoreData`, every longer prefix gets the same answer (the same header, the same error,
    /// or not a header).
    public static func run(_ data: [UInt8]) throws(FuzzFailure) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let parser = ProxyHeaderParser(maxV2Length: flags & 2 == 0 ? 2048 : Int(flags >> 2),
                                       verifiesChecksum: flags & 1 == 0)
        let bytes = input.rest()
        var decided: Swift.Result<ProxyHeaderParser.Result, ProxyProtocolError>?
        for count in 0...bytes.count {
            let answer = Swift.Result { () throws(ProxyProtocolError) in try parser.parse(Array(bytes[..<count])) }
            if case .success(.header(let header)) = answer {
                try fuzzCheck(header.length <= count, "a header of \(header.length) bytes from \(count)")
                try fuzzCheck(header.length <= parser.maxHeaderLength, "a header of \(header.length) bytes, limit \(parser.maxHeaderLength)")
            }
            if let decided {
                try fuzzCheck(answer == decided, "\(count) bytes: \(answer), but \(decided) on a shorter prefix")
                if count > parser.maxHeaderLength + 8 { break }  // decided for good: stop the O(n²)
            } else if answer != .success(.needMoreData) {
                decided = answer
            }
        }
        if decided == nil {
            try fuzzCheck(bytes.count < parser.maxHeaderLength, "still undecided after \(bytes.count) bytes")
        }
    }
}
