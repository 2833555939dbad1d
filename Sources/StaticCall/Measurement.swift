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

/// Hooks for the benchmark tool (`Benchmarks/Sources/staticcall-bench`). Not API.
@_spi(Measurement)
public enum StaticCallMeasurement {
    /// Discovery as the runtime does it on a key's first use: build the object's unwind index, scan its
    /// executable segments for sites of `trampoline`, prove each. Returns the counts, the executable bytes
    /// scanned and the elapsed nanoseconds.
    public static func discover(trampoline: UInt) -> (proven: Int, unproven: Int, scannedBytes: Int, nanoseconds: UInt64, scanNanoseconds: UInt64)? {
        guard let info = loadedObjects().first(where: { $0.containsExecutable(UInt64(trampoline)) }) else { return nil }
        let start = monotonicNanoseconds()
        let cache = ObjectCache(info)
        let results = cache.discover(trampolines: [UInt64(trampoline)])
        let elapsed = monotonicNanoseconds() - start
        let scanStart = monotonicNanoseconds()
        _ = cache.finder.candidates(of: [UInt64(trampoline)])
        let scanElapsed = monotonicNanoseconds() - scanStart
        let proven = results.filter { if case .proven = $0.proof { return true } else { return false } }.count
        return (proven, results.count - proven, cache.finder.executableBytes, elapsed, scanElapsed)
    }

    /// The reasons candidates for `trampoline` were left unproven, with their counts.
    public static func unprovenReasons(trampoline: UInt) -> [String: Int] {
        guard let info = loadedObjects().first(where: { $0.containsExecutable(UInt64(trampoline)) }) else { return [:] }
        var reasons: [String: Int] = [:]
        for (_, proof) in ObjectCache(info).discover(trampolines: [UInt64(trampoline)]) {
            if case let .unproven(why) = proof {
                reasons[why.replacing(/0x[0-9a-f]+/, with: "0x…"), default: 0] += 1
            }
        }
        return reasons
    }

    /// Three bare membarrier SYNC_CORE calls: the floor of one INT3-protocol transaction (ARCHITECTURE.md,
    /// What fast means); a page remap uses none.
    public static func threeSyncs() {
        try? Membarrier.registerSyncCore()
        for _ in 0..<3 { try? Membarrier.syncCore() }
    }
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
