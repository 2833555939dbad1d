#if canImport(Glibc)
import Glibc
#endif
import CStaticCall
import MachineCode

/// One site's change in a transaction.
struct PlannedWrite {
    let site: PatchSite
    let new: [UInt8]
    let instruction: SiteInstruction
}

/// The kernel's text_poke_bp() batch protocol, for this process:
///
/// 1. publish the in-flight table, then write `CC` (INT3) at every site's first byte; sync;
/// 2. write bytes 1–4 of every site; sync;
/// 3. write every site's new first byte; sync;
/// 4. retire the table once no SIGTRAP handler can still be reading it.
///
/// A thread that executes a site meanwhile either runs the old instruction, traps on the INT3 (and the
/// handler emulates the *new* instruction), or runs the new instruction: never a mix of bytes.
/// "Sync" is `membarrier(PRIVATE_EXPEDITED_SYNC_CORE)`.
struct PatchTransaction {
    var writers: [TextWriter]

    /// Applies `writes`. Sites whose bytes are not what we last wrote are skipped with a reason (we never
    /// write over bytes we have not proven). Returns the writer that did the writing.
    mutating func apply(_ writes: [PlannedWrite]) throws(SystemError) {
        var pending: [PlannedWrite] = []
        for w in writes.sorted(by: { $0.site.address < $1.site.address }) {
            if textEquals(at: w.site.address, w.new) { w.site.current = w.new; continue }
            guard textEquals(at: w.site.address, w.site.current) else {
                let live = readText(at: w.site.address, count: 5)
                w.site.reason = "bytes changed under us (expected \(hex(w.site.current)), found \(hex(live))); left alone"
                debugLog("site 0x\(String(w.site.address, radix: 16)): \(w.site.reason!)")
                continue
            }
            pending.append(w)
        }
        guard !pending.isEmpty else { return }

        let pokes = pending.map { w -> cstaticcall_poke in
            let (emulation, operand) = Self.emulation(of: w.instruction)
            return cstaticcall_poke(site: UInt(w.site.address), operand: UInt(operand), emulation: emulation, reserved: 0)
        }
        let published = pokes.withUnsafeBufferPointer { cstaticcall_publish_pokes($0.baseAddress, $0.count) }
        if published != 0 { throw SystemError("publish in-flight table", errno: published) }
        defer { cstaticcall_retire_pokes() }

        // Phase 1: INT3 on every first byte. If this phase fails, put back the first bytes (a span
        // may have been written in part) and report; nothing else has changed.
        do {
            try writePhase(pending.map { TextEdit(address: $0.site.address, bytes: CollectionOfOne(0xcc)) })
        } catch {
            for w in pending { try? write([w.site.current[0]], at: w.site.address) }
            try? Membarrier.syncCore()
            throw error
        }
        try Membarrier.syncCore()
        // Phase 2: the tails, invisible behind the INT3s.
        try writePhase(pending.map { TextEdit(address: $0.site.address + 1, bytes: $0.new[1...]) })
        try Membarrier.syncCore()
        // Phase 3: the new first bytes.
        try writePhase(pending.map { TextEdit(address: $0.site.address, bytes: CollectionOfOne($0.new[0])) })
        try Membarrier.syncCore()
        for w in pending {
            w.site.current = w.new
            debugLog("patched 0x\(String(w.site.address, radix: 16)) (\(w.site.kind.rawValue)) -> \(w.instruction)")
        }
    }

    /// Writes one phase's edits as few spans as possible (one per page; see `TextSpans`). The gap bytes
    /// are read just before the write; only this runtime writes text, under the update lock.
    mutating func writePhase(_ edits: [TextEdit]) throws(SystemError) {
        let spans = TextSpans.coalesce(edits, pageSize: Self.pageSize, maxGap: Int(Self.pageSize)) { readText(at: $0, count: $1) }
        for span in spans { try write(span.bytes, at: span.address) }
    }

    static let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))

    /// Writes with the first writer that works, keeping that one first for the next write.
    mutating func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError) {
        var firstError: SystemError? = nil
        for (i, writer) in writers.enumerated() {
            do {
                try writer.write(bytes, at: address)
                if i > 0 { writers.swapAt(0, i) }
                return
            } catch {
                firstError = firstError ?? error
            }
        }
        throw firstError ?? SystemError("write", errno: 1)
    }

    static func emulation(of instruction: SiteInstruction) -> (UInt32, UInt64) {
        switch instruction {
        case let .call(t): return (CSTATICCALL_EMULATE_CALL.rawValue, t)
        case let .jump(t): return (CSTATICCALL_EMULATE_JUMP.rawValue, t)
        case .nop: return (CSTATICCALL_EMULATE_NOP.rawValue, 0)
        case let .loadConstant(v): return (CSTATICCALL_EMULATE_LOAD.rawValue, v)
        case .ret: return (CSTATICCALL_EMULATE_RET.rawValue, 0)
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { b in b < 16 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined(separator: " ")
}
