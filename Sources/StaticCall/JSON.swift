/// A JSON document as this package prints it: `StaticCallReport.json` and every `staticcall … --json`.
/// One line, keys in the order given, `", "` between items and `": "` after keys; strings escaped in one
/// place. (`package`: the CLI of this package builds its documents with it; users read them, they do not
/// build them.)
package enum JSON: Sendable {
    case object([(String, JSON)])
    case array([JSON])
    case string(String)
    case int(Int)
    /// A finite number; NaN and the infinities, which JSON cannot hold, are written as `null`.
    case number(Double)
    case bool(Bool)
    case null

    /// An address as a string, `"0x…"` (a JSON number cannot hold every 64-bit value exactly).
    package static func address(_ a: UInt64) -> JSON { .string("0x" + String(a, radix: 16)) }

    /// `s`, or `null`.
    package static func string(_ s: String?) -> JSON { s.map(JSON.string) ?? .null }

    /// The document's text.
    package var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case let .object(members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += ", " }
                Self.writeString(key, to: &out)
                out += ": "
                value.write(to: &out)
            }
            out += "}"
        case let .array(elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += ", " }
                element.write(to: &out)
            }
            out += "]"
        case let .string(s): Self.writeString(s, to: &out)
        case let .int(n): out += String(n)
        case let .number(x): out += x.isFinite ? "\(x)" : "null"
        case let .bool(b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
