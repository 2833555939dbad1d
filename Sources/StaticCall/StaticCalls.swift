/// What a key (or the process) achieves.
public enum StaticCallMode: String, Sendable, Codable, CustomStringConvertible {
    /// Call sites themselves hold a direct call, a NOP or a constant load (HAVE_STATIC_CALL_INLINE).
    case inline
    /// Sites call the trampoline, which calls through the key (the kernel's generic fallback).
    case indirect

    /// "inline" or "indirect".
    public var description: String { rawValue }
}

/// Errors from `StaticCalls.patchAll()`.
public enum StaticCallError: Error, CustomStringConvertible, Sendable {
    /// Some sites did not take their key's state (each site and why, one per line); the process keeps
    /// running correctly, those sites on their trampolines.
    case patchFailed(String)

    /// The sites and reasons.
    public var description: String {
        switch self {
        case let .patchFailed(why): return why
        }
    }
}

/// Process-wide operations on every static call and static key.
///
/// The plural is deliberate: ``StaticCall()`` is the macro (and the module) that declares one static call;
/// `StaticCalls` acts on all of them at once (``batch(_:)``, ``report()``, ``patchAll()``, ``mode``).
public enum StaticCalls {
    /// The best mode this process can use: `.inline` on x86-64 Linux with glibc when text can be patched
    /// (by page remapping, or by the INT3 protocol where remapping is refused); `.indirect` otherwise, in
    /// the portable build, and under `STATICCALL_MODE=indirect`.
    public static var mode: StaticCallMode { ProcessRuntime.mode }

    /// Runs `body`, collecting every update the calling thread makes in it, and applies them, in order,
    /// in one patch transaction when `body` returns (one page remap per run of nearby sites, or one INT3
    /// protocol round for all of them). The analogue of the kernel's text_poke_queue()/text_poke_finish().
    ///
    /// ```swift
    /// StaticCalls.batch {
    ///     $checksum.update { avx2Checksum($0) }
    ///     $onPacket.disable()
    /// }
    /// ```
    ///
    /// No lock is held while `body` runs: it may wait for other threads, which may update keys meanwhile
    /// (each of their updates is its own transaction). Inside `body`, the calling thread's updates have
    /// not happened yet: keys and `state` still read as before the batch. If `body` throws, the updates
    /// it made before throwing are applied all the same.
    public static func batch<R>(_ body: () throws -> R) rethrows -> R {
        try ProcessRuntime.batch(body)
    }

    /// A snapshot of every key that has been called or updated: its target, mode, sites and counters.
    /// `print(StaticCalls.report())` renders a table.
    public static func report() -> StaticCallReport { ProcessRuntime.report() }

    /// Registers every key in the process and patches all of them now, in one transaction, instead of at
    /// each key's first call or update: start-up code calls this so that no request pays for a key's
    /// first call (site discovery, milliseconds per 10 MB of text, under the update lock). Each key
    /// leaves a registration record in its image (the analogue of the kernel's
    /// `__start_static_call_sites`); images loaded later are covered by calling it again. Throws if a
    /// patch transaction failed (the affected sites stay on their previous, correct, bytes).
    public static func patchAll() throws(StaticCallError) { try ProcessRuntime.patchAll() }
}
