internal import MachineCode

/// What happened, for people and for tests. `print(report)` renders a table.
public struct StaticCallReport: Sendable, CustomStringConvertible {
    /// One key: its current target, the sites found for it and how many hold the current state inline.
    public struct Key: Sendable {
        /// "checksum(_:)", or "tracingEnabled" for a static key.
        public var name: String
        /// Symbol name of the current target, "<disabled>" or "<constant 128>".
        public var target: String
        /// What this key achieved.
        public var mode: StaticCallMode
        /// Call sites discovered that target its trampoline.
        public var sitesFound: Int
        /// Of those, how many now hold the current state inline.
        public var sitesPatched: Int
        /// Addresses of the sites that hold the current state inline.
        public var patchedSites: [UInt]
        /// The others, each with the reason.
        public var unpatched: [(address: UInt, reason: String)]
        /// update/disable/reset calls that changed the state.
        public var updates: Int
        /// Calls that went through the trampoline's indirect path (counted with `STATICCALL_STATS=1`).
        public var slowPathCalls: Int
        /// Why the key cannot be patched at all, if so.
        public var problem: String?
        /// What happened to the key that its owner should know (a target unloaded under it).
        public var notes: [String] = []
    }

    /// Every registered key of the process, in registration order.
    public var keys: [Key]
    /// The process's mode: `inline` where call sites can be written, else `indirect`.
    public var mode: StaticCallMode
    /// Why the mode is not better, or why a fallback writer is used; nil when nothing was refused.
    public var reason: String?
    /// How text is written ("page-remap (proc-self-mem)", "int3 (…)"), or nil in indirect mode.
    public var writer: String?
    /// Threads that hit an INT3 mid-patch and had the new instruction emulated (INT3 protocol only).
    public var emulatedTraps: Int
    /// Traps taken while an INT3 was there but handled after its patch had finished: the thread resumed at
    /// the site, which by then held a whole instruction.
    public var lateTraps: Int

    /// The key named `name` ("checksum(_:)", "Codec.encode(_:)", "tracingEnabled"), if registered.
    public subscript(name: String) -> Key? { keys.first { $0.name == name } }

    /// A table of every key: target, mode, sites found and patched, updates, slow-path calls.
    public var description: String {
        var lines = ["StaticCall report — mode: \(mode)\(writer.map { ", writer: \($0)" } ?? "")\(reason.map { " (\($0))" } ?? "")"]
        let header = ["key", "target", "mode", "found", "patched", "updates", "slow calls"]
        var rows = [header]
        for k in keys {
            rows.append([k.name, k.target, k.mode.rawValue, String(k.sitesFound), String(k.sitesPatched), String(k.updates), String(k.slowPathCalls)])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (i, row) in rows.enumerated() {
            lines.append(row.enumerated().map { c, cell in cell + String(repeating: " ", count: widths[c] - cell.count) }.joined(separator: "  "))
            if i == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        for k in keys {
            if let p = k.problem { lines.append("  \(k.name): \(p)") }
            for note in k.notes { lines.append("  \(k.name): \(note)") }
            // One line per distinct reason: indirect mode gives every site the same one.
            var reasons: [String: [UInt]] = [:]
            var order: [String] = []
            for u in k.unpatched {
                if reasons[u.reason] == nil { order.append(u.reason) }
                reasons[u.reason, default: []].append(u.address)
            }
            for reason in order {
                let sites = reasons[reason]!
                let shown = sites.prefix(3).map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
                lines.append("  \(k.name): \(sites.count) site\(sites.count == 1 ? "" : "s") unpatched (\(shown)\(sites.count > 3 ? ", …" : "")): \(reason)")
            }
        }
        if emulatedTraps + lateTraps > 0 { lines.append("traps emulated mid-patch: \(emulatedTraps), resumed late: \(lateTraps)") }
        return lines.joined(separator: "\n")
    }
}

extension StaticCallReport {
    /// The report as one JSON document (for `staticcall report --json` and tools).
    public var json: String {
        let keysJSON = keys.map { k -> JSON in
            .object([
                ("name", .string(k.name)), ("target", .string(k.target)), ("mode", .string(k.mode.rawValue)),
                ("sitesFound", .int(k.sitesFound)), ("sitesPatched", .int(k.sitesPatched)),
                ("patchedSites", .array(k.patchedSites.map { .address(UInt64($0)) })),
                ("unpatched", .array(k.unpatched.map { .object([("address", .address(UInt64($0.address))), ("reason", .string($0.reason))]) })),
                ("updates", .int(k.updates)), ("slowPathCalls", .int(k.slowPathCalls)), ("problem", .string(k.problem)),
            ])
        }
        return JSON.object([
            ("mode", .string(mode.rawValue)), ("reason", .string(reason)), ("writer", .string(writer)),
            ("emulatedTraps", .int(emulatedTraps)), ("lateTraps", .int(lateTraps)), ("keys", .array(keysJSON)),
        ]).text
    }
}
