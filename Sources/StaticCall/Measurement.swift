#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import CStaticCall
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

    /// The system calls of one page remap of `pages` pages (`PageRemapper.replace`, the default writer),
    /// on a scratch mapping of this program's file that no thread runs, timed: a fresh private mapping of
    /// the file, a read of each page (the check against the live text), a five-byte write through
    /// `/proc/self/mem` into each page (its copy on write) and the `mremap` over the scratch mapping. The
    /// floor of an update by page remap, as three syncs are the INT3 protocol's. Nanoseconds, or nil if the
    /// file is shorter than `pages` pages or a call fails.
    public static func bareRemapNanoseconds(pages: Int) -> UInt64? {
        let size = pages * Int(PageRemapper.pageSize)
        let file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        let mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC)
        defer { if file >= 0 { close(file) }; if mem >= 0 { close(mem) } }
        var info = stat()
        guard pages > 0, file >= 0, mem >= 0, fstat(file, &info) == 0, Int(info.st_size) >= size,
              let scratch = mmap(nil, size, PROT_READ | PROT_EXEC, MAP_PRIVATE, file, 0), scratch != MAP_FAILED else { return nil }
        defer { munmap(scratch, size) }
        let start = monotonicNanoseconds()
        guard let fresh = mmap(nil, size, PROT_READ | PROT_EXEC, MAP_PRIVATE, file, 0), fresh != MAP_FAILED else { return nil }
        for page in 0..<pages {
            // The page's own first five bytes, read (faulting it in) and written back (copying it).
            let at = fresh + page * Int(PageRemapper.pageSize)
            var bytes = readSite(at: UInt64(UInt(bitPattern: at))).word
            guard pwrite(mem, &bytes, 5, off_t(Int(bitPattern: at))) == 5 else { munmap(fresh, size); return nil }
        }
        guard cstaticcall_mremap_fixed(fresh, size, scratch) == 0 else { munmap(fresh, size); return nil }
        return monotonicNanoseconds() - start
    }
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
