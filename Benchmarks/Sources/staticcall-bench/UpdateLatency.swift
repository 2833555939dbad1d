#if canImport(Glibc)
import Glibc
#endif
import BenchmarkCases
@_spi(Measurement) import StaticCall
import Synchronization

/// A thread calling every site of a key (through `drive`) until told to stop, and counting results
/// that are none of the key's possible targets.
final class Caller: @unchecked Sendable {
    private var thread = pthread_t()
    private let drive: @Sendable (Int) -> Int
    private let low: Int, high: Int, x: Int
    let stop = Atomic<Bool>(false)
    let wrong = Atomic<Int>(0)
    let calls = Atomic<Int>(0)

    /// `drive(x)` must lie in `low...high` whatever each site's target is.
    init(drive: @escaping @Sendable (Int) -> Int, x: Int, low: Int, high: Int) {
        self.drive = drive
        self.x = x
        self.low = low
        self.high = high
    }

    func start() {
        pthread_create(&thread, nil, { context in
            let me = Unmanaged<Caller>.fromOpaque(context!).takeUnretainedValue()
            var n = 0
            while !me.stop.load(ordering: .relaxed) {
                let r = me.drive(me.x)
                if r < me.low || r > me.high { me.wrong.add(1, ordering: .relaxed) }
                n += 1
            }
            me.calls.store(n, ordering: .relaxed)
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    func join() {
        stop.store(true, ordering: .relaxed)
        pthread_join(thread, nil)
    }
}

struct UpdateCase {
    let name: String
    /// Sites per key, and keys.
    let sites: Int
    var keys = 1
    let rounds: Int
    let drive: @Sendable (Int) -> Int
    let update: (Int) -> Void
    /// The names of the case's keys start with this.
    let keyPrefix: String
}

/// The pages one page remap of these sites replaces: from the first site's page to the last one's (the
/// runtime remaps runs of sites up to 1 MB apart with one mmap and one mremap).
func pagesSpanned(by sites: [UInt]) -> Int {
    guard let low = sites.min(), let high = sites.max() else { return 0 }
    let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
    return Int(((high + 4) / page) - (low / page)) + 1
}

/// Median latency of each update shape, interleaved with three bare membarrier syncs under the same
/// load (the floor of an INT3-protocol transaction; ARCHITECTURE.md, What fast means).
func update(threads: Int, rounds: Int, only: String?) {
    // A site returns key(x) + i with key(x) in x+1 ... x+3; summed over sites 0..<k.
    func bounds(_ sites: Int, x: Int) -> (Int, Int) {
        let indices = sites * (sites - 1) / 2
        return (sites * (x + 1) + indices, sites * (x + 3) + indices)
    }
    let cases = [
        UpdateCase(name: "1 key, 1 site", sites: 1, rounds: rounds, drive: { driveOneSite($0) }, update: { updateOneSite(round: $0) }, keyPrefix: "oneSite"),
        UpdateCase(name: "1 key, 10 sites", sites: 10, rounds: rounds, drive: { driveTenSites($0) }, update: { updateTenSites(round: $0) }, keyPrefix: "tenSites"),
        UpdateCase(name: "1 key, 1000 sites", sites: 1000, rounds: max(rounds / 10, 20), drive: { driveThousandSites($0) }, update: { updateThousandSites(round: $0) }, keyPrefix: "thousandSites"),
        UpdateCase(name: "100 keys × 10 sites, batched (one transaction)", sites: batchKeySites, keys: batchKeyCount, rounds: max(rounds / 10, 20),
                   drive: { driveBatchKeys($0) }, update: { r in StaticCalls.batch { updateBatchKeys(round: r) } }, keyPrefix: "batchKey"),
        UpdateCase(name: "100 keys × 10 sites, not batched (100 transactions)", sites: batchKeySites, keys: batchKeyCount, rounds: max(rounds / 10, 20),
                   drive: { driveBatchKeys($0) }, update: { updateBatchKeys(round: $0) }, keyPrefix: "batchKey"),
    ]
    print("| update (\(threads) threads calling the sites) | sites | median µs | p90 µs | 3 bare syncs, median µs | ratio to 3 syncs | µs per site | wrong results / calls | pages remapped | bare remap of those pages, median µs | ratio to bare remap |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    var wrongTotal = 0
    for c in cases where only.map({ c.name.contains($0) }) ?? true {
        // Warm up: registration, discovery of the object, first (copy-on-write) writes to each page.
        c.update(0)
        c.update(1)
        blackHole(c.drive(1))
        let sitesOfCase = StaticCalls.report().keys.filter { $0.name.hasPrefix(c.keyPrefix) }.flatMap(\.patchedSites)
        let pages = pagesSpanned(by: sitesOfCase)
        let x = 1000
        let (low, high) = (c.keys * bounds(c.sites, x: x).0, c.keys * bounds(c.sites, x: x).1)
        let callers = (0..<threads).map { _ in Caller(drive: c.drive, x: x, low: low, high: high) }
        callers.forEach { $0.start() }
        var updates: [UInt64] = [], syncs: [UInt64] = [], remaps: [UInt64] = []
        for r in 0..<c.rounds {
            let t0 = now()
            c.update(r)
            let t1 = now()
            StaticCallMeasurement.threeSyncs()
            let t2 = now()
            updates.append(t1 - t0)
            syncs.append(t2 - t1)
            if pages > 0, let bare = StaticCallMeasurement.bareRemapNanoseconds(pages: pages) { remaps.append(bare) }
        }
        callers.forEach { $0.join() }
        let wrong = callers.reduce(0) { $0 + $1.wrong.load(ordering: .relaxed) }
        wrongTotal += wrong
        let calls = callers.reduce(0) { $0 + $1.calls.load(ordering: .relaxed) }
        let mu = Double(median(updates)) / 1000, ms = Double(median(syncs)) / 1000
        let sites = c.sites * c.keys
        print("| \(c.name) | \(sites) | \(fixed(mu, 1)) | \(fixed(Double(percentile(updates, 0.9)) / 1000, 1)) | \(fixed(ms, 1)) | \(fixed(mu / ms)) | \(fixed(mu / Double(sites), 3)) | \(wrong) / \(calls * sites) | \(pages) | \(remaps.isEmpty ? "–" : fixed(Double(median(remaps)) / 1000, 1)) | \(remaps.isEmpty ? "–" : fixed(mu / (Double(median(remaps)) / 1000))) |")
    }
    print("")
    if wrongTotal > 0 {
        printError("staticcall-bench: calling threads saw \(wrongTotal) wrong results\n")
        exit(1)
    }
    let keys = StaticCalls.report().keys.filter { $0.name.hasPrefix("oneSite") || $0.name.hasPrefix("tenSites") || $0.name.hasPrefix("thousandSites") || $0.name.hasPrefix("batchKey") }
    let patched = keys.reduce(0) { $0 + $1.sitesPatched }, found = keys.reduce(0) { $0 + $1.sitesFound }
    print("mode \(StaticCalls.mode); sites patched \(patched) of \(found) found in \(keys.count) keys")
}
