import Synchronization

/// The per-key word a trampoline's slow path reads: the analogue of the kernel's `struct static_call_key`.
///
/// Generated code declares one as a global `let` beside each `@StaticCall` function. Its initial value is
/// all zeros, so the compiler initialises it statically: the slow path is a plain load with no
/// `swift_once` (ARCHITECTURE.md, Lazy globals). The global's address is the key's identity.
///
/// Word encoding: `0` never registered; `1` disabled; `2` constant (in `constant`); anything else the
/// address of the current target (followed through pure forwarders, as patched sites call it). Bit 63 set means "count slow-path calls" (`STATICCALL_STATS=1`), which
/// makes the one signed comparison of a trampoline that tests the word fail (and keeps a key's entry on
/// the slow path), so counting costs nothing when it is off.
// @_documentation: used only by the macros' expansions (pointfree's packages hide theirs the same way).
@_documentation(visibility: internal)
@frozen
public struct StaticCallStorage: ~Copyable, Sendable {
    @usableFromInline let _word: Atomic<UInt>
    @usableFromInline let _constant: Atomic<UInt64>
    @usableFromInline let _slowPathCalls: Atomic<UInt>

    @inlinable
    public init() {
        _word = Atomic(0)
        _constant = Atomic(0)
        _slowPathCalls = Atomic(0)
    }

    /// The word the trampoline reads. A value for which `isDirectTarget` holds is a function address.
    @inlinable @inline(__always)
    public var word: UInt { _word.load(ordering: .acquiring) }

    /// True when `word` is a target address that the trampoline may call at once.
    @inlinable @inline(__always)
    public static func isDirectTarget(_ word: UInt) -> Bool { Int(bitPattern: word) > 2 }

    /// The constant a plain constant word stands for (not while calls are counted): the fast path of a
    /// static key's trampoline in indirect mode. The runtime publishes the constant before the word.
    @inlinable @inline(__always)
    public func constant(ifPlain word: UInt) -> UInt64? {
        word == Self.constantWord ? _constant.load(ordering: .acquiring) : nil
    }

    /// What the slow path must do when the word is not a plain target.
    @frozen
    public enum Dispatch {
        case call(UInt)
        case disabled
        case constant(UInt64)
    }

    /// The cold part of the slow path: registers the key on its first call (by running `register`),
    /// counts the call when statistics are on, and says what to do.
    ///
    /// The symbol name starts with `__dtrace` on purpose: Swift's LLVM function-merging pass never merges
    /// a function that calls such a symbol ("calls to dtrace probes must generate unique patchpoints").
    /// Without it, trampolines of keys with the same signature are merged into one body that takes the
    /// key as a hidden parameter, and every caller then calls that shared body: one call instruction
    /// would serve several keys, and no site could be patched for one of them (ARCHITECTURE.md,
    /// Optimizer shapes).
    @_silgen_name("__dtrace_staticcall_dispatch")
    @inline(never)
    public func dispatch(_ word: UInt, register: () -> Void) -> Dispatch {
        var w = word
        if w == 0 {
            register()
            w = _word.load(ordering: .acquiring)
        }
        if w & StaticCallStorage.statisticsBit != 0 {
            _slowPathCalls.wrappingAdd(1, ordering: .relaxed)
            w &= ~StaticCallStorage.statisticsBit
        }
        switch w {
        case StaticCallStorage.disabledWord: return .disabled
        case StaticCallStorage.constantWord: return .constant(_constant.load(ordering: .acquiring))
        default: return .call(w)
        }
    }

    @usableFromInline static let statisticsBit: UInt = 1 << (UInt.bitWidth - 1)
    @usableFromInline static let disabledWord: UInt = 1
    @usableFromInline static let constantWord: UInt = 2
}
