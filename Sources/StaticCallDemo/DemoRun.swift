// The measured part of `staticcall demo`, in a module of its own so that it is compiled with -O even in
// the debug build `swift run staticcall demo` makes (Package.swift): the first numbers a newcomer sees
// are those of optimized code.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform")
#endif
import StaticCall

/// What one demo run measured.
public struct DemoOutcome {
    public var implementation: String
    public var rows: [(mechanism: String, nanosecondsPerPacket: Double)]
    public var agreed: Bool
    public var report: StaticCallReport
    /// Whether the measured loops were compiled without optimization (then the numbers mean little).
    public var debugBuild: Bool
}

/// The demo's measurement: every mechanism over the same packets, interleaved, the median of the rounds.
public struct DemoRun {
    public var packetCount: Int
    public var rounds: Int

    public init(packetCount: Int, rounds: Int) {
        self.packetCount = packetCount
        self.rounds = rounds
    }

    public func run() -> DemoOutcome {
        let packets = Packets(count: packetCount)
        let word = cpuHasAVX2()
        selectImplementation(word: word)
        try? StaticCalls.patchAll()
        let mechanisms: [(String, (Packets) -> UInt32)] = [
            ("static call + static key", runStaticCalls),
            ("closure variable", runClosures),
            ("protocol existential", runExistentials),
            ("@_dynamicReplacement", runDynamicReplacement),
            ("C function pointer", runFunctionPointers),
        ]
        let expected = mechanisms[0].1(packets)
        let agreed = mechanisms.allSatisfy { $0.1(packets) == expected }
        var samples = [[Double]](repeating: [], count: mechanisms.count)
        for _ in 0..<rounds {
            // Interleaved, so that every mechanism sees the same machine state.
            for (i, m) in mechanisms.enumerated() {
                let t0 = monotonicNow()
                let r = m.1(packets)
                let t1 = monotonicNow()
                if r != expected { return DemoOutcome(implementation: "", rows: [], agreed: false, report: StaticCalls.report(), debugBuild: _isDebugAssertConfiguration()) }
                samples[i].append(Double(t1 - t0) / Double(packetCount))
            }
        }
        let rows = mechanisms.enumerated().map { i, m in (m.0, samples[i].sorted()[samples[i].count / 2]) }
        return DemoOutcome(implementation: word ? "word-at-a-time (the CPU has AVX2)" : "byte-at-a-time",
                           rows: rows, agreed: agreed, report: StaticCalls.report(), debugBuild: _isDebugAssertConfiguration())
    }
}

func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

