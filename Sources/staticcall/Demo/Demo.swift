#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import StaticCall

/// `staticcall demo`: the main job on its embedded workload.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a packet-processing loop with each dispatch mechanism and compare ns per packet.",
        discussion: """
        Each packet is parsed, checksummed through an implementation selected at start-up from the CPU's
        features, passed to a tracing hook that is off, and checked against a log switch that is off —
        once with static calls and a static key, and once each with closure variables, protocol
        existentials, `dynamic` functions (@_dynamicReplacement) and C function pointers.

        Examples:
          staticcall demo
          swift run -c release staticcall demo --packets 50000 --rounds 9

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

struct DemoOutcome {
    var implementation: String
    var rows: [(mechanism: String, nanosecondsPerPacket: Double)]
    var agreed: Bool
    var report: StaticCallReport
    var debugBuild: Bool

    var text: String {
        var lines: [String] = []
        if debugBuild {
            lines.append("note: this is a debug build; its numbers are not representative (run `swift run -c release staticcall demo`).")
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
        let rowsJSON = rows.map { "{\"mechanism\": \"\($0.mechanism)\", \"nsPerPacket\": \($0.nanosecondsPerPacket)}" }.joined(separator: ", ")
        return "{\"implementation\": \"\(implementation)\", \"debugBuild\": \(debugBuild), \"agreed\": \(agreed), \"mode\": \"\(report.mode)\", \"rows\": [\(rowsJSON)]}"
    }
}

struct DemoRun {
    var packetCount: Int
    var rounds: Int

    func run() -> DemoOutcome {
        let packets = Packets(count: packetCount)
        let word = cpuHasAVX2()
        selectImplementation(word: word)
        try? StaticCalls.patchAll()
        let mechanisms: [(String, (Packets) -> UInt32)] = [
            ("static call + static key", runStaticCalls),
            ("closure variable", runClosures),
            ("protocol existential", runExistentials),
            ("@_dynamicReplacement", runDynamicReplacement),
            ("C function pointer", runFunctionPointers),
        ]
        let expected = mechanisms[0].1(packets)
        let agreed = mechanisms.allSatisfy { $0.1(packets) == expected }
        var samples = [[Double]](repeating: [], count: mechanisms.count)
        for _ in 0..<rounds {
            // Interleaved, so that every mechanism sees the same machine state.
            for (i, m) in mechanisms.enumerated() {
                let t0 = monotonicNow()
                let r = m.1(packets)
                let t1 = monotonicNow()
                if r != expected { return DemoOutcome(implementation: "", rows: [], agreed: false, report: StaticCalls.report(), debugBuild: _isDebugAssertConfiguration()) }
                samples[i].append(Double(t1 - t0) / Double(packetCount))
            }
        }
        let rows = mechanisms.enumerated().map { i, m in (m.0, samples[i].sorted()[samples[i].count / 2]) }
        return DemoOutcome(implementation: word ? "word-at-a-time (the CPU has AVX2)" : "byte-at-a-time",
                           rows: rows, agreed: agreed, report: StaticCalls.report(), debugBuild: _isDebugAssertConfiguration())
    }
}

func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

extension String {
    func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
