internal import MachineCode

/// One patchable site of a key: a proven `call`/`jmp rel32` to its trampoline.
final class PatchSite {
    let address: UInt64
    let kind: SiteKind
    /// The bytes the compiler emitted: the call or jump to the trampoline, which is always correct.
    let original: SiteBytes
    /// `original` decoded (recognised once: planning runs at every update).
    let originalInstruction: SiteInstruction?
    /// The key branch the call feeds, where a `jmp` may replace it (`SiteBranch`), if proven.
    let branch: SiteBranch?
    /// What the site holds now (as last written by us).
    var current: SiteBytes
    /// What the site holds, and why when it is not its key's state inline.
    var status: SiteStatus = .onTrampoline(.notYetPatched)
    /// The text of the site's object: where far-jump stubs for it must be placed.
    let text: Range<UInt64>?
    /// All of the object's segments: stub pages are tried just below and just above it first.
    let image: Range<UInt64>?

    init(address: UInt64, kind: SiteKind, original: SiteBytes, branch: SiteBranch? = nil,
         text: Range<UInt64>? = nil, image: Range<UInt64>? = nil) {
        self.address = address
        self.branch = branch
        self.text = text
        self.image = image
        self.kind = kind
        self.original = original
        self.originalInstruction = SiteInstruction.recognise(original, at: address)
        self.current = original
    }

    /// Records that the site holds `bytes`, in `status`. Inline before and after (the usual update)
    /// assigns no status: copying and destroying one (an enum with string payloads) cost more than the
    /// rest of a transaction's work for the site.
    func settle(_ bytes: SiteBytes, _ status: SiteStatus) {
        current = bytes
        if case .inline = status, case .inline = self.status { return }
        self.status = status
    }
}

/// The registry's record of one key (the kernel's static_call_key plus its site list).
final class KeyRecord {
    let storage: UnsafePointer<StaticCallStorage>
    let name: String
    /// The address the generated code passed for the trampoline: a thunk that forwards to it.
    let trampolineThunk: UInt64
    let defaultTarget: UInt64
    let capabilities: StaticCallCapabilities

    /// The trampoline itself, once resolved from the thunk.
    var trampoline: UInt64?
    var thunkRange: FunctionRange?
    var state: KeyState
    var sites: [PatchSite] = []
    var unproven: [(address: UInt64, reason: String)] = []
    var updates = 0
    /// For static keys: the static_key_slow_inc()/dec() count; the key is enabled while it is > 0.
    var enableCount = 0
    /// Whether a disagreement about this static key (see `KeyRegistry.adjustStaticKey`) was warned about.
    var misuseWarned = false
    var discovered = false
    /// Why this key's sites cannot be patched at all (then it runs in indirect mode), if so.
    var problem: String?
    /// The loaded object whose data holds the key's storage (nil if none does): the key lives as long as
    /// that object (the kernel's static_call_mod).
    var home: LoadedObjectInfo?
    /// Things that happened to the key that its owner should know (a target unloaded under it): the last
    /// `notesKept`.
    var notes: [String] = []
    static let notesKept = 8
    /// The trampoline's jump (generated beside the key, statically `slowPath`), once handed over: the
    /// runtime keeps it equal to `entryWord(for:)` of the storage word.
    var entry: UnsafeMutablePointer<UInt>?
    /// The slow path's address: what the trampoline jumps to while the key holds no plain target.
    var slowPath: UInt = 0

    init(storage: UnsafePointer<StaticCallStorage>, name: String, trampolineThunk: UInt64, defaultTarget: UInt64,
         capabilities: StaticCallCapabilities) {
        self.storage = storage
        self.name = name
        self.trampolineThunk = trampolineThunk
        self.defaultTarget = defaultTarget
        self.capabilities = capabilities
        self.state = .target(defaultTarget)
    }

    var id: UInt { UInt(bitPattern: storage) }

    /// The storage word that encodes `state`, with a target given as `follow` follows it.
    func word(statistics: Bool, follow: (UInt64) -> UInt64 = { $0 }) -> UInt {
        let w: UInt
        switch state {
        case let .target(t): w = UInt(follow(t))
        case .disabled: w = StaticCallStorage.disabledWord
        case .constant: w = StaticCallStorage.constantWord
        }
        return statistics ? w | StaticCallStorage.statisticsBit : w
    }

    /// Where the trampoline jumps while the storage holds `word`: the target itself when the word is a
    /// plain target (no counting), else the slow path, which reads the word (pure).
    static func entryWord(for word: UInt, slowPath: UInt) -> UInt {
        StaticCallStorage.isDirectTarget(word) ? word : slowPath
    }
}
