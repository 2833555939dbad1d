internal import MachineCode

/// What one proven site holds, set only where its bytes are decided: when a transaction plans it and
/// when a transaction writes it (or fails to); sites found in indirect mode say so at discovery. `StaticCalls.report()` reads it; nothing
/// re-plans a site to explain it, so "why" has one source.
enum SiteStatus: Equatable {
    /// Holds its key's state inline: a direct call or jump to the target, a NOP, a constant load.
    case inline
    /// Holds a call or jump to the key's trampoline (the compiler's own instruction), for `reason`.
    case onTrampoline(SiteReason)
    /// The last write did not happen: the site holds what it held before (its previous whole
    /// instruction, or its original one if a failed page remap gave the file's bytes back), or an INT3
    /// whose handler emulates the new state (left trapped by a failed INT3 transaction, until a later
    /// transaction finishes it).
    case leftAlone(SiteReason)

    /// Why the site does not hold its key's state inline (nil when it does).
    var reason: SiteReason? {
        switch self {
        case .inline: return nil
        case let .onTrampoline(reason), let .leftAlone(reason): return reason
        }
    }
}

/// Why a site is not inline. Rendered to text only for the report and the warnings (`description(...)`).
enum SiteReason: Equatable {
    /// Found, not yet planned (found by the self-call check of an update inside a batch, which plans
    /// nothing until the batch ends).
    case notYetPatched
    /// The process runs in indirect mode; the capability's reason says why.
    case indirectMode
    /// The key cannot be patched at all (`KeyRecord.problem`: a merged or unfound trampoline).
    case keyProblem
    /// The planner keeps the site on its trampoline (a target out of reach, a constant that needs more
    /// than one instruction); its words, with why no far-jump stub exists when that is the cause.
    case planner(String)
    /// The planned instruction has no encoding at the site (never seen: a planner bug, not a crash).
    case cannotEncode(String)
    /// The live bytes were neither ours nor the new ones: someone else changed them.
    case bytesChanged(expected: [UInt8], found: [UInt8])
    /// Every writer refused or failed (page remap, then INT3), in their words.
    case writeFailed(String)
    /// A failed page remap gave the site back the file's bytes (its original call).
    case revertedToFile(String)

    /// The text of the report and of warnings. `problem` is the key's `problem`; `indirectReason` the
    /// capability's reason when the mode is indirect.
    func description(problem: String? = nil, indirectReason: String? = nil) -> String {
        switch self {
        case .notYetPatched: return "not yet patched"
        case .indirectMode: return "indirect mode: \(indirectReason ?? "inline patching unavailable")"
        case .keyProblem: return problem ?? "the key cannot be patched"
        case let .planner(why): return why
        case let .cannotEncode(instruction): return "cannot encode \(instruction)"
        case let .bytesChanged(expected, found): return "bytes changed under us (expected \(X86.hex(expected)), found \(X86.hex(found))); left alone"
        case let .writeFailed(why): return why
        case let .revertedToFile(why): return why
        }
    }
}
