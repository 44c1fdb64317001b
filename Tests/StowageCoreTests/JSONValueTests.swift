import StowageCore
import Testing

@Suite("JSON written as Go writes it")
struct JSONValueTests {
    static let value = JSONValue.object([("Cmd", .strings(["sh", "-c", "a && b <c> \u{2028}\u{1}"])), ("Empty", .array([]))])

    @Test("json.Marshal escapes <, >, & and the line separators")
    func marshalEscapesHTML() {
        #expect(Self.value.serialized() == #"{"Cmd":["sh","-c","a \u0026\u0026 b \u003cc\u003e \u2028\u0001"],"Empty":[]}"#)
    }

    @Test("the docker CLI's encoder (SetEscapeHTML(false)) leaves <, >, & as they are, still escaping U+2028 and controls")
    func cliLeavesHTML() {
        #expect(Self.value.serialized(escapingHTML: false) == #"{"Cmd":["sh","-c","a && b <c> \u2028\u0001"],"Empty":[]}"#)
        #expect(Self.value.serialized(indent: "  ", escapingHTML: false) == """
            {
              "Cmd": [
                "sh",
                "-c",
                "a && b <c> \\u2028\\u0001"
              ],
              "Empty": []
            }
            """)
    }
}
