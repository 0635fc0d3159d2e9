import Foundation
import LoomChat
import Testing

/// The protocol's lines, without a server: what is accepted, what is refused, and what is written.
@Suite struct ChatProtocolTests {
    private func parse(_ text: String, joined: Bool = true) throws(ChatProtocolError) -> ClientMessage {
        try ClientMessage.parse(Array(text.utf8)[...], joined: joined)
    }

    @Test func theCoursesLeaveMessageLeavesWithItsText() throws {
        #expect(try parse(#"{"status":true,"leave":true,"msg":"我下线了！"}"#) == .leave(message: "我下线了！"))
        #expect(try parse(#"{"leave":true}"#) == .leave(message: nil))
        // Only the literal true leaves (Python's `is True`): 1 is a message without msg.
        #expect(throws: ChatProtocolError.noMessage) { try parse(#"{"leave":1}"#) }
        #expect(try parse(#"{"leave":false,"msg":"hi"}"#) == .say("hi"))
        #expect(String(decoding: ClientMessage.courseLeave.encoded, as: UTF8.self)
            == "{\"status\":true,\"leave\":true,\"msg\":\"我下线了！\"}\n")
    }

    @Test func joinNeedsANonEmptyStringName() throws {
        #expect(try parse(#"{"name":"alice","extra":[1,2]}"#, joined: false) == .join(name: "alice"))
        #expect(throws: ChatProtocolError.missingName) { try parse(#"{"name":""}"#, joined: false) }
        #expect(throws: ChatProtocolError.missingName) { try parse(#"{"name":7}"#, joined: false) }
        #expect(throws: ChatProtocolError.missingName) { try parse(#"{"msg":"hi"}"#, joined: false) }
        #expect(throws: ChatProtocolError.nameTooLong) { try parse("{\"name\":\"\(String(repeating: "é", count: 33))\"}", joined: false) }
        // Once joined, a name field is just an unknown field.
        #expect(try parse(#"{"name":"bob","msg":"x"}"#) == .say("x"))
    }

    @Test func messagesCommandsAndRefusals() throws {
        #expect(try parse(#"{"msg":"hello"}"#) == .say("hello"))
        #expect(try parse("{\"msg\":\"crlf\"}\r") == .say("crlf"))
        #expect(try parse(#"{"cmd":"who"}"#) == .who)
        #expect(throws: ChatProtocolError.unknownCommand("kick")) { try parse(#"{"cmd":"kick"}"#) }
        #expect(throws: ChatProtocolError.noMessage) { try parse(#"{"msg":42}"#) }
        for garbage in ["", "hello", "[1,2]", "\"text\"", "42", "null", "{\"msg\":\"a\"} trailing", "{\"msg\":\"\\ud800\"}", "{\"msg\":\"a\u{1}\"}", "{"] {
            #expect(throws: ChatProtocolError.notJSONObject, "\(garbage)") { try parse(garbage) }
        }
        for bytes: [UInt8] in [[0xFF], [0x7B, 0xC3, 0x7D], [0x22, 0xED, 0xA0, 0x80, 0x22], [0xFE, 0xFF, 0x00, 0x7B]] {
            #expect(throws: ChatProtocolError.notUTF8) { try ClientMessage.parse(bytes[...], joined: true) }
        }
    }

    @Test func serverLinesHaveTheDocumentedShape() {
        func text(_ message: ServerMessage) -> String { String(decoding: message.encoded, as: UTF8.self) }
        #expect(text(.message(from: "alice", text: "hello")) == #"{"from":"alice","msg":"hello"}"# + "\n")
        #expect(text(.joined(name: "alice")) == #"{"event":"join","name":"alice"}"# + "\n")
        #expect(text(.left(name: "alice", message: "我下线了！", reason: nil)) == #"{"event":"leave","name":"alice","msg":"我下线了！"}"# + "\n")
        #expect(text(.left(name: "bob", message: nil, reason: "too slow")) == #"{"event":"leave","name":"bob","reason":"too slow"}"# + "\n")
        #expect(text(.members(["a", "b"])) == #"{"event":"members","names":["a","b"]}"# + "\n")
        #expect(text(.members([])) == #"{"event":"members","names":[]}"# + "\n")
        #expect(text(.shutdown) == #"{"event":"shutdown"}"# + "\n")
        #expect(text(.error("x")) == #"{"error":"x"}"# + "\n")
    }

    /// Every control character, quotes, backslashes and non-ASCII survive the hand-written
    /// encoder, as read back by Foundation's parser, and the line never contains a raw newline.
    @Test func escapingRoundTripsThroughAnIndependentParser() throws {
        let hostile = String((0..<0x20).map { Character(Unicode.Scalar($0)!) }) + "\"\\/ é 我下线了！ 🧵 \u{7F}\u{2028}"
        for message in [ServerMessage.message(from: hostile, text: hostile), .members([hostile, "x"]), .error(hostile)] {
            let line = message.encoded
            #expect(line.filter { $0 == 0x0A }.count == 1 && line.last == 0x0A)
            let object = try JSONSerialization.jsonObject(with: Data(line.dropLast())) as? [String: Any]
            #expect(object != nil)
            #expect(try ServerMessage.parse(line.dropLast()) == message)
        }
        let said = ClientMessage.say(hostile).encoded
        #expect(try ClientMessage.parse(said.dropLast(), joined: true) == .say(hostile))
    }
}
