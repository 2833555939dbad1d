internal import MachineCode

/// What this process can do, decided once, at the runtime's first entry (the analogue of the kernel's
/// boot-time feature checks).
struct Capability {
    var mode: StaticCallMode
    var reason: String?
    /// How text is written: "page-remap (…)" or "int3 (…)".
    var writer: String?

    /// Decides the mode: page remapping, probed on the page of a function of our own that is never
    /// called (rewritten with its own bytes); else the INT3 protocol (whose writers are probed one at a
    /// time, `mprotect` only if `/proc/self/mem` is refused); else indirect, with every reason. Sets up
    /// `transaction`'s writers as it goes. `object(containing:)` gives the loaded object holding an address.
    static func probe(_ transaction: PatchTransaction, object: (UInt64) -> ObjectCache?) -> Capability {
        #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
        if Environment.modeCap == .indirect { return Capability(mode: .indirect, reason: "STATICCALL_MODE=indirect", writer: nil) }
        if let reason = ProcessRuntime.incompatibility { return Capability(mode: .indirect, reason: reason, writer: nil) }
        guard let remapRefusal = probeRemap(transaction.remapper, object: object) else {
            return Capability(mode: .inline, reason: nil, writer: transaction.remapper.name)
        }
        transaction.remapRefusal = remapRefusal
        if let int3Refusal = transaction.int3.setUp() {
            return Capability(mode: .indirect, reason: "page remap refused (\(remapRefusal)); INT3 protocol refused (\(int3Refusal))", writer: nil)
        }
        return Capability(mode: .inline, reason: "page remap refused (\(remapRefusal)); using the INT3 protocol", writer: transaction.int3.writerName)
        #else
        _ = Environment.modeCap // read (and a misspelling warned about) on every platform
        return Capability(mode: .indirect, reason: "inline patching is implemented for x86-64 Linux with glibc only; this build is the portable one", writer: nil)
        #endif
    }

    /// Why pages cannot be remapped in this process, or nil once a page of our own has been (replaced by
    /// the file's own bytes: the probe page holds no patched site yet). A transient error (descriptors or
    /// memory short for a moment) is tried again, twice.
    private static func probeRemap(_ remapper: PageRemapper, object: (UInt64) -> ObjectCache?) -> String? {
        let probe = ShimFunctions.probe
        let page = PageRemapper.pageSize
        var attempt = 0
        while true {
            attempt += 1
            guard probe != 0, let object = object(probe) else { return "the probe function is in no loaded object" }
            do throws(PatchError) {
                let file = try object.mappedFile.get()
                let start = probe & ~(page - 1)
                guard let location = file.location(of: start, pageSize: page) else { return "the probe function is outside \(file.path)'s text" }
                // One edit, the probe function's own first byte, so that filling the new page is tried too.
                try remapper.replace(at: start, size: Int(page), file: file, offset: location.offset,
                                     edits: [TextEdit(address: probe, bytes: readText(at: probe, count: 1))]) {
                    PatchTransaction.foreignDifferences($0, live: start, sites: [])
                }
                return nil
            } catch {
                if !error.isTransient || attempt == 3 { return "\(error)" }
            }
        }
    }

    /// The line the debug log gets once the mode is decided.
    var logLine: String {
        "mode \(mode)\(reason.map { " (\($0))" } ?? "")\(writer.map { ", writer \($0)" } ?? "")"
    }
}
