#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import CStaticCall
internal import MachineCode

/// The kernel's text_poke_bp() batch protocol, for this process: the fallback for objects whose pages
/// cannot be remapped (see `PageRemapper`).
///
/// 1. publish the in-flight table, then write `CC` (INT3) at every site's first byte; sync;
/// 2. write bytes 1–4 of every site; sync;
/// 3. write every site's new first byte; sync;
/// 4. withdraw the table once no SIGTRAP handler can still be reading it.
///
/// A thread that executes a site meanwhile either runs the old instruction, traps on the INT3 (and the
/// handler emulates the *new* instruction), or runs the new instruction: never a mix of bytes. "Sync" is
/// `membarrier(PRIVATE_EXPEDITED_SYNC_CORE)`.
///
/// The protocol relies on every thread being able to take SIGTRAP, so it runs only when `refusal()`
/// finds no thread blocking it, no handler masking it and no tracer. A thread that blocks SIGTRAP in the
/// instant between that check and the end of the transaction, and runs a site meanwhile, is the race that
/// remains (page remapping has none).
///
/// Without membarrier there is no sync, and no other barrier stands in for it: the TLB shootdown of an
/// `mprotect` is not one (AMD CPUs with INVLPGB invalidate without interrupting anyone since Linux 6.15,
/// and CPUs in lazy-TLB mode are skipped), so the protocol is refused. Page remapping needs no barrier.
///
/// A transaction never ends with an INT3 in the text that the table does not cover: a site whose
/// transaction failed after its INT3 was written either gets its previous first byte back (before any
/// tail byte changed) or stays *trapped* — its INT3 kept, its table entry emulating the key's current
/// state — until a later transaction (or a page remap) finishes it.
final class Int3Patcher {
    private let mem: ProcSelfMem
    private var writers: [TextWriter] = []
    private var setUpRefusal: String??
    private var membarrierRegistered = false
    /// Sites left holding an INT3 by a failed transaction, with the instruction the handler emulates.
    private(set) var trapped: [UInt64: cstaticcall_poke] = [:]
    /// Set when sites were discovered: the handler's known-site set must be republished before any
    /// INT3 is written at a new site (a late trap there must be recognised as ours).
    var knownSitesStale = true

    init(mem: ProcSelfMem) { self.mem = mem }

    /// The writer in use, once set up.
    var writerName: String? { writers.first.map { "int3 (\($0.name))" } }

    /// Prepares the protocol once: a user shadow stack excludes it, membarrier must register, and one
    /// writer must work — `/proc/self/mem` first, the `mprotect` writer (a W+X window) only if that is
    /// refused. Returns why the protocol cannot run in this process, or nil.
    func setUp() -> String? {
        if let known = setUpRefusal { return known }
        let refusal = probe()
        setUpRefusal = .some(refusal)
        return refusal
    }

    private func probe() -> String? {
        #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
        if TrapHandler.shadowStackEnabled {
            return "user shadow stack (CET) is enabled: emulating a call from the trap handler would break its return"
        }
        do { try Membarrier.registerSyncCore() } catch { return "\(error)" }
        membarrierRegistered = true
        // Probe by rewriting the first byte of a function that is never called with itself.
        let probe = ShimFunctions.probe
        let same = readText(at: probe, count: 1)
        var refusals: [String] = []
        let candidates: [TextWriter] = [ProcSelfMemWriter(mem), MProtectWriter()]
        for (i, writer) in candidates.enumerated() {
            do {
                try writer.write(same, at: probe)
                if let stuck = (writer as? MProtectWriter)?.leftWritable {
                    refusals.append(stuck)
                    continue
                }
                // The others stay behind it, untried: a writer is tried only when the one before it fails.
                writers = [writer] + candidates[(i + 1)...]
                return nil
            } catch {
                refusals.append("\(error)")
            }
        }
        return "the kernel refuses text writes (\(refusals.joined(separator: "; ")))"
        #else
        return "the INT3 protocol is implemented for x86-64 Linux only"
        #endif
    }

    /// In a child process after fork: membarrier registration belongs to the parent's address space.
    func resetAfterFork() {
        membarrierRegistered = false
        TrapHandler.resetAfterFork()
    }

    /// Why the protocol may not run right now, or nil. Checked before every transaction: the handler is
    /// (re)installed, the known-site set published, and no thread, handler or tracer could turn an INT3
    /// into a death.
    func refusal(allSites: () -> [UInt64]) -> String? {
        if let refusal = setUp() { return refusal }
        if !membarrierRegistered {
            do { try Membarrier.registerSyncCore() } catch { return "\(error)" }
            membarrierRegistered = true
        }
        do { try TrapHandler.install() } catch { return "\(error)" }
        if knownSitesStale {
            do { try TrapHandler.setKnownSites(allSites()) } catch { return "\(error)" }
            knownSitesStale = false
        }
        // Every thread but this one (which runs no site while it patches): one that blocks SIGTRAP
        // would die at an INT3, and a tracer (TracerPid is per thread) would stop it there.
        do {
            let me = ProcFS.currentThreadID
            let others = try ProcFS.threadStatuses().filter { $0.id != me }
            if let traced = others.first(where: { ($0.status.tracerPid ?? 0) != 0 }) {
                return "a tracer (pid \(traced.status.tracerPid!)) is attached to thread \(traced.id): it would stop the thread at every INT3"
            }
            let blocking = others.filter { $0.status.blocks(SIGTRAP) }.map(\.id)
            if !blocking.isEmpty {
                return "thread\(blocking.count == 1 ? "" : "s") \(blocking.map(String.init).joined(separator: ", ")) block\(blocking.count == 1 ? "s" : "") SIGTRAP: an INT3 there would kill the process"
            }
        } catch {
            return "cannot read the threads' status (\(error))"
        }
        if let signal = TrapHandler.handlerMaskingTrap() {
            return "the handler of signal \(signal) blocks SIGTRAP while it runs: an INT3 reached from it would kill the process"
        }
        return nil
    }

    /// Applies `pending` (none of them already holding its new bytes). Returns the sites that did not
    /// get their new bytes, each with why; every site ends holding a whole instruction or trapped.
    func apply(_ pending: [PlannedWrite]) -> [(PlannedWrite, String)] {
        // Trapped sites among these: from now on their entries emulate the new state, whatever happens.
        var table = trapped
        for w in pending { table[w.site.address] = Self.poke(w) }
        if let error = publish(table) {
            return pending.map { ($0, "\(error)") }
        }
        defer {
            // The table the handler emulates goes back to the sites still trapped. If that fails, entries
            // for sites finished here stay in it: harmless (the handler only emulates an INT3 it finds at
            // a listed address, and these hold none), but said.
            if let error = publish(trapped) { debugLog("INT3: the trapped-site table was not trimmed: \(error)") }
        }

        // Phase 1: INT3 on every first byte. On failure no tail has changed, so putting each first byte
        // back (one byte: atomic for every thread) is safe without a sync.
        do {
            try writePhase(pending.map { TextEdit(address: $0.site.address, bytes: CollectionOfOne(0xcc)) })
            try Membarrier.syncCore()
        } catch {
            membarrierRegistered = false // registered again (or refused) before the next transaction
            return restoreFirstBytes(pending, after: "\(error)")
        }
        // Phase 2: the tails, invisible behind the INT3s every thread has now seen. Without the sync
        // that follows, no first byte may change: the sites stay trapped.
        do {
            try writePhase(pending.map { TextEdit(address: $0.site.address + 1, bytes: $0.new, range: 1..<5) })
            try Membarrier.syncCore()
        } catch {
            membarrierRegistered = false
            return pending.map { w in
                w.site.current = readSite(at: w.site.address)
                trapped[w.site.address] = Self.poke(w)
                return (w, "trapped: the site holds an INT3 and the SIGTRAP handler emulates the current state (update failed mid-patch: \(error))")
            }
        }
        // Phase 3: the new first bytes.
        var failures: [(PlannedWrite, String)] = []
        do {
            try writePhase(pending.map { TextEdit(address: $0.site.address, bytes: CollectionOfOne($0.new[0])) })
        } catch {
            for w in pending where !textEquals(at: w.site.address, w.new) {
                w.site.current = readSite(at: w.site.address)
                trapped[w.site.address] = Self.poke(w)
                failures.append((w, "trapped: the site holds an INT3 and the SIGTRAP handler emulates the current state (update failed mid-patch: \(error))"))
            }
        }
        // A thread still seeing an INT3 after this sync fails traps late, finds the whole instruction and
        // resumes at it, so a failed last sync leaves nothing wrong.
        do { try Membarrier.syncCore() } catch { debugLog("last sync of a transaction failed (\(error)); late traps resume") }
        for w in pending where textEquals(at: w.site.address, w.new) {
            w.site.current = w.new
            trapped[w.site.address] = nil
            debugLog("patched 0x\(String(w.site.address, radix: 16)) (\(w.site.kind.rawValue)) -> \(w.instruction) [int3]")
        }
        return failures
    }

    /// Points the entries of trapped sites among `pending` at their new instructions (no text is
    /// written), before anything else happens in a transaction: a trapped site must follow its key's
    /// state even when the transaction cannot write it. Returns the error if the table could not be
    /// published.
    func retarget(_ pending: some Sequence<PlannedWrite>) -> SystemError? {
        guard !trapped.isEmpty else { return nil } // the usual case: a look-up per site saved
        var changed = false
        for w in pending where trapped[w.site.address] != nil {
            trapped[w.site.address] = Self.poke(w)
            changed = true
        }
        return changed ? publish(trapped) : nil
    }

    /// Sites finished by other means (a page remap): their INT3 is gone, so is their entry.
    func resolved(_ addresses: some Sequence<UInt64>) {
        guard !trapped.isEmpty else { return }
        var changed = false
        for a in addresses where trapped.removeValue(forKey: a) != nil { changed = true }
        if changed, let error = publish(trapped) {
            // Stale entries only (see `apply`): the sites removed hold no INT3 any more.
            debugLog("INT3: the trapped-site table was not trimmed: \(error)")
        }
    }

    /// The sites of an unloaded object: their trapped entries are withdrawn and the known-site set is
    /// republished without them (an address there may hold another object's code, or a debugger's INT3).
    func forget(_ addresses: [UInt64], allSites: [UInt64]) {
        resolved(addresses)
        knownSitesStale = true
        // A failure leaves the set marked stale: the next INT3 transaction publishes it before it starts.
        if membarrierRegistered {
            do { try TrapHandler.setKnownSites(allSites); knownSitesStale = false } catch { debugLog("INT3: known sites not republished: \(error)") }
        }
    }

    /// Phase 1 failed: give each site its previous first byte back; one that cannot stays trapped.
    private func restoreFirstBytes(_ pending: [PlannedWrite], after error: String) -> [(PlannedWrite, String)] {
        pending.map { w in
            let previous = w.site.current[0]
            if readSite(at: w.site.address)[0] != previous {
                // A failed write is not lost: the bytes are read back below, and a site still holding its
                // INT3 stays trapped, emulated.
                do { try write([previous], at: w.site.address) } catch { debugLog("INT3: first byte not restored at 0x\(String(w.site.address, radix: 16)): \(error)") }
            }
            w.site.current = readSite(at: w.site.address)
            if w.site.current[0] == 0xcc {
                trapped[w.site.address] = Self.poke(w)
                return (w, "trapped: the site holds an INT3 and the SIGTRAP handler emulates the current state (update failed: \(error))")
            }
            trapped[w.site.address] = nil
            return (w, "update not applied (\(error)); the site keeps its previous instruction")
        }
    }

    private func publish(_ table: [UInt64: cstaticcall_poke]) -> SystemError? {
        do { try TrapHandler.publish(table.values.sorted { $0.site < $1.site }) } catch { return error }
        return nil
    }

    /// Writes one phase's edits as few spans as possible (one per page; see `TextSpans`). The gap bytes
    /// are read just before the write; only this runtime writes text, under the update lock.
    private func writePhase(_ edits: [TextEdit]) throws(SystemError) {
        let spans = TextSpans.coalesce(edits, pageSize: PageRemapper.pageSize, maxGap: Int(PageRemapper.pageSize)) { readText(at: $0, count: $1) }
        for span in spans { try write(span.bytes, at: span.address) }
    }

    /// Writes with the first writer that works, keeping that one first for the next write.
    private func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError) {
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
        throw firstError ?? SystemError("write", errno: ENOSYS)
    }

    static func poke(_ w: PlannedWrite) -> cstaticcall_poke {
        let (emulation, operand) = emulation(of: w.instruction)
        return cstaticcall_poke(site: UInt(w.site.address), operand: UInt(operand), emulation: emulation, reserved: 0)
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
