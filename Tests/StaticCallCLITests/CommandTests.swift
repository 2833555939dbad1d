import Foundation
@testable import StaticCall
import StaticCallTestSupport
import Testing

/// The `staticcall` subcommands as a user runs them (the debug build of the tool; its workloads are compiled with -O).
@Suite("staticcall demo, report, selftest", .serialized)
struct CommandTests {
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        runProcess(try SitesTests.cli.get(), arguments, environment: environment)
    }

    @Test func demoComparesEveryMechanismAndTheyAgree() throws {
        let r = try run(["demo", "--packets", "2000", "--rounds", "1", "--json"])
        #expect(r.status == 0, "\(r.output)")
        let object = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
        #expect(object?["agreed"] as? Bool == true)
        let rows = object?["rows"] as? [[String: Any]] ?? []
        #expect(rows.compactMap { $0["mechanism"] as? String } == ["static call + static key", "closure variable", "protocol existential", "@_dynamicReplacement", "C function pointer"])
        #expect(rows.allSatisfy { ($0["nsPerPacket"] as? Double ?? 0) > 0 })
        // The first numbers a newcomer sees (`swift run staticcall demo`, a debug build) are of optimized loops.
        #expect(object?["debugBuild"] as? Bool == false, "\(r.output)")
    }

    /// The offline analysis and the running runtime see the same keys in the same binary: `staticcall
    /// sites` on the tool itself lists exactly the keys `staticcall report` (patchAll: every key of the
    /// binary) lists, each with the same sites: the report's addresses are the file's shifted by the
    /// image's load bias (one page-aligned offset for every site of every key).
    @Test(.enabled(if: Engine.isBuilt, "the portable build looks for no sites"))
    func sitesListsExactlyTheKeysTheReportListsAtTheSameAddresses() throws {
        let cli = try SitesTests.cli.get()
        let report = try run(["report", "--json"])
        let sites = try run(["sites", cli, "--json"])
        #expect(report.status == 0 && sites.status == 0, "\(report.output)\n\(sites.output)")
        let reportKeys = (try JSONSerialization.jsonObject(with: Data(report.output.utf8)) as? [String: Any])?["keys"] as? [[String: Any]] ?? []
        let trampolines = (try JSONSerialization.jsonObject(with: Data(sites.output.utf8)) as? [String: Any])?["trampolines"] as? [[String: Any]] ?? []
        func address(_ any: Any?) -> UInt64? { (any as? String).flatMap { UInt64($0.dropFirst(2), radix: 16) } }
        // Report names `demoChecksum(_:)` / `demoVerbose`; sites names `demoChecksum` / `demoVerbose (static key)`.
        var fromReport: [String: Set<UInt64>] = [:]
        for k in reportKeys {
            guard let name = k["name"] as? String, let found = k["sitesFound"] as? Int else { continue }
            let patched = (k["patchedSites"] as? [Any] ?? []).compactMap(address)
            let unpatched = (k["unpatched"] as? [[String: Any]] ?? []).compactMap { address($0["address"]) }
            let all = Set(patched + unpatched)
            #expect(all.count == found, "\(name): \(found) found, \(all.count) addresses listed")
            fromReport[String(name.prefix { $0 != "(" })] = all
        }
        var fromSites: [String: Set<UInt64>] = [:]
        for t in trampolines {
            guard let name = t["name"] as? String, let list = t["sites"] as? [[String: Any]] else { continue }
            fromSites[name.replacingOccurrences(of: " (static key)", with: "")] = Set(list.compactMap { address($0["address"]) })
        }
        #expect(!fromReport.isEmpty && Set(fromReport.keys) == Set(fromSites.keys), "report: \(fromReport.keys.sorted())\nsites: \(fromSites.keys.sorted())")
        let live = fromReport.values.flatMap { $0 }, file = fromSites.values.flatMap { $0 }
        #expect(!live.isEmpty && live.count == file.count, "report \(live.count) sites, sites \(file.count)")
        let bias = (live.min() ?? 0) &- (file.min() ?? 0)
        #expect(bias % 4096 == 0, "load bias 0x\(String(bias, radix: 16))")
        for (name, addresses) in fromSites {
            #expect(Set(addresses.map { $0 &+ bias }) == fromReport[name], "\(name): sites \(addresses.sorted()), report \(fromReport[name]?.sorted() ?? [])")
        }
    }

    /// In unoptimized code (this test target is compiled -Onone) each key's registration thunk calls its
    /// trampoline: that call hands out the trampoline's address and is not a call site. The runtime
    /// knows the thunk; `staticcall sites` must not list it either (it did: one extra site per key).
    @Test(.enabled(if: Engine.isBuilt, "the portable build looks for no sites"))
    func sitesAndTheReportAgreeOnUnoptimizedCode() throws {
        #expect(unoptimizedSitesProbe(2) == 3 && !unoptimizedSitesFlag)
        let report = StaticCalls.report()
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let sites = try run(["sites", binary, "--json"])
        #expect(sites.status == 0, "\(sites.output)")
        let trampolines = (try JSONSerialization.jsonObject(with: Data(sites.output.utf8)) as? [String: Any])?["trampolines"] as? [[String: Any]] ?? []
        func address(_ any: Any?) -> UInt64? { (any as? String).flatMap { UInt64($0.dropFirst(2), radix: 16) } }
        for (reportName, sitesName) in [("unoptimizedSitesProbe(_:)", "unoptimizedSitesProbe"), ("unoptimizedSitesFlag", "unoptimizedSitesFlag (static key)")] {
            let key = try #require(report[reportName])
            let live = Set(key.patchedSites.map(UInt64.init) + key.unpatched.map { UInt64($0.address) })
            let listed = trampolines.first { $0["name"] as? String == sitesName }?["sites"] as? [[String: Any]] ?? []
            let file = Set(listed.compactMap { address($0["address"]) })
            #expect(!live.isEmpty && live.count == key.sitesFound, "\(reportName): \(key)")
            #expect(file.count == live.count, "\(reportName): sites lists \(file.count), the report \(live.count)")
            let bias = (live.min() ?? 0) &- (file.min() ?? 0)
            #expect(bias % 4096 == 0 && Set(file.map { $0 &+ bias }) == live, "\(reportName): sites \(file.sorted()), report \(live.sorted())")
        }
    }

    @Test func aMisspelledModeIsWarnedAboutOnceAndIgnored() throws {
        let r = try run(["selftest"], environment: ["STATICCALL_MODE": "indriect"])
        #expect(r.status == 0, "\(r.output)")
        let warnings = r.output.components(separatedBy: "STATICCALL_MODE=indriect is not a mode").count - 1
        #expect(warnings == 1, "\(r.output)")
        #expect(r.output.contains("'inline' and 'indirect'"), "\(r.output)")
    }

    @Test func demoTextSaysWhatTheNumbersMean() throws {
        let r = try run(["demo", "--packets", "1000", "--rounds", "1"])
        #expect(r.status == 0 && r.output.contains("ns/packet") && r.output.contains("call sites patched") && r.output.contains("Every mechanism computed the same checksums"), "\(r.output)")
    }

    @Test(arguments: [[String: String](), ["STATICCALL_MODE": "indirect"]])
    func reportPrintsEveryDemoKey(_ environment: [String: String]) throws {
        let r = try run(["report", "--json"], environment: environment)
        #expect(r.status == 0, "\(r.output)")
        let object = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
        let keys = (object?["keys"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(Set(keys).isSuperset(of: ["demoChecksum(_:)", "demoTrace(_:)", "demoVerbose"]), "\(keys)")
        #expect(object?["mode"] as? String == (environment.isEmpty && Engine.isBuilt ? "inline" : "indirect"))
    }

    @Test func selftestPassesAndSaysSoInJSON() throws {
        let r = try run(["selftest", "--rounds", "50", "--json"])
        #expect(r.status == 0, "\(r.output)")
        let object = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
        #expect(object?["passed"] as? Bool == true, "\(r.output)")
        if Engine.isBuilt {
            // In inline mode every selftest key is patched: none may pass by falling back.
            #expect(object?["mode"] as? String == "inline" && (object?["fallbacks"] as? [Any])?.isEmpty == true, "\(r.output)")
        } else {
            #expect(object?["mode"] as? String == "indirect", "\(r.output)") // the portable build
        }
    }

    @Test func badUsageExitsWith64() throws {
        let r = try run(["demo", "--packets", "0"])
        #expect(r.status == 64, "\(r.output)")
    }

    /// The help a user reads: its paragraphs are wrapped by the tool (80 columns when the output is not a
    /// terminal), never broken inside a sentence by the source, and an example or a JSON line is never
    /// wrapped at all. It names no document the user does not have.
    @Test(arguments: [[], ["demo"], ["sites"], ["report"], ["selftest"]])
    func helpReadsInParagraphsWrappedByTheTool(_ command: [String]) throws {
        let r = try run(command + ["--help"], environment: ["COLUMNS": "80"])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let discussion = lines.prefix { !$0.hasPrefix("USAGE:") }
        for (line, next) in zip(discussion, discussion.dropFirst()) where !line.isEmpty && !next.isEmpty && !next.hasPrefix(" ") {
            // `next` continues `line`: only the tool's wrapping may have put it there.
            #expect(!line.hasPrefix(" "), "an indented line (an example, a JSON line) was wrapped: '\(line)' / '\(next)'")
            #expect(line.count > 60, "a line broken inside its paragraph: '\(line)' / '\(next)'")
        }
        #expect(!r.output.contains("DESIGN.md"), "\(r.output)")
    }

    /// Each command's help shows the shape of its --json document: every field the document has is named
    /// there, and every field named there is in the document.
    @Test(arguments: [["demo", "--packets", "2000", "--rounds", "1"], ["sites", "SELF"], ["report"], ["selftest", "--rounds", "2"]])
    func jsonShapeInTheHelpIsTheDocumentsShape(_ command: [String]) throws {
        let cli = try SitesTests.cli.get()
        let arguments = command.map { $0 == "SELF" ? cli : $0 }
        let help = try run([command[0], "--help"], environment: ["COLUMNS": "80"]) // the width the shape lines fit
        let r = try run(arguments + ["--json"])
        #expect(r.status == 0, "\(r.output)")
        let document = try JSONSerialization.jsonObject(with: Data(r.output.utf8))
        var fields: Set<String> = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                for (key, inner) in object { fields.insert(key); collect(inner) }
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        // The shape is the first indented lines after "With --json" (whose own paragraph may wrap): a
        // field is a quoted word followed by ':'.
        let shape = help.output.split(separator: "\n").drop { !$0.hasPrefix("With --json") }
            .drop { !$0.hasPrefix("  ") }.prefix { $0.hasPrefix("  ") }
        var named: Set<String> = []
        for line in shape {
            var rest = Substring(line)
            while let open = rest.firstIndex(of: "\"") {
                let afterOpen = rest.index(after: open)
                guard let close = rest[afterOpen...].firstIndex(of: "\"") else { break }
                let afterClose = rest.index(after: close)
                if afterClose < rest.endIndex, rest[afterClose] == ":" { named.insert(String(rest[afterOpen..<close])) }
                rest = rest[afterClose...]
            }
        }
        #expect(!named.isEmpty, "no JSON shape in the help of \(command[0])\n\(help.output)")
        #expect(fields.isSubset(of: named), "\(command[0]): fields the help does not name: \(fields.subtracting(named).sorted())")
        // The other way round only where the document has every kind of entry: the demo's keys are all
        // patched, so the report lists no unpatched site (with its address); the portable build patches
        // and looks for nothing.
        let onlyInEmptyLists: Set<String> = command[0] == "report" ? ["address"] : []
        if Engine.isBuilt {
            #expect(named.subtracting(onlyInEmptyLists).isSubset(of: fields),
                    "\(command[0]): fields named in the help that the document lacks: \(named.subtracting(fields).sorted())")
        }
    }
}

// Keys of the unoptimized-code test above: used nowhere else, so the report's entries are that test's.
@StaticCall func unoptimizedSitesProbe(_ x: Int) -> Int { x + 1 }
@StaticKey var unoptimizedSitesFlag = false
