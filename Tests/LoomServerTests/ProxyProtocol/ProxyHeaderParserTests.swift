@testable import LoomServer
import LoomSockets
import Testing

/// The incremental parser against headers built from the specification: every valid form
/// round-trips, every prefix of one asks for more, and every hostile header is refused at the
/// first byte that makes it invalid.
@Suite struct ProxyHeaderParserTests {
    typealias B = ProxyHeaderBuilder
    let parser = ProxyHeaderParser()

    func header(_ bytes: [UInt8]) throws -> ProxyHeader {
        guard case .header(let header) = try parser.parse(bytes) else {
            Issue.record("no header in \(bytes)")
            throw ProxyProtocolError.notProxyHeader
        }
        return header
    }

    /// Every strict prefix needs more data, the whole parses to a header of exactly its size,
    /// and application bytes after it change nothing.
    func checkIncremental(_ bytes: [UInt8]) throws -> ProxyHeader {
        for end in 0..<bytes.count {
            #expect(try parser.parse(Array(bytes[..<end])) == .needMoreData, "prefix of \(end) bytes")
        }
        let whole = try header(bytes)
        #expect(whole.length == bytes.count)
        #expect(try header(bytes + Array("GET / HTTP/1.1\r\n".utf8)) == whole)
        return whole
    }

    @Test func v1TCP4() throws {
        let h = try checkIncremental(B.v1("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"))
        #expect(h.version == .v1 && h.command == .proxy && h.transport == .stream)
        #expect(h.source == (try SocketAddress("192.0.2.1:56324")))
        #expect(h.destination == (try SocketAddress("198.51.100.7:443")))
        #expect(h.clientAddress == h.source)
    }

    @Test func v1TCP6() throws {
        let h = try checkIncremental(B.v1("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 65535 0\r\n"))
        #expect(h.source == (try SocketAddress("[2001:db8::1]:65535")))
        #expect(h.destination == (try SocketAddress("[::ffff:10.0.0.1]:0")))
    }

    @Test func v1LongestLineIs107Bytes() throws {
        let line = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
        #expect(line.utf8.count == 104)
        _ = try checkIncremental(B.v1(line))
        let unknown = "PROXY UNKNOWN " + String(repeating: "x", count: 107 - 16) + "\r\n"
        #expect(unknown.utf8.count == 107)
        let h = try checkIncremental(B.v1(unknown))
        #expect(h.source == nil && h.clientAddress == nil && h.transport == .unspecified)
    }

    @Test func v1Unknown() throws {
        let h = try checkIncremental(B.v1("PROXY UNKNOWN\r\n"))
        #expect(h.source == nil && h.destination == nil && h.length == 15)
    }

    @Test func v2IPv4WithTLVs() throws {
        let tlvs = B.tlv(0x01, "h2") + B.tlv(0x02, "example.com") + B.tlv(0x05, [1, 2, 3, 4])
            + B.tlv(0x04, [0, 0, 0]) + B.tlv(0xE0, "custom")
        let h = try checkIncremental(B.v2IPv4(source: "203.0.113.9", 40000, destination: "127.0.0.1", 8080, tlvs: tlvs))
        #expect(h.version == .v2 && h.command == .proxy && h.transport == .stream)
        #expect(h.source == (try SocketAddress("203.0.113.9:40000")))
        #expect(h.destination == (try SocketAddress("127.0.0.1:8080")))
        #expect(h.alpn == "h2" && h.authority == "example.com" && h.uniqueID == [1, 2, 3, 4])
        #expect(h.tlvs.map(\.type) == [0x01, 0x02, 0x05, 0x04, 0xE0])
        #expect(h.tlvs.last?.value == Array("custom".utf8) && h.tlvs.last?.kind == nil)
        #expect(h.rawTLVs == tlvs)
        #expect(h.tls == nil)
    }

    @Test func v2IPv6Datagram() throws {
        var bytes = B.v2IPv6(source: "2001:db8::42", 1234, destination: "::1", 53)
        bytes[13] = 0x22
        let h = try checkIncremental(bytes)
        #expect(h.transport == .datagram)
        #expect(h.source == (try SocketAddress("[2001:db8::42]:1234")))
        #expect(h.destination == (try SocketAddress("[::1]:53")))
    }

    @Test func v2Unix() throws {
        let body = B.unixPath(Array("/run/client.sock".utf8)) + B.unixPath([0] + Array("abstract".utf8))
        let h = try checkIncremental(B.v2(family: 0x31, body: body))
        #expect(h.source == (try SocketAddress(unixPath: "/run/client.sock")))
        #expect(h.source?.path == "/run/client.sock")
        #expect(h.destination?.family == .unix && h.destination != h.source)
        let empty = try header(B.v2(family: 0x31, body: B.unixPath([]) + B.unixPath([])))
        #expect(empty.source?.isUnnamed == true && empty.destination != h.destination)
    }

    @Test func v2LocalAndUnspecified() throws {
        let local = try checkIncremental(B.v2(command: 0x20, family: 0x00, body: []))
        #expect(local.command == .local && local.source == nil && local.clientAddress == nil)
        // LOCAL with addresses: they are ignored; TLVs after them still read.
        let withAddresses = try header(B.v2(command: 0x20, family: 0x11,
                                            body: [UInt8](repeating: 9, count: 12) + B.tlv(0x05, "id")))
        #expect(withAddresses.source == nil && withAddresses.uniqueID == Array("id".utf8))
        let unspec = try header(B.v2(family: 0x00, body: B.tlv(0x05, "u")))
        #expect(unspec.command == .proxy && unspec.source == nil && unspec.transport == .unspecified)
    }

    @Test func v2TLSTLV() throws {
        let subs = B.tlv(0x21, "TLSv1.3") + B.tlv(0x22, "client.example") + B.tlv(0x23, "TLS_AES_256_GCM_SHA384")
            + B.tlv(0x24, "RSA-SHA256") + B.tlv(0x25, "RSA2048")
        let ssl = B.tlv(0x20, [0x07, 0, 0, 0, 0] + subs)
        let h = try checkIncremental(B.v2IPv4(source: "10.1.2.3", 5, destination: "10.3.2.1", 6, tlvs: ssl))
        let tls = try #require(h.tls)
        #expect(tls.isTLS && tls.hasCertificateOnConnection && tls.hasCertificateInSession && tls.verify == 0)
        #expect(tls.version == "TLSv1.3" && tls.commonName == "client.example")
        #expect(tls.cipher == "TLS_AES_256_GCM_SHA384" && tls.signatureAlgorithm == "RSA-SHA256")
        #expect(tls.keyAlgorithm == "RSA2048" && tls.subTLVs.count == 5)
    }

    @Test func v2Checksum() throws {
        let good = B.withChecksum(B.v2IPv4(source: "1.2.3.4", 1, destination: "5.6.7.8", 2, tlvs: B.tlv(0x05, "x")))
        _ = try checkIncremental(good)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)  // the standard check value
        var bad = good
        bad[17] ^= 0x01   // a flipped address bit
        #expect(throws: ProxyProtocolError.v2ChecksumMismatch) { try parser.parse(bad) }
        #expect(try ProxyHeaderParser(verifiesChecksum: false).parse(bad) != .notProxyHeader)
    }

    // MARK: Hostile input

    @Test func wrongSignatureIsDecidedAtTheFirstWrongByte() throws {
        #expect(try parser.parse(Array("G".utf8)) == .notProxyHeader)
        #expect(try parser.parse(Array("PROXZ".utf8)) == .notProxyHeader)
        #expect(try parser.parse(Array("PROXY".utf8)) == .needMoreData)
        #expect(try parser.parse(Array("PROXYTCP4".utf8)) == .notProxyHeader)
        var v2 = B.v2Signature
        v2[11] = 0x0B
        #expect(try parser.parse(v2) == .notProxyHeader)
        #expect(try parser.parse(Array(v2.prefix(11))) == .needMoreData)
        #expect(try parser.parse(B.v2Signature + [0x21]) == .needMoreData)
    }

    @Test func v2Length65535IsRefusedAsSoonAsTheLengthArrives() throws {
        let fixed = B.v2(family: 0x11, body: [], declaredLength: 65_535)
        #expect(fixed.count == 16)
        #expect(throws: ProxyProtocolError.v2TooLong(length: 65_535, limit: 2048)) { try parser.parse(fixed) }
        // A parser configured for the protocol's maximum waits for it instead.
        #expect(try ProxyHeaderParser(maxV2Length: 65_535).parse(fixed) == .needMoreData)
    }

    @Test func v1WithoutCRLFWithin107Bytes() throws {
        let line = Array(("PROXY UNKNOWN " + String(repeating: "a", count: 200)).utf8)
        #expect(try parser.parse(Array(line.prefix(106))) == .needMoreData)
        #expect(throws: ProxyProtocolError.v1LineTooLong) { try parser.parse(Array(line.prefix(107))) }
        #expect(throws: ProxyProtocolError.v1LineTooLong) { try parser.parse(line) }
        // A CR as the 107th byte leaves no room for the LF.
        let crLast = Array(("PROXY UNKNOWN " + String(repeating: "a", count: 92) + "\r").utf8)
        #expect(crLast.count == 107)
        #expect(throws: ProxyProtocolError.v1LineTooLong) { try parser.parse(crLast) }
    }

    /// Each bad line fails at its first bad byte: the prefix before it still asks for more.
    @Test(arguments: [
        ("PROXY TCP5", "protocol"),
        ("PROXY TCP4 1.2.3.4x", "source address"),
        ("PROXY TCP4 1.2.3.4.5 ", "source address"),
        ("PROXY TCP4 1.2.3.4 :", "destination address"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1a", "source port"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 70000 ", "port"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", "fields"),
        ("PROXY TCP4 1.2.3.4  ", "empty field"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1\r", "fields"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "LF"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "CR"),
        ("PROXY UNKNOWN \u{0}", "byte 0x0"),
        ("PROXY TCP6 1.2.3.4 ", "source address"),
        ("PROXY TCP6 12345::1 ", "source address"),
        ("PROXY TCP6 " + String(repeating: "a", count: 46), "source address"),
    ])
    func malformedV1(line: String, reason: String) throws {
        let bytes = Array(line.utf8)
        #expect(try parser.parse(Array(bytes.dropLast())) == .needMoreData, "the prefix before the bad byte")
        do {
            let result = try parser.parse(bytes)
            Issue.record("accepted: \(result)")
        } catch {
            #expect("\(error)".contains(reason), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
    }

    @Test(arguments: [
        (B.v2Signature + [0x11], ProxyProtocolError.v2UnsupportedVersion(1)),
        (B.v2Signature + [0x22], .v2UnsupportedCommand(2)),
        (B.v2Signature + [0x21, 0x41], .v2UnsupportedFamily(0x41)),
        (B.v2Signature + [0x21, 0x13], .v2UnsupportedFamily(0x13)),
        (B.v2Signature + [0x21, 0x11, 0x00, 0x05], .v2AddressesTooShort(length: 5, needed: 12)),
        (B.v2Signature + [0x21, 0x21, 0x00, 0x0C], .v2AddressesTooShort(length: 12, needed: 36)),
        (B.v2Signature + [0x21, 0x31, 0x00, 0x24], .v2AddressesTooShort(length: 36, needed: 216)),
    ])
    func malformedV2FixedPart(bytes: [UInt8], expected: ProxyProtocolError) throws {
        #expect(try parser.parse(Array(bytes.dropLast())) == .needMoreData)
        #expect(throws: expected) { try parser.parse(bytes) }
    }

    @Test func malformedV2TLVs() throws {
        let addresses = B.ipv4("1.1.1.1") + B.ipv4("2.2.2.2") + B.port(1) + B.port(2)
        let cases: [([UInt8], String)] = [
            ([0x05, 0x00], "TLV header"),                                    // 2 bytes: no room for a TLV header
            ([0x05, 0x00, 0x09, 1, 2], "overruns"),                          // declares 9, has 2
            (B.tlv(0x05, [UInt8](repeating: 7, count: 129)), "unique ID"),
            (B.tlv(0x03, [1, 2, 3]), "CRC32C TLV of length 3"),
            (B.tlv(0x20, [1, 0, 0]), "SSL TLV of length 3"),
            (B.tlv(0x20, [1, 0, 0, 0, 0, 0x21, 0x00, 0x09, 0x41]), "sub-TLV"),
        ]
        for (tlvs, reason) in cases {
            let bytes = B.v2(family: 0x11, body: addresses + tlvs)
            do {
                _ = try parser.parse(bytes)
                Issue.record("accepted TLVs \(tlvs)")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
        }
    }

    /// Random bytes and random mutations of valid headers (fixed seed, bounded count): the
    /// parser never crashes, never claims more bytes than it was given, and never changes its
    /// mind as bytes are added: once it has decided (header, not a header, error), every longer
    /// input gets the same decision.
    @Test func randomGarbageAndMutations() throws {
        var random = SplitMix64(state: 0x10_0D_0A_51)
        let seeds: [[UInt8]] = [
            B.v1("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"),
            B.v1("PROXY TCP6 2001:db8::1 ::1 1 2\r\n"),
            B.v1("PROXY UNKNOWN\r\n"),
            B.v2IPv4(source: "1.2.3.4", 1, destination: "5.6.7.8", 2, tlvs: B.tlv(0x05, "id") + B.tlv(0x20, [1, 0, 0, 0, 0])),
            B.withChecksum(B.v2IPv6(source: "::1", 1, destination: "::2", 2)),
            B.v2(family: 0x31, body: B.unixPath(Array("/a".utf8)) + B.unixPath([])),
        ]
        var decided = 0
        for round in 0..<3_000 {
            var input: [UInt8]
            if round % 3 == 0 {
                input = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if round % 2 == 0 { input = B.v2Signature + input }
            } else {
                input = seeds[Int.random(in: 0..<seeds.count, using: &random)]
                for _ in 0...Int.random(in: 0...3, using: &random) {
                    input[Int.random(in: 0..<input.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                input += (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            var decision: String?
            for end in 0...input.count {
                let outcome: String
                do {
                    switch try parser.parse(Array(input[..<end])) {
                    case .needMoreData: outcome = "more"
                    case .notProxyHeader: outcome = "plain"
                    case .header(let h):
                        #expect(h.length <= end && h.length > 0)
                        outcome = "header \(h)"
                    }
                } catch {
                    outcome = "error \(error)"
                }
                if let decision {
                    #expect(outcome == decision, "round \(round): \(input.prefix(end))")
                    if outcome != decision { return }
                } else if outcome != "more" {
                    decision = outcome
                    decided += 1
                }
            }
        }
        #expect(decided > 2_000)
    }
}
