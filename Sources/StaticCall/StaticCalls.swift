/// What a key (or the process) achieves.
public enum StaticCallMode: String, Sendable, Codable, CustomStringConvertible {
    /// Call sites themselves hold a direct call, a NOP or a constant load (HAVE_STATIC_CALL_INLINE).
    case inline
    /// Sites call the trampoline, which calls through the key (the kernel's generic fallback).
    case indirect

    public var description: String { rawValue }
}

/// Errors from `StaticCalls.patchAll()`.
public enum StaticCallError: Error, CustomStringConvertible, Sendable {
    case patchFailed(String)

    public var description: String {
        switch self {
        case let .patchFailed(why): return why
        }
    }
}

/// Process-wide operations on every static call and static key.
public enum StaticCalls {
    /// The best mode this process can use: `.inline` on x86-64 Linux when the kernel allows text writes,
    /// membarrier SYNC_CORE and a SIGTRAP handler; `.indirect` otherwise (and under `STATICCALL_MODE=indirect`).
    public static var mode: StaticCallMode { ProcessRuntime.mode }

    /// Runs `body`, applying every update made in it in one patch transaction: three membarrier syncs
    /// for all sites. The analogue of the kernel's text_poke_queue()/text_poke_finish().
    ///
    /// ```swift
    /// StaticCalls.batch {
    ///     $checksum.update { avx2Checksum($0) }
    ///     $onPacket.disable()
    /// }
    /// ```
    public static func batch<R>(_ body: () throws -> R) rethrows -> R {
        try ProcessRuntime.batch(body)
    }

    /// A snapshot of every key that has been called or updated: its target, mode, sites and counters.
    /// `print(StaticCalls.report())` renders a table.
    public static func report() -> StaticCallReport { ProcessRuntime.report() }

    /// Discovers and patches every registered key now, instead of lazily at each key's first call or
    /// update. Throws if a patch transaction failed (the affected sites stay on their previous, correct,
    /// bytes).
    public static func patchAll() throws(StaticCallError) { try ProcessRuntime.patchAll() }
}
