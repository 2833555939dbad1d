import CStaticCall
import MachineCode
@testable import StaticCall
import Testing

@Suite("One runtime per process: the table other copies call, and what crosses it")
struct ProcessRuntimeTests {
    @Test func aTableOfThisABIAndSizeIsUsed() {
        #expect(ProcessRuntime.refusal(abi: UInt32(CSTATICCALL_RUNTIME_ABI), size: MemoryLayout<cstaticcall_runtime_v1>.size, version: "0.3.0") == nil)
        // A later minor version appends entries: a larger table is fine.
        #expect(ProcessRuntime.refusal(abi: UInt32(CSTATICCALL_RUNTIME_ABI), size: MemoryLayout<cstaticcall_runtime_v1>.size + 16, version: "0.6.0") == nil)
    }

    /// A 0.4.0 copy's table ends before `set_entry`: it is used, and keys' entries are not handed over (they
    /// stay on the slow path, which reads the word that copy writes). One byte less is refused.
    @Test func aTableWithoutSetEntryIsUsedAndAShorterOneIsNot() {
        let abi = UInt32(CSTATICCALL_RUNTIME_ABI)
        let before = MemoryLayout<cstaticcall_runtime_v1>.offset(of: \.set_entry)!
        #expect(ProcessRuntime.refusal(abi: abi, size: before, version: "0.4.0") == nil)
        #expect(ProcessRuntime.refusal(abi: abi, size: before - 1, version: "0.4.0") != nil)
        var table = cstaticcall_runtime_v1()
        table.size = UInt32(before)
        #expect(!withUnsafePointer(to: &table) { ProcessRuntime.hasSetEntry($0) })
        table.size = UInt32(MemoryLayout<cstaticcall_runtime_v1>.size)
        #expect(withUnsafePointer(to: &table) { ProcessRuntime.hasSetEntry($0) })
    }

    @Test func anotherABIOrAShorterTableIsRefusedWithBothVersionsNamed() throws {
        let other = try #require(ProcessRuntime.refusal(abi: 2, size: 4096, version: "1.0.0"))
        #expect(other.contains("1.0.0") && other.contains("ABI 2") && other.contains("trampolines"))
        let short = try #require(ProcessRuntime.refusal(abi: UInt32(CSTATICCALL_RUNTIME_ABI), size: 40, version: "0.2.0"))
        #expect(short.contains("0.2.0") && short.contains("40 bytes"))
    }

    @Test func aTableWithAnotherKeyLayoutIsRefused() throws {
        let abi = UInt32(CSTATICCALL_RUNTIME_ABI), size = MemoryLayout<cstaticcall_runtime_v1>.size
        #expect(ProcessRuntime.refusal(abi: abi, size: size, version: "0.3.0",
                                       storage: (MemoryLayout<StaticCallStorage>.size, Int(CSTATICCALL_WORD_ENCODING))) == nil)
        let other = try #require(ProcessRuntime.refusal(abi: abi, size: size, version: "0.3.1", storage: (32, Int(CSTATICCALL_WORD_ENCODING))))
        #expect(other.contains("key layout") && other.contains("32"))
        #expect(ProcessRuntime.refusal(abi: abi, size: size, version: "0.3.1", storage: (MemoryLayout<StaticCallStorage>.size, 2)) != nil)
    }

    /// The C table advertises the storage layout of this copy's Swift type: they must agree.
    @Test func theAdvertisedStorageSizeIsTheSwiftType() throws {
        #expect(Int(CSTATICCALL_STORAGE_SIZE) == MemoryLayout<StaticCallStorage>.size)
        if Engine.isBuilt {
            let own = try #require(cstaticcall_own_runtime())
            #expect(Int(own.pointee.storage_size) == MemoryLayout<StaticCallStorage>.size)
        } else {
            #expect(cstaticcall_own_runtime() == nil) // the portable build: each copy serves its own keys
        }
    }

    @Test(arguments: [KeyState.target(0x5555_1234), .disabled, .constant(0xff, .bits8), .constant(UInt64.max, .bits64),
                      .constant(7, .bits16), .constant(0xdead_beef, .bits32)])
    func keyStatesCrossTheTableUnchanged(_ state: KeyState) {
        #expect(ProcessRuntime.keyState(ProcessRuntime.wire(state)) == state)
    }

    @Test func anUnknownStateKindIsRefused() {
        #expect(ProcessRuntime.keyState(cstaticcall_state(kind: 9, width: 0, bits: 0)) == nil)
        #expect(ProcessRuntime.keyState(cstaticcall_state(kind: 2, width: 12, bits: 0)) == nil)
    }

    @Test func aReportCrossesTheTableUnchanged() throws {
        let key = StaticCallReport.Key(name: "scale(_:)", target: "times5(_:) — ünïcode", mode: .inline, sitesFound: 3, sitesPatched: 2,
                                       patchedSites: [0x1000, 0xffff_ffff_ffff_f000], unpatched: [(0x2000, "out of reach")], updates: 7,
                                       slowPathCalls: 11, problem: nil, notes: ["its target was unloaded", ""])
        let other = StaticCallReport.Key(name: "flag", target: "<constant 1>", mode: .indirect, sitesFound: 0, sitesPatched: 0,
                                         patchedSites: [], unpatched: [], updates: 0, slowPathCalls: 0, problem: "merged", notes: [])
        let report = StaticCallReport(keys: [key, other], mode: .inline, reason: nil, writer: "page-remap (proc-self-mem)",
                                      emulatedTraps: 1, lateTraps: 2)
        let bytes = ReportWire.encode(report)
        let decoded = try #require(bytes.withUnsafeBytes { ReportWire.decode($0) })
        #expect(decoded.json == report.json)
        #expect(decoded.keys[0].patchedSites == key.patchedSites && decoded.keys[0].notes == key.notes)
        #expect(decoded.description == report.description)
    }

    @Test func aTruncatedOrPaddedReportIsRefused() {
        let bytes = ReportWire.encode(StaticCallReport(keys: [], mode: .indirect, reason: "why", writer: nil, emulatedTraps: 0, lateTraps: 0))
        for cut in 0..<bytes.count {
            #expect(Array(bytes[..<cut]).withUnsafeBytes { ReportWire.decode($0) } == nil)
        }
        #expect((bytes + [0]).withUnsafeBytes { ReportWire.decode($0) } == nil)
    }

    @Test func thisProcessIsServedByItsOwnCopy() {
        // The test binary links StaticCall once: its constructor claimed the slot.
        #expect(cstaticcall_process_runtime() == cstaticcall_own_runtime())
        guard case .local = ProcessRuntime.server else {
            Issue.record("served by another copy")
            return
        }
    }
}
