import Foundation
@testable import StaticCall
import Testing

/// The one JSON writer of the package: what it writes is valid JSON that reads back to what was given.
@Suite("JSON documents: escaped once, read back exactly")
struct JSONTests {
    @Test func stringsWithQuotesBackslashesAndControlCharactersReadBackUnchanged() throws {
        let awkward = "a \"quoted\" \\ path\nwith\ttabs, \u{1} and \u{1f}, é and 🙂"
        let text = JSON.object([("s", .string(awkward))]).text
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(object?["s"] as? String == awkward, "\(text)")
        #expect(text.contains("\\u0001") && text.contains("\\u001f"), "\(text)")
    }

    @Test func membersKeepTheirOrderAndEveryKindIsWritten() {
        let text = JSON.object([
            ("z", .int(-3)), ("a", .bool(true)), ("m", .null), ("x", .number(1.5)), ("list", .array([.address(0xff), .string(nil)])),
        ]).text
        #expect(text == #"{"z": -3, "a": true, "m": null, "x": 1.5, "list": ["0xff", null]}"#)
    }

    @Test func numbersJSONCannotHoldAreNull() {
        #expect(JSON.array([.number(.nan), .number(.infinity), .number(-.infinity)]).text == "[null, null, null]")
    }
}
