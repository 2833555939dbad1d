import ArgumentParser
import StaticCall
import StaticCallDemo

/// `staticcall report`: the demo workload's keys, patched, and the report.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set up and patch the demo workload's keys, then print StaticCalls.report().",
        discussion: """
        With --json, one document in this shape (the library's StaticCallReport.json; a mode is "inline" or "indirect"):
          {"mode": mode, "reason": string | null, "writer": string | null,
           "emulatedTraps": n, "lateTraps": n, "keys": [{"name": string,
           "target": string, "mode": mode, "sitesFound": n, "sitesPatched": n,
           "patchedSites": ["0x…"],
           "unpatched": [{"address": "0x…", "reason": string}],
           "updates": n, "slowPathCalls": n, "problem": string | null}]}

        Examples:
          staticcall report
          STATICCALL_MODE=indirect staticcall report --json

        Exit codes: 0 done; 1 a patch transaction failed (the report says which sites and why).
        """
    )

    @Flag(help: "Print one JSON document instead of the table.") var json = false

    func run() throws {
        selectImplementation(word: cpuHasAVX2())
        var failure: String? = nil
        do { try StaticCalls.patchAll() } catch { failure = "\(error)" }
        _ = runStaticCalls(Packets(count: 16))
        let report = StaticCalls.report()
        print(json ? report.json : String(describing: report))
        if let failure {
            printError("staticcall report: \(failure)")
            throw ExitCode(1)
        }
    }
}
