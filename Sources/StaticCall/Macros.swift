/// Who may retarget a static call: narrower than who may call it (the kernel's EXPORT_STATIC_CALL_TRAMP,
/// where everyone may call but only the owner may update).
public enum StaticCallUpdateAccess {
    /// The key (`$name`) is `internal`: code of the declaring module may update it.
    case `internal`
    /// The key is `fileprivate`: code of the declaring file may update it.
    case `fileprivate`
    /// The key is `private`: code of the declaration's enclosing scope (its file, at top level) may update it.
    case `private`
}

/// Makes a global function or static method a static call: the analogue of the kernel's
/// DEFINE_STATIC_CALL, with the body as the default target.
///
/// ```swift
/// @StaticCall
/// public func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { scalarChecksum(bytes) }
///
/// let c = checksum(buffer)                 // static_call(): an ordinary call
/// $checksum.update { avx2Checksum($0) }    // static_call_update(): every call site now calls avx2Checksum
/// $checksum.reset()                        // back to the body
/// ```
///
/// Before: every call through a closure variable is a load and an indirect call. After: in an optimized
/// build each call site is a direct `call` to the current target, rewritten in place by `update`.
/// `disable()` exists for non-throwing `Void` functions (call sites become NOPs); `update(returning:)`
/// for `Bool` and fixed-width integer results (call sites load the constant).
///
/// Targets are non-capturing closures (`{ other($0) }`), which compile to a plain jump to `other` and are
/// followed to it. In Swift 6 language mode `update(to: other)` with a named function does not compile
/// yet (the compiler cannot convert it to `@convention(thin)`); use the closure form.
@attached(body)
@attached(peer, names: prefixed(`$`), prefixed(_staticcallTrampoline_), prefixed(_staticcallSlowPath_), prefixed(_staticcallDefault_),
          prefixed(_staticcallStorage_), prefixed(_staticcallAddress_), prefixed(_staticcallRegister_), prefixed(_staticcallKey_), prefixed(_staticcallRecord_))
public macro StaticCall() = #externalMacro(module: "StaticCallMacros", type: "StaticCallMacro")

/// A static call that everyone who can see it may call, but only code at `updatable` access may retarget.
@attached(body)
@attached(peer, names: prefixed(`$`), prefixed(_staticcallTrampoline_), prefixed(_staticcallSlowPath_), prefixed(_staticcallDefault_),
          prefixed(_staticcallStorage_), prefixed(_staticcallAddress_), prefixed(_staticcallRegister_), prefixed(_staticcallKey_), prefixed(_staticcallRecord_))
public macro StaticCall(updatable: StaticCallUpdateAccess) = #externalMacro(module: "StaticCallMacros", type: "StaticCallMacro")

/// Makes a global (or static) `Bool` a static key: every read becomes an immediate load that the runtime
/// rewrites when the value changes — the analogue of DEFINE_STATIC_KEY_FALSE/TRUE and
/// static_branch_unlikely()/likely().
///
/// ```swift
/// @StaticKey
/// public var tracingEnabled = false
///
/// if tracingEnabled { … }          // in an optimized build: one jmp past the block (or mov $0,%eax; test; jcc)
/// tracingEnabled = true            // static_branch_enable(): every read site now jumps into it (or loads 1)
/// $tracingEnabled.increment()      // static_key_slow_inc(): counted enables
/// $tracingEnabled.decrement()      // static_key_slow_dec()
/// ```
@attached(accessor, names: named(get), named(set))
@attached(peer, names: prefixed(`$`), prefixed(_statickeyTrampoline_), prefixed(_statickeySlowPath_), prefixed(_statickeyStorage_),
          prefixed(_statickeyAddress_), prefixed(_statickeyRegister_), prefixed(_statickeyKey_), prefixed(_statickeyRecord_))
public macro StaticKey() = #externalMacro(module: "StaticCallMacros", type: "StaticKeyMacro")
