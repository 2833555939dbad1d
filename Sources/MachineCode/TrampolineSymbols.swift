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

    /// Whether a function symbol is a key's registration thunk: the closure the macros hand the runtime as
    /// the trampoline's address (inside `_staticcallKey_<name>.trampolineAddress()`, or inside a static
    /// key's `_statickeyRegister_<name>()`). Its branch to the trampoline is not a call site of the
    /// program: the runtime knows the thunk from the registration and never patches it; an offline reader
    /// knows it by this name. (In -O the thunk is usually folded into another function and has no branch
    /// of its own; in -Onone it calls the trampoline.) Read from the demangled name: the mangled one
    /// compresses words the module or type names repeat.
    public static func isRegistrationThunk(_ functionSymbol: String) -> Bool {
        // Only explicit closures (`…fU_`, possibly with a specialization suffix) are demangled.
        guard functionSymbol.contains("fU_"), let name = SwiftSymbols.demangle(functionSymbol), name.contains("closure #") else {
            return false
        }
        return (name.contains("._staticcallKey_") && name.contains("trampolineAddress")) || name.contains("._statickeyRegister_")
    }

    /// The trampoline a specialized copy was made from: the optimizer names a copy of a function with an
    /// unmangled symbol `$s<length><symbol><specialization>` (`$s45__dtrace_staticcall_area_…Tf4e_n`, the
    /// existential specializer's copy taking the opened value). Nil for any other symbol, and for copies
    /// of slow paths.
    public static func specializedTrampoline(_ symbol: String) -> String? {
        guard symbol.hasPrefix("$s") else { return nil }
        let digits = symbol.dropFirst(2).prefix { $0.isASCII && $0.isNumber }
        guard let length = Int(digits), length > prefix.count else { return nil }
        let rest = symbol.dropFirst(2 + digits.count)
        guard rest.count > length else { return nil } // a copy has a specialization suffix
        let embedded = String(rest.prefix(length))
        return isTrampoline(embedded) ? embedded : nil
    }

    /// A symbol of the family without its prefix and without the uniqueness suffix the macros add (an
    /// underscore and 8 to 16 hex digits), and whether that suffix was there.
    public static func namePart(of symbol: String) -> (name: Substring, hashed: Bool) {
        let rest = Substring(symbol.dropFirst(prefix.count))
        guard let underscore = rest.lastIndex(of: "_") else { return (rest, false) }
        let tail = rest[rest.index(after: underscore)...]
        guard (8...16).contains(tail.count), tail.allSatisfy(\.isHexDigit) else { return (rest, false) }
        return (rest[..<underscore], true)
    }

    /// Whether a trampoline symbol is the one the macros give the key named `keyName` as the report names
    /// it: `checksum(_:)` → `__dtrace_staticcall_checksum_<hash>`, `Codec.encode(_:)` →
    /// `__dtrace_staticcall_Codec_encode_<hash>` (the type's non-alphanumerics as `_`), the static key
    /// `Logging.verbose` → `__dtrace_staticcall_key_verbose_<hash>` (a key named without parentheses).
    /// Exact: the hash suffix is the only part not compared.
    public static func symbol(_ symbol: String, canBelongTo keyName: String) -> Bool {
        guard isTrampoline(symbol) else { return false }
        let (rest, hashed) = namePart(of: symbol)
        guard hashed else { return false }
        let isStaticKey = !keyName.contains("(")
        let base = keyName.prefix { $0 != "(" }
        let expected: String
        if isStaticKey {
            expected = "key_" + (base.split(separator: ".").last.map(String.init) ?? String(base))
        } else {
            expected = String(base.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        }
        return rest == expected
    }

    /// The trampoline of the key named `keyName` among `candidates` (a function and the targets of its
    /// direct branches): the one candidate whose symbols are exactly that key's trampoline. Nil when none
    /// or more than one is, or when an address carries more than one trampoline name (merged: never a
    /// guess).
    public static func trampoline(of keyName: String, among candidates: Set<UInt64>, symbolsAt: (UInt64) -> [String]) -> UInt64? {
        let named = candidates.filter { address in
            let names = symbolsAt(address).filter(isTrampoline)
            return names.count == 1 && symbol(names[0], canBelongTo: keyName)
        }
        return named.count == 1 ? named.first : nil
    }
}
