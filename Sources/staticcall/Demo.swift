#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import ArgumentParser
import StaticCall
import StaticCallDemo

/// `staticcall demo`: the main job on its embedded workload.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a packet-processing loop with each dispatch mechanism and compare ns per packet.",
        // Paragraphs are one line each (`\` joins the source lines): the tool wraps them to the terminal.
        discussion: """
        Each packet is parsed, checksummed through an implementation selected at start-up from the \
        CPU's features, passed to a tracing hook that is off, and checked against a log switch that is \
        off — once with static calls and a static key, and once each with closure variables, protocol \
        existentials, `dynamic` functions (@_dynamicReplacement) and C function pointers.

        With --json, one document:
          {"implementation": string, "debugBuild": true | false,
           "agreed": true | false, "mode": "inline" | "indirect",
           "rows": [{"mechanism": string, "nsPerPacket": number}]}

        Examples:
          staticcall demo
          staticcall demo --packets 50000 --rounds 9 --json

        Exit codes: 0 done; 1 the mechanisms disagreed on a result.
        """
    )

    @Option(help: "Packets per round.") var packets = 20_000
    @Option(help: "Rounds per mechanism (the median is reported).") var rounds = 9
    @Flag(help: "Print one JSON document instead of text.") var json = false

    func validate() throws {
        guard packets > 0, rounds > 0 else { throw ValidationError("--packets and --rounds must be positive") }
    }

    func run() throws {
        let outcome = DemoRun(packetCount: packets, rounds: rounds).run()
        if json {
            print(outcome.json)
        } else {
            print(outcome.text)
        }
        if !outcome.agreed { throw ExitCode(1) }
    }
}

extension DemoOutcome {
    var text: String {
        var lines: [String] = []
        if debugBuild {
            lines.append("note: the workload was compiled without optimization; its numbers are not representative.")
        }
        lines.append("checksum implementation selected at start-up: \(implementation); tracing hook: off; log switch: off")
        let base = rows.first?.nanosecondsPerPacket ?? 1
        let width = rows.map(\.mechanism.count).max() ?? 0
        lines.append("")
        lines.append("mechanism".padded(width) + "   ns/packet   vs static calls")
        for r in rows {
            let ns = (r.nanosecondsPerPacket * 10).rounded() / 10
            let ratio = (r.nanosecondsPerPacket / base * 100).rounded() / 100
            lines.append(r.mechanism.padded(width) + "   " + String(ns).padded(9) + "   " + String(ratio) + "×")
        }
        lines.append("")
        for name in ["demoChecksum(_:)", "demoTrace(_:)", "demoVerbose"] {
            if let k = report[name] { lines.append("\(name): \(k.sitesPatched) of \(k.sitesFound) call sites patched (\(k.mode)); now \(k.target)") }
        }
        lines.append("")
        lines.append(String(describing: report))
        lines.append("")
        lines.append(agreed
            ? "Every mechanism computed the same checksums. The static-call rows pay for a direct call, a NOP and an immediate load where the others load a pointer or a flag and call indirectly."
            : "The mechanisms disagreed on the checksums: this is a bug.")
        return lines.joined(separator: "\n")
    }

    var json: String {
        JSON.object([
            ("implementation", .string(implementation)), ("debugBuild", .bool(debugBuild)), ("agreed", .bool(agreed)),
            ("mode", .string(report.mode.rawValue)),
            ("rows", .array(rows.map { .object([("mechanism", .string($0.mechanism)), ("nsPerPacket", .number($0.nanosecondsPerPacket))]) })),
        ]).text
    }
}

extension String {
    func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
