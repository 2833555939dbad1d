/// JSON text for the few documents this package prints (`staticcall sites --json`, report `--json`):
/// small enough to write by hand, and kept to one escaping routine.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included.
    public static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let h = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// An address as a JSON string, `"0x…"`.
    public static func address(_ a: UInt64) -> String { string("0x" + String(a, radix: 16)) }
}
