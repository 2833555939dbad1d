internal import MachineCode

/// Builds `StaticCalls.report()` from the registry's records as they are: each site's status, set when
/// a transaction planned or wrote it, says whether it is inline and why not (nothing is re-planned).
enum ReportBuilder {
    /// The report of `records` (in registration order). `targetName` names a target address (followed
    /// through forwarders, symbolized).
    static func report(_ records: [KeyRecord], capability: Capability, targetName: (UInt64) -> String) -> StaticCallReport {
        let entries = records.map { record -> StaticCallReport.Key in
            let target: String
            switch record.state {
            case let .target(t) where t == record.defaultTarget: target = "<default body>"
            case let .target(t): target = targetName(t)
            case .disabled: target = "<disabled>"
            case let .constant(bits, width): target = "<constant \(render(bits, width))>"
            }
            let inline = capability.mode == .inline && record.problem == nil
            var patched: [UInt] = []
            var unpatched: [(address: UInt, reason: String)] = []
            for site in record.sites {
                if inline && site.status == .inline {
                    patched.append(UInt(site.address))
                } else {
                    // A key with a problem is explained by it wherever its sites have not been planned since
                    // (inline bytes, or found by a check inside a batch): they go back to the trampoline at
                    // its next transaction.
                    var reason = site.status.reason ?? .keyProblem
                    if record.problem != nil && (reason == .notYetPatched || reason == .indirectMode) { reason = .keyProblem }
                    unpatched.append((UInt(site.address), reason.description(problem: record.problem, indirectReason: capability.reason)))
                }
            }
            unpatched += record.unproven.map { (UInt($0.address), $0.reason) }
            return StaticCallReport.Key(
                name: record.name, target: target, mode: inline ? .inline : .indirect,
                sitesFound: record.sites.count + record.unproven.count, sitesPatched: patched.count, patchedSites: patched,
                unpatched: unpatched, updates: record.updates,
                slowPathCalls: Int(record.storage.pointee._slowPathCalls.load(ordering: .relaxed)),
                problem: record.problem, notes: record.notes)
        }
        return StaticCallReport(keys: entries, mode: capability.mode, reason: capability.reason,
                                writer: capability.writer,
                                emulatedTraps: TrapHandler.emulatedTraps, lateTraps: TrapHandler.lateTraps)
    }

    /// A constant as the report and a state's description print it: signed, at its width.
    static func render(_ bits: UInt64, _ width: ConstantWidth) -> String {
        switch width {
        case .bits8: return String(Int8(truncatingIfNeeded: bits))
        case .bits16: return String(Int16(truncatingIfNeeded: bits))
        case .bits32: return String(Int32(truncatingIfNeeded: bits))
        case .bits64: return String(Int64(bitPattern: bits))
        }
    }
}
