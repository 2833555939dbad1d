#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
internal import MachineCode

/// The loaded objects and who owns what in them: each object's cache (its unwind index, file and
/// symbols), which key owns each proven site and each trampoline, and where forwarding targets lead. The
/// object lifecycle lives here: objects are listed from the loader, and forgotten when it unloads them
/// (the analogue of the kernel's static_call_add_module()/static_call_del_module(), found lazily
/// instead of from an objtool section). Used only under the runtime's lock, with the loader's list
/// locked (`KeyRegistry.exclusive`).
final class SiteRegistry {
    /// Every loaded object, except those whose copy of StaticCall reported them unloading.
    private(set) var listed: [LoadedObjectInfo] = []
    /// The loader's generation that `listed` reflects.
    private var generation: Loader.Generation?
    /// Objects being unloaded (their destructors have run; the loader has not unlinked them yet).
    private var dying: [LoadedObjectInfo] = []
    private var objects: [UInt64: ObjectCache] = [:] // by load bias + name hash
    /// The executable ranges of the objects unloaded so far (the last `unloadedKept`): a target in one
    /// of them (a state saved before the unload, restored after) would call unmapped code. Only the
    /// last 64 unloads are remembered; code mapped there since by anything but the loader (a JIT) is
    /// refused as well.
    private var unloadedText: [Range<UInt64>] = []
    private static let unloadedKept = 64
    /// Every proven site, with the key that owns it, by address.
    private var siteOwners: [UInt64: (owner: UInt, site: PatchSite)] = [:]
    private var trampolineOwners: [UInt64: UInt] = [:]
    /// followForwarders() results, by target (see there).
    private var forwarders: [UInt64: UInt64] = [:]
    /// Every proven site of every key, by address (rebuilt when discovery finds or forgets sites).
    private var sortedSites: [PatchSite] = []
    /// `sortedSites`' addresses, in the same order: what a transaction's per-site loops read (an address
    /// read through a class reference in an array costs a retain and a release).
    private var sortedAddresses: [UInt64] = []
    private var sortedSitesStale = false

    /// What `refresh()` found.
    struct Refresh {
        /// The loader's list moved (objects loaded or unloaded).
        var changed = false
        /// Objects were unloaded (their keys must be checked, even if none of them is in `gone`: a
        /// copy of StaticCall may have reported it unloading already, or another object took its place).
        var unloaded = false
        /// Objects the loader unloaded since the last refresh (their keys must be forgotten).
        var gone: [LoadedObjectInfo] = []
    }

    /// Brings `listed` up to date when the loader's generation moved. After an unload, every cache is
    /// dropped but the main executable's (a reloaded object is a new object: its text and unwind tables
    /// may differ); the objects no longer listed are returned.
    func refresh() -> Refresh {
        let now = Loader.generation
        guard now != generation else { return Refresh() }
        let unloaded = generation != nil && generation?.subs != now.subs
        generation = now
        if unloaded { dying = [] } // the loader finished unloading them
        let before = listed
        listed = loadedObjects().filter { !dying.contains($0) }
        forwarders = [:] // a chain may have crossed an object that changed
        guard unloaded else {
            objects = objects.filter { entry in listed.contains(entry.value.info) }
            return Refresh(changed: true)
        }
        // Rebuilt on demand: an object at a familiar address may be another file. The main executable
        // (listed first, with an empty name) is never unloaded: its cache, the costly one, is kept.
        objects = objects.filter { $0.value.info.name.isEmpty && listed.first == $0.value.info }
        let gone = before.filter { !listed.contains($0) }
        noteUnloaded(gone)
        return Refresh(changed: true, unloaded: true, gone: gone)
    }

    /// An image holding a copy of StaticCall is being unloaded (its destructor runs before the loader
    /// unmaps it): it is delisted now. Returns it, or nil if no listed object holds `anchor`.
    func unloading(anchor: UInt64) -> LoadedObjectInfo? {
        guard let info = listed.first(where: { $0.containsLoaded(anchor) }) else { return nil }
        dying.append(info)
        listed.removeAll { $0 == info }
        objects = objects.filter { $0.value.info != info }
        forwarders = [:]
        noteUnloaded([info])
        return info
    }

    private func noteUnloaded(_ gone: [LoadedObjectInfo]) {
        for object in gone {
            unloadedText += object.programHeaders.filter { $0.type == ProgramHeader.load && $0.isExecutable && $0.memorySize > 0 }
                .map { (object.bias &+ $0.virtualAddress)..<(object.bias &+ $0.virtualAddress &+ $0.memorySize) }
        }
        unloadedText = Array(unloadedText.suffix(Self.unloadedKept))
    }

    /// The listed object whose loaded segments hold `address` (a key's storage: its home), or nil.
    func home(of address: UInt64) -> LoadedObjectInfo? { listed.first { $0.containsLoaded(address) } }

    /// Whether `target` was in the text of an unloaded object and no listed object's text holds it now.
    func isUnloadedText(_ target: UInt64) -> Bool {
        unloadedText.contains { $0.contains(target) } && !listed.contains { $0.containsExecutable(target) }
    }

    /// The listed object whose text holds `address` (its cache built on first use), or nil.
    func object(containing address: UInt64) -> ObjectCache? {
        if let hit = objects.values.first(where: { $0.info.containsExecutable(address) }) { return hit }
        guard let info = listed.first(where: { $0.containsExecutable(address) }) else { return nil }
        let cache = ObjectCache(info)
        objects[info.bias ^ UInt64(truncatingIfNeeded: info.name.hashValue)] = cache
        return cache
    }

    // MARK: - Owners

    /// The key that owns the site at `address`, if any.
    func owner(ofSite address: UInt64) -> UInt? { siteOwners[address]?.owner }

    /// Whether a site of key `id` (of any key, when nil) begins within the 16 bytes from `address` (a
    /// forwarder's jump). A binary search of the sorted sites: every update asks it (is the target a
    /// forwarder to the key itself?), and 16 hashed look-ups cost more than the rest of planning a site.
    /// (Near the top of the address space `address &+ 16` wraps and nothing is found: no site is there.)
    func hasSite(of id: UInt? = nil, near address: UInt64) -> Bool {
        let all = siteAddresses
        var lo = 0, hi = all.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if all[mid] < address { lo = mid + 1 } else { hi = mid }
        }
        while lo < all.count && all[lo] < address &+ 16 {
            if id == nil || siteOwners[all[lo]]?.owner == id { return true }
            lo += 1
        }
        return false
    }

    /// Every proven site of every key, sorted by address.
    var sites: [PatchSite] {
        rebuildSortedSites()
        return sortedSites
    }

    /// The addresses of `sites`, in the same order.
    var siteAddresses: [UInt64] {
        rebuildSortedSites()
        return sortedAddresses
    }

    private func rebuildSortedSites() {
        guard sortedSitesStale else { return }
        sortedSites = siteOwners.values.map(\.site).sorted { $0.address < $1.address }
        sortedAddresses = sortedSites.map(\.address)
        sortedSitesStale = false
    }

    /// Forgets what `record` owns (its object was unloaded, or it registers again). Returns the
    /// addresses of its sites.
    func release(_ record: KeyRecord) -> [UInt64] {
        var forgotten: [UInt64] = []
        for site in record.sites where siteOwners[site.address]?.owner == record.id {
            siteOwners[site.address] = nil
            forgotten.append(site.address)
        }
        if !forgotten.isEmpty {
            sortedSitesStale = true
            forwarders = [:] // a remembered chain may end at a released site
        }
        if let t = record.trampoline, trampolineOwners[t] == record.id { trampolineOwners[t] = nil }
        return forgotten
    }

    // MARK: - Forwarders

    /// Follows a target that only forwards (`{ f($0) }` compiles to `jmp f` in -O) to where it goes.
    /// Never past a forwarder whose jump is one of our sites: that jump's bytes change with its own key,
    /// so a site patched past it would keep calling that key's old state. Such a chain ends at the
    /// forwarder itself, whose jump is then always current. (The original jump of a site not yet known
    /// goes to its trampoline, which is not a forwarder: chains discovered later are safe as well.)
    /// Remembered per target (every flush plans every dirty key).
    func followForwarders(_ target: UInt64) -> UInt64 {
        if let known = forwarders[target] { return known }
        var t = target
        for _ in 0..<4 {
            // A forwarder's jump is within its first 14 bytes (endbr64, push/mov/pop frame, jmp).
            if hasSite(near: t) { break }
            guard let cache = object(containing: t), let bytes = cache.functionBytes(startingAt: t),
                  let next = SiteDiscovery.forwardedTarget(bytes, at: t, allowSingleCall: false),
                  cache.info.containsExecutable(next) else { break } // never into another object
            t = next
        }
        forwarders[target] = t
        return t
    }

    /// Whether a sanitizer or coverage runtime is in the process (its entry points are exported), so that
    /// forwarders may be longer than a jump. Elsewhere a short function that calls the key is the user's
    /// own (a recursive target such as `{ n in n < 2 ? n : fib(n - 1) }`), not a forwarder.
    private static let isInstrumented: Bool = ["__tsan_func_entry", "__asan_init", "__msan_init", "__ubsan_handle_add_overflow",
                                               "__llvm_profile_runtime", "__sanitizer_cov_trace_pc_guard"].contains { (name: String) in
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) != nil
    }

    /// The key's forwarder in an instrumented build: a short function (instrumentation calls around one
    /// call of the key) that holds one of the key's own sites past the first 16 bytes. As a target it
    /// would call the key forever.
    func isInstrumentedForwarder(_ a: UInt64, of record: KeyRecord) -> Bool {
        guard Self.isInstrumented, let range = object(containing: a)?.function(containing: a), range.start == a, range.end &- range.start <= 96 else {
            return false
        }
        return record.sites.contains { range.contains($0.address) }
    }

    // MARK: - Discovery

    /// An instrumented build (sanitizers, coverage) or an unoptimized one adds calls to the thunk and to
    /// the key's forwarder, so following jumps can end at the forwarder, or nowhere. A function with more
    /// than one direct branch target is checked against the symbol table (read only then): the
    /// trampoline is the one function among it and its targets whose symbol is this key's trampoline.
    /// Without such a symbol (a stripped file) the function found is kept, or nil.
    private func trampolineBySymbol(from function: UInt64, of record: KeyRecord) -> UInt64? {
        guard let object = object(containing: function), let bytes = object.functionBytes(startingAt: function) else {
            return function == record.trampolineThunk ? nil : function
        }
        let targets = SiteDiscovery.directBranchTargets(bytes, at: function) ?? []
        let plain = function != record.trampolineThunk
        guard targets.count > 1 || !plain else { return function }
        if let found = TrampolineSymbol.trampoline(of: record.name, among: targets.union([function]), symbolsAt: { object.trampolineSymbols[$0] ?? [] }) {
            return found
        }
        if plain { return function }
        // The thunk itself is instrumented: its targets may be the (instrumented) forwarder. One level more.
        var found: Set<UInt64> = []
        for target in targets {
            guard let owner = self.object(containing: target), let body = owner.functionBytes(startingAt: target),
                  let next = SiteDiscovery.directBranchTargets(body, at: target),
                  let t = TrampolineSymbol.trampoline(of: record.name, among: next, symbolsAt: { owner.trampolineSymbols[$0] ?? [] }) else { continue }
            found.insert(t)
        }
        return found.count == 1 ? found.first : nil
    }

    /// Finds each record's trampoline and proves its sites (marking the records discovered). A key whose
    /// trampoline cannot be found, or is shared with another key, gets a `problem`. Returns the keys
    /// already patched that a conflict found here sends back to their trampolines (`owner` gives a key by
    /// id), and whether any site was found.
    func discover(_ records: [KeyRecord], owner: (UInt) -> KeyRecord?) -> (sentBack: [UInt], foundSites: Bool) {
        var sentBack: [UInt] = []
        var foundSites = false
        guard Engine.isBuilt else { // nothing to find: the mode's reason says why
            for record in records { record.discovered = true }
            return (sentBack, foundSites)
        }
        var byObject: [ObjectIdentifier: (ObjectCache, [KeyRecord])] = [:]
        for record in records {
            record.discovered = true
            guard let thunkObject = object(containing: record.trampolineThunk),
                  let thunk = thunkObject.functionBytes(startingAt: record.trampolineThunk) else {
                record.problem = "the trampoline thunk 0x\(String(record.trampolineThunk, radix: 16)) is not a known function"
                continue
            }
            // -O: the thunk is `jmp trampoline`; -Onone: its only direct call is to the trampoline.
            // The optimizer may route the thunk through the public forwarder (`jmp f` where f is `jmp
            // trampoline`): follow pure forwarders to the function that is not one.
            let forwarded = SiteDiscovery.forwardedTarget(thunk, at: record.trampolineThunk, allowSingleCall: true)
                .map { trampolineBySymbol(from: followForwarders($0), of: record) }
                ?? trampolineBySymbol(from: record.trampolineThunk, of: record)
            guard let trampoline = forwarded,
                  let object = object(containing: trampoline), object.functionBytes(startingAt: trampoline) != nil else {
                let targets = SiteDiscovery.directBranchTargets(thunk, at: record.trampolineThunk) ?? []
                let specialized = targets.contains { target in
                    (thunkObject.trampolineSymbols[target] ?? []).contains {
                        TrampolineSymbol.specializedTrampoline($0).map { TrampolineSymbol.symbol($0, canBelongTo: record.name) } ?? false
                    }
                }
                record.problem = specialized
                    ? "the optimizer specialized its trampoline (as for an existential parameter not written with `any`): "
                        + "its call sites call a copy with another signature, which no target of the key has"
                    : "could not find the trampoline from its thunk at 0x\(String(record.trampolineThunk, radix: 16)) "
                        + "(not a plain jump, as in an instrumented build, and no single target of it has a trampoline's symbol: a stripped file?)"
                continue
            }
            // Two keys resolving to one trampoline means the optimizer merged their slow paths: no site
            // of it could be patched for one key without breaking the other. Both stay indirect.
            if let ownerID = trampolineOwners[trampoline], ownerID != record.id, let other = owner(ownerID) {
                record.problem = "its trampoline 0x\(String(trampoline, radix: 16)) is shared with \(other.name) (merged by the optimizer)"
                if other.problem == nil {
                    other.problem = "its trampoline 0x\(String(trampoline, radix: 16)) is shared with \(record.name) (merged by the optimizer)"
                    sentBack.append(ownerID)
                }
                continue
            }
            trampolineOwners[trampoline] = record.id
            record.trampoline = trampoline
            record.thunkRange = thunkObject.function(containing: record.trampolineThunk)
            let key = ObjectIdentifier(object)
            byObject[key, default: (object, [])].1.append(record)
        }
        // Direct calls never cross objects (those go through the PLT), so each trampoline's sites are
        // in its own object: one scan per object for all its new keys.
        for (_, (object, group)) in byObject {
            let byTrampoline = Dictionary(grouping: group, by: { $0.trampoline! })
            for (candidate, proof) in object.discover(trampolines: Array(byTrampoline.keys)) {
                guard let record = byTrampoline[candidate.trampoline]?.first else { continue }
                if let ownerID = siteOwners[candidate.address]?.owner, ownerID != record.id { continue }
                // The registration thunk's own jump is not a call site of the program.
                if record.thunkRange?.contains(candidate.address) == true { continue }
                switch proof {
                case let .proven(function):
                    let bytes = readSite(at: candidate.address)
                    let branch = candidate.kind == .call ? object.finder.image.bytes(of: function).flatMap {
                        SiteBranch.analyse(function: $0, start: function.start, site: candidate.address, isSite: { self.siteOwners[$0] != nil })
                    } : nil
                    let site = PatchSite(address: candidate.address, kind: candidate.kind, original: bytes, branch: branch,
                                         text: object.info.executableRange, image: object.info.loadedRange)
                    record.sites.append(site)
                    siteOwners[candidate.address] = (record.id, site)
                    foundSites = true
                    sortedSitesStale = true
                    forwarders = [:] // a remembered chain may end past this new site
                case let .unproven(reason):
                    record.unproven.append((candidate.address, reason))
                    debugLog("\(record.name): candidate 0x\(String(candidate.address, radix: 16)) not proven: \(reason)")
                }
            }
            for record in group {
                debugLog("\(record.name): trampoline 0x\(String(record.trampoline!, radix: 16)) in \(object.displayName): \(record.sites.count) sites proven, \(record.unproven.count) unproven")
            }
        }
        return (sentBack, foundSites)
    }
}
