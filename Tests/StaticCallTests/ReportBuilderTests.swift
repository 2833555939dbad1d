@testable import StaticCall
import Testing

/// The report says what each site's status says: set when a transaction planned or wrote the site, never
/// worked out again when the report is read.
@Suite("Report: each site as its last transaction left it")
final class ReportBuilderTests {
    let storage = UnsafeMutablePointer<StaticCallStorage>.allocate(capacity: 1)

    init() { storage.initialize(to: StaticCallStorage()) }
    deinit { storage.deinitialize(count: 1).deallocate() }

    func record(_ statuses: [SiteStatus], problem: String? = nil) -> KeyRecord {
        let record = KeyRecord(storage: storage, name: "codec(_:)", trampolineThunk: 0x10, defaultTarget: 0x20,
                               capabilities: StaticCallCapabilities())
        record.problem = problem
        for (i, status) in statuses.enumerated() {
            let site = PatchSite(address: 0x1000 + UInt64(i) * 8, kind: .call, original: [0xe8, 0, 0, 0, 0])
            site.status = status
            record.sites.append(site)
        }
        record.unproven = [(0x5000, "a jump lands inside it")]
        return record
    }

    let inline = Capability(mode: .inline, reason: nil, writer: "page-remap")

    @Test func inlineSitesArePatchedAndTheOthersCarryTheirStatussReason() {
        let statuses: [SiteStatus] = [
            .inline,
            .onTrampoline(.planner("target 0x7f00 is out of rel32 reach and has no stub within it")),
            .leftAlone(.bytesChanged(expected: [0xe8, 1, 2, 3, 4], found: [0xcc, 1, 2, 3, 4])),
            .leftAlone(.writeFailed("update not applied: page remap failed: EPERM")),
            .onTrampoline(.notYetPatched),
        ]
        let key = ReportBuilder.report([record(statuses)], capability: inline, targetName: { _ in "" }).keys[0]
        #expect(key.mode == .inline)
        #expect(key.patchedSites == [0x1000])
        #expect(key.sitesFound == 6)
        #expect(key.unpatched.map(\.address) == [0x1008, 0x1010, 0x1018, 0x1020, 0x5000])
        #expect(key.unpatched.map(\.reason) == [
            "target 0x7f00 is out of rel32 reach and has no stub within it",
            "bytes changed under us (expected e8 01 02 03 04, found cc 01 02 03 04); left alone",
            "update not applied: page remap failed: EPERM",
            "not yet patched",
            "a jump lands inside it",
        ])
    }

    @Test func aKeyWithAProblemIsIndirectEvenWhereItsBytesAreStillInline() {
        let key = ReportBuilder.report([record([.inline, .onTrampoline(.keyProblem)], problem: "its trampoline is shared with f()")],
                                       capability: inline, targetName: { _ in "" }).keys[0]
        #expect(key.mode == .indirect)
        #expect(key.sitesPatched == 0)
        #expect(key.unpatched.prefix(2).map(\.reason) == ["its trampoline is shared with f()", "its trampoline is shared with f()"])
    }

    @Test func aKeysProblemExplainsSitesNotPlannedSinceItWasFound() {
        let capability = Capability(mode: .indirect, reason: "STATICCALL_MODE=indirect", writer: nil)
        let problem = "its trampoline is shared with g()"
        let key = ReportBuilder.report([record([.onTrampoline(.indirectMode), .onTrampoline(.notYetPatched)], problem: problem)],
                                       capability: capability, targetName: { _ in "" }).keys[0]
        #expect(key.unpatched.prefix(2).map(\.reason) == [problem, problem])
    }

    @Test func indirectModeSitesGiveTheModesReason() {
        let capability = Capability(mode: .indirect, reason: "STATICCALL_MODE=indirect", writer: nil)
        let report = ReportBuilder.report([record([.onTrampoline(.indirectMode)])], capability: capability, targetName: { _ in "" })
        #expect(report.keys[0].unpatched.first?.reason == "indirect mode: STATICCALL_MODE=indirect")
        #expect(report.keys[0].target == "<default body>")
    }
}
