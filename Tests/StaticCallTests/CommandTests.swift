import Foundation
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
        #expect(object?["mode"] as? String == (environment.isEmpty ? "inline" : "indirect"))
    }

    @Test func selftestPassesAndSaysSoInJSON() throws {
        let r = try run(["selftest", "--rounds", "50", "--json"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("\"passed\":true"))
        // In inline mode every selftest key is patched: none may pass by falling back.
        #expect(r.output.contains("\"mode\":\"inline\"") && r.output.contains("\"fallbacks\":[]"), "\(r.output)")
    }

    @Test func badUsageExitsWith64() throws {
        let r = try run(["demo", "--packets", "0"])
        #expect(r.status == 64, "\(r.output)")
    }
}
