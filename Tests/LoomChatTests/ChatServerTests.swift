@testable import LoomChat
import LoomSockets
import LoomThreading
import LoomTestSupport
import Testing

/// Both servers, the same expectations: the protocol as a client sees it, and hostile input.
@Suite struct ChatServerTests {
    @Test(arguments: ChatMode.allCases)
    func membersSeeJoinsMessagesAndTheCoursesLeave(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let alice = try ChatClient.join("alice", port: chat.port)
            let bob = try ChatClient.join("bob", port: chat.port)
            try alice.expect(.joined(name: "bob"))
            let text = "hello \"world\" \\ \n\t é 🧵"
            try alice.send(.say(text))
            try alice.expect(.message(from: "alice", text: text))
            try bob.expect(.message(from: "alice", text: text))
            #expect(try bob.who() == ["alice", "bob"])
            // The course's client, byte for byte as Python's json.dumps writes it.
            try bob.sendRaw("{\"status\": true, \"leave\": true, \"msg\": \"我下线了！\"}\n")
            try alice.expect(.left(name: "bob", message: "我下线了！", reason: nil))
            #expect(try bob.readUntilClosed() == [])
            #expect(try alice.who() == ["alice"])
        }
    }

    @Test(arguments: ChatMode.allCases)
    func invalidJSONIsAnsweredAndTheMemberStays(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let alice = try ChatClient.join("alice", port: chat.port)
            let bob = try ChatClient.join("bob", port: chat.port)
            try alice.expect(.joined(name: "bob"))
            for garbage in ["not json", "[1,2,3]", "\"just a string\"", "{\"msg\":", "", "{\"msg\":\"a\"}{"] {
                try bob.sendRaw(garbage + "\n")
                try bob.expect(.error(ChatProtocolError.notJSONObject.description))
            }
            try bob.sendRaw("{\"msg\":42}\n")
            try bob.expect(.error(ChatProtocolError.noMessage.description))
            try bob.sendRaw("{\"cmd\":\"shout\"}\n")
            try bob.expect(.error(ChatProtocolError.unknownCommand("shout").description))
            // Still a member: its next message reaches everyone, and nothing else did before it.
            try bob.send(.say("still here"))
            try bob.expect(.message(from: "bob", text: "still here"))
            try alice.expect(.message(from: "bob", text: "still here"))
        }
    }

    @Test(arguments: ChatMode.allCases)
    func invalidUTF8IsAnsweredAndTheMemberStays(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let alice = try ChatClient.join("alice", port: chat.port)
            for bytes: [UInt8] in [[0xFF, 0xFE], Array("{\"msg\":\"".utf8) + [0xC3, 0x28] + Array("\"}".utf8), [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
                try alice.sendRaw(bytes + [0x0A])
                try alice.expect(.error(ChatProtocolError.notUTF8.description))
            }
            try alice.send(.say("ok"))
            try alice.expect(.message(from: "alice", text: "ok"))
        }
    }

    @Test(arguments: ChatMode.allCases)
    func refusedJoinsCloseAndLeaveTheTableUnchanged(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let alice = try ChatClient.join("alice", port: chat.port)
            let cases: [(String, ChatProtocolError)] = [
                ("{\"name\":\"alice\"}", .nameTaken("alice")),
                ("{\"name\":\"\"}", .missingName),
                ("{\"msg\":\"no name\"}", .missingName),
                ("{\"name\":null}", .missingName),
                ("garbage", .notJSONObject),
                ("{\"name\":\"\(String(repeating: "x", count: 65))\"}", .nameTooLong),
            ]
            for (line, error) in cases {
                let client = try ChatClient(port: chat.port)
                try client.sendRaw(line + "\n")
                #expect(try client.readUntilClosed() == [.error(error.description)], "\(line)")
            }
            #expect(try alice.who() == ["alice"])
            // Nobody else was announced to alice in the meantime.
            try alice.send(.say("after"))
            try alice.expect(.message(from: "alice", text: "after"))
        }
    }

    @Test(arguments: ChatMode.allCases)
    func aOneMebibyteLineIsRefusedAndClosed(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let alice = try ChatClient.join("alice", port: chat.port)
            let mallory = try ChatClient.join("mallory", port: chat.port)
            try alice.expect(.joined(name: "mallory"))
            let huge = Array("{\"msg\":\"".utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array("\"}\n".utf8)
            // Sent from another thread: a server that stopped reading must fail the test, not block it.
            let sender = LoomThreading.Thread(daemon: true) { [mallory] in try? mallory.sendRaw(huge) }
            try sender.start()
            #expect(try mallory.readUntilClosed() == [.error(ChatProtocolError.lineTooLong.description)])
            #expect(try sender.join(timeout: .seconds(20)))
            try alice.expect(.left(name: "mallory", message: nil, reason: nil))
            // A line of exactly the limit is fine.
            let text = String(repeating: "b", count: ChatLimits.maxLineLength - 10)
            try alice.sendRaw("{\"msg\":\"\(text)\"}\n")
            try alice.expect(.message(from: "alice", text: text))
        }
    }

    /// After an over-long line the server sends the error, shuts its sending side and reads and
    /// drops what follows for a while (so a reset does not destroy the error line); a client that
    /// then sends nothing and never closes is cut off after `lingerTime`, in both modes.
    @Test(arguments: ChatMode.allCases)
    func aClientThatStallsAfterAnOverlongLineIsClosedAfterTheLingerTime(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let mallory = try ChatClient.join("mallory", port: chat.port)
            let start = ContinuousClock.now
            try mallory.sendRaw([UInt8](repeating: 0x61, count: ChatLimits.maxLineLength + 100) + [0x0A])
            #expect(try mallory.readUntilClosed() == [.error(ChatProtocolError.lineTooLong.description)])
            // Still open on this side and silent: the server holds its end, then closes it by itself
            // (checked only while the linger time has surely not run out, however slow the machine).
            let held = serverSockets(port: chat.port)
            if ContinuousClock.now - start < ChatReader.lingerTime {
                #expect(held == 2, "the listener and mallory's connection")
            }
            #expect(eventually(.seconds(15)) { serverSockets(port: chat.port) == 1 }, "never closed")
            let waited = ContinuousClock.now - start
            #expect(waited >= ChatReader.lingerTime - .milliseconds(50), "closed after \(waited)")
        }
    }

    @Test(arguments: ChatMode.allCases)
    func aClientThatHalfClosesGetsWhatItWasOwedThenLeaves(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let alice = try ChatClient.join("alice", port: chat.port)
            let bob = try ChatClient.join("bob", port: chat.port)
            try alice.expect(.joined(name: "bob"))
            try bob.send(.say("bye for now"))
            try bob.socket.shutdown(.write)
            #expect(try bob.readUntilClosed() == [.message(from: "bob", text: "bye for now")])
            try alice.expect(.message(from: "bob", text: "bye for now"))
            try alice.expect(.left(name: "bob", message: nil, reason: nil))
        }
    }

    @Test(arguments: ChatMode.allCases)
    func aClientThatVanishesMidLineLeavesWithoutThatLine(mode: ChatMode) throws {
        try withChat(mode) { chat in
            let alice = try ChatClient.join("alice", port: chat.port)
            let bob = try ChatClient.join("bob", port: chat.port)
            try alice.expect(.joined(name: "bob"))
            // A whole object, but no newline: not a line, so never said.
            try bob.sendRaw("{\"msg\":\"never finished\"}")
            bob.socket.close()
            try alice.expect(.left(name: "bob", message: nil, reason: nil))
            #expect(try alice.who() == ["alice"])
            // Its name is free again.
            let again = try ChatClient.join("bob", port: chat.port)
            try alice.expect(.joined(name: "bob"))
            _ = again
        }
    }

    @Test(arguments: ChatMode.allCases)
    func shutdownTellsEveryMemberThenCloses(mode: ChatMode) throws {
        let chat = try RunningChat(mode)
        let alice = try ChatClient.join("alice", port: chat.port)
        let bob = try ChatClient.join("bob", port: chat.port)
        try alice.expect(.joined(name: "bob"))
        try chat.stop()
        #expect(try alice.readUntilClosed() == [.shutdown])
        #expect(try bob.readUntilClosed() == [.shutdown])
    }
}
