/// The one rule for recognising a key's trampoline by its symbol, shared by the runtime (instrumented
/// builds, where the registration thunk is no longer a bare `jmp`) and `staticcall sites`.
///
/// The macros name each trampoline `__dtrace_staticcall_<type>_<name>_<hash>` (static keys:
/// `__dtrace_staticcall_key_<name>_<hash>`) and its slow path the same with `_slow`; the library's
/// dispatch function is `__dtrace_staticcall_dispatch`. Only the first kind has call sites to patch.
public enum TrampolineSymbol {
    /// Every symbol of the family starts with this (the `__dtrace` prefix keeps LLVM's function merging
    /// away from the trampoline and its callers).
    public static let prefix = "__dtrace_staticcall_"

    /// The slow path's suffix: a trampoline's own tail jump goes there, and it is not a key.
    public static let slowPathSuffix = "_slow"

    /// The library's shared dispatch function, called from every slow path.
    public static let dispatch = "__dtrace_staticcall_dispatch"

    /// Whether `symbol` names a key's trampoline (not its slow path, not the dispatch function).
    public static func isTrampoline(_ symbol: String) -> Bool {
        symbol.hasPrefix(prefix) && !symbol.hasSuffix(slowPathSuffix) && symbol != dispatch
    }

    /// Whether a trampoline symbol can belong to the key named `keyName` as the report names it
    /// (`checksum(_:)`, `Codec.encode(_:)`, `Logging.verbose`): its name part, without the prefix, the
    /// static-key marker and the uniqueness suffix, ends with the key's base name.
    public static func symbol(_ symbol: String, canBelongTo keyName: String) -> Bool {
        guard isTrampoline(symbol) else { return false }
        var rest = Substring(symbol.dropFirst(prefix.count))
        if let underscore = rest.lastIndex(of: "_") {
            let tail = rest[rest.index(after: underscore)...]
            if (8...16).contains(tail.count), tail.allSatisfy(\.isHexDigit) { rest = rest[..<underscore] }
        }
        if rest.hasPrefix("key_") { rest = rest.dropFirst(4) }
        let base = keyName.prefix { $0 != "(" }
        let last = base.split(separator: ".").last.map(String.init) ?? String(base)
        return rest == last || rest.hasSuffix("_" + last)
    }

    /// The trampoline of the key named `keyName` among `candidates` (a function and the targets of its
    /// direct branches): the one candidate whose symbol is that key's trampoline. Nil when none or more
    /// than one is (never a guess).
    public static func trampoline(of keyName: String, among candidates: Set<UInt64>, symbolAt: (UInt64) -> String?) -> UInt64? {
        let named = candidates.filter { symbolAt($0).map { symbol($0, canBelongTo: keyName) } ?? false }
        return named.count == 1 ? named.first : nil
    }
}
