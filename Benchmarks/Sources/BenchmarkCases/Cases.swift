// The table of loop cases the wall-clock benchmarks, the callgrind script and the tool all share.
import CBenchmarkCases
import StaticCall
import StaticCallLogging

/// One measured loop: `run(n)` performs `n` iterations and returns a value the caller must consume.
public struct LoopCase: Sendable {
    /// The case group of the issue: `call`, `hook`, `flag`, `constant`, `end-to-end`.
    public let group: String
    /// What a reader sees in the tables.
    public let name: String
    /// The loop function's symbol, for callgrind's `--toggle-collect`.
    public let symbol: String
    public let run: @Sendable (Int) -> Int
}

public enum LoopCases {
    public static let all: [LoopCase] = [
        LoopCase(group: "call", name: "direct call (the limit)", symbol: "staticbench_call_direct", run: { callDirect($0) }),
        LoopCase(group: "call", name: "@StaticCall", symbol: "staticbench_call_static", run: { callStatic($0) }),
        LoopCase(group: "call", name: "global closure variable", symbol: "staticbench_call_closure", run: { callClosure($0) }),
        LoopCase(group: "call", name: "protocol existential", symbol: "staticbench_call_existential", run: { callExistential($0) }),
        LoopCase(group: "call", name: "Atomic raw function pointer", symbol: "staticbench_call_atomic_pointer", run: { callAtomicPointer($0) }),
        LoopCase(group: "call", name: "@_dynamicReplacement(for:)", symbol: "staticbench_call_dynamic_replacement", run: { callDynamicReplacement($0) }),
        LoopCase(group: "call", name: "C function pointer", symbol: "staticbench_call_c_pointer", run: { callCFunctionPointer($0) }),
        LoopCase(group: "far", name: "the library's function called through this image's PLT (the limit)", symbol: "staticbench_far_plt", run: { farThroughPLT($0) }),
        LoopCase(group: "far", name: "C function pointer to it", symbol: "staticbench_far_c_pointer", run: { farCFunctionPointer($0) }),
        LoopCase(group: "far", name: "@StaticCall pointed at it (far-jump stub)", symbol: "staticbench_far_static", run: { farStatic($0) }),
        LoopCase(group: "hook", name: "no hook (the same loop without it)", symbol: "staticbench_hook_none", run: { hookNone($0) }),
        LoopCase(group: "hook", name: "@StaticCall hook() after disable()", symbol: "staticbench_hook_static_tick", run: { hookStaticTick($0) }),
        LoopCase(group: "hook", name: "optional closure hook?() set to nil", symbol: "staticbench_hook_closure_tick", run: { hookClosureTick($0) }),
        LoopCase(group: "hook", name: "@StaticCall hook(i) after disable()", symbol: "staticbench_hook_static_value", run: { hookStaticValue($0) }),
        LoopCase(group: "hook", name: "optional closure hook?(i) set to nil", symbol: "staticbench_hook_closure_value", run: { hookClosureValue($0) }),
        LoopCase(group: "flag", name: "@StaticKey read", symbol: "staticbench_flag_key", run: { flagKey($0) }),
        LoopCase(group: "flag", name: "no flag (the same loop without the if)", symbol: "staticbench_flag_none", run: { flagNone($0) }),
        LoopCase(group: "flag", name: "plain global Bool", symbol: "staticbench_flag_bool", run: { flagBool($0) }),
        LoopCase(group: "flag", name: "Atomic<Bool> relaxed load", symbol: "staticbench_flag_atomic", run: { flagAtomic($0) }),
        LoopCase(group: "flag, read before the call", name: "@StaticKey read", symbol: "staticbench_flagbefore_key", run: { flagBeforeKey($0) }),
        LoopCase(group: "flag, read before the call", name: "no flag (the same loop without the if)", symbol: "staticbench_flagbefore_none", run: { flagBeforeNone($0) }),
        LoopCase(group: "flag, read before the call", name: "plain global Bool", symbol: "staticbench_flagbefore_bool", run: { flagBeforeBool($0) }),
        LoopCase(group: "flag, read before the call", name: "Atomic<Bool> relaxed load", symbol: "staticbench_flagbefore_atomic", run: { flagBeforeAtomic($0) }),
        LoopCase(group: "flag guarding a block (3 live values)", name: "@StaticKey read", symbol: "staticbench_flagblock_key", run: { flagBlockKey($0) }),
        LoopCase(group: "flag guarding a block (3 live values)", name: "no flag (the same loop without the if)", symbol: "staticbench_flagblock_none", run: { flagBlockNone($0) }),
        LoopCase(group: "flag guarding a block (3 live values)", name: "plain global Bool", symbol: "staticbench_flagblock_bool", run: { flagBlockBool($0) }),
        LoopCase(group: "flag guarding a block (3 live values)", name: "Atomic<Bool> relaxed load", symbol: "staticbench_flagblock_atomic", run: { flagBlockAtomic($0) }),
        LoopCase(group: "flag, true (default true)", name: "@StaticKey read", symbol: "staticbench_flagon_key", run: { flagOnKey($0) }),
        LoopCase(group: "flag, true (default true)", name: "plain global Bool", symbol: "staticbench_flagon_bool", run: { flagOnBool($0) }),
        LoopCase(group: "flag, true (default true)", name: "Atomic<Bool> relaxed load", symbol: "staticbench_flagon_atomic", run: { flagOnAtomic($0) }),
        LoopCase(group: "constant", name: "@StaticCall update(returning:)", symbol: "staticbench_constant_static", run: { constantStatic($0) }),
        LoopCase(group: "constant", name: "closure returning a captured constant", symbol: "staticbench_constant_closure", run: { constantClosure($0) }),
        LoopCase(group: "log", name: "no statement (what swift-log's MaxLogLevel traits leave)", symbol: "staticbench_log_none", run: { logNone($0) }),
        LoopCase(group: "log", name: "swift-log trace, off (handler at info)", symbol: "staticbench_log_plain_off", run: { logPlainOff($0) }),
        LoopCase(group: "log", name: "StaticLogger trace, off (ceiling at info)", symbol: "staticbench_log_static_off", run: { logStaticOff($0) }),
        LoopCase(group: "log", name: "swift-log info, on", symbol: "staticbench_log_plain_on", run: { logPlainOn($0) }),
        LoopCase(group: "log", name: "StaticLogger info, on", symbol: "staticbench_log_static_on", run: { logStaticOn($0) }),
        LoopCase(group: "log", name: "swift-log Logger.current trace, off (task-local, withLogger)", symbol: "staticbench_log_current_plain_off", run: { logCurrentPlainOff($0) }),
        LoopCase(group: "log", name: "StaticLogger.current trace, off (task-local, withLogger)", symbol: "staticbench_log_current_static_off", run: { logCurrentStaticOff($0) }),
        LoopCase(group: "log, packets", name: "packets without the statement", symbol: "staticbench_logpackets_none", run: { logPacketsNone($0) }),
        LoopCase(group: "log, packets", name: "packets: swift-log trace per packet, off", symbol: "staticbench_logpackets_plain", run: { logPacketsPlain($0) }),
        LoopCase(group: "log, packets", name: "packets: StaticLogger trace per packet, off", symbol: "staticbench_logpackets_static", run: { logPacketsStatic($0) }),
        LoopCase(group: "trace", name: "no span", symbol: "staticbench_trace_none", run: { traceNone($0) }),
        LoopCase(group: "trace", name: "withSpan, no tracer bootstrapped", symbol: "staticbench_trace_plain", run: { tracePlain($0) }),
        LoopCase(group: "trace", name: "StaticTracing.withSpan, skipped (no tracer bootstrapped)", symbol: "staticbench_trace_static", run: { traceStatic($0) }),
        LoopCase(group: "end-to-end", name: "packets: static calls + static key", symbol: "staticbench_packets_static", run: { runPacketsStatic($0) }),
        LoopCase(group: "end-to-end", name: "packets: closures + optional closure + Bool", symbol: "staticbench_packets_closures", run: { runPacketsClosures($0) }),
        LoopCase(group: "end-to-end", name: "packets: existentials + Bool", symbol: "staticbench_packets_existentials", run: { runPacketsExistentials($0) }),
    ]

    public static func named(_ symbol: String) -> LoopCase? { all.first { $0.symbol == symbol } }

    /// Puts every mechanism in the state the tables describe, as a program would at start-up: the call
    /// cases all reach `work`, hooks are off, flags are false, the tunable is 128; then patches every
    /// key now rather than at first call. Idempotent.
    public static func prepare() {
        installAtomicWorkPointer()
        setClosureWork { work($0) }
        setWorker(DefaultWorker())
        setCWorkPointer(cstaticbench_work)
        pointFarCasesAtLibc()
        $tickHook.disable()
        $valueHook.disable()
        setHookClosures(tick: nil, value: nil)
        keyFlag = false
        setBoolFlag(false)
        keyFlagOn = true
        setBoolFlagOn(true)
        setConstants(128)
        selectChecksum()
        setPacketTracing(false)
        setPacketDebugLogging(false)
        StaticLogLevels.minimumLevel = .info
        // A key registers at its first call: call every loop once so that patchAll() finds them all.
        for c in all { blackHole(c.run(1)) }
        try? StaticCalls.patchAll()
    }
}
