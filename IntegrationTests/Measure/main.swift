// Measurements for the engine (numbers go in RESULTS and the closing notes, not in tests):
//
//   staticcall-measure call patched|direct <N>   a loop for callgrind (STATICCALL_MODE=indirect: via the trampoline)
//   staticcall-measure update [threads] [K]  median latency of one update of a 10-site key, against three bare syncs
//   staticcall-measure discovery <lib.so> <symbol>   discovery time over a (large) shared object
#if canImport(Glibc)
import Glibc
#endif
@_spi(Measurement) import StaticCall
import Synchronization

@inline(never) func blackHole(_ x: Int) { withExtendedLifetime(x) {} }

@inline(never) func patchedLoop(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= measured(i) }
    return s
}

@inline(never) func directLoop(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= measuredTarget(i) }
    return s
}


func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ xs: [UInt64]) -> UInt64 { xs.sorted()[xs.count / 2] }
func percentile(_ xs: [UInt64], _ p: Double) -> UInt64 { let s = xs.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }

final class Spinner: @unchecked Sendable {
    var thread = pthread_t()
    let stop: UnsafePointer<Atomic<Bool>>
    init(stop: UnsafePointer<Atomic<Bool>>) { self.stop = stop }
    func start() {
        pthread_create(&thread, nil, { ctx in
            let me = Unmanaged<Spinner>.fromOpaque(ctx!).takeUnretainedValue()
            var s = 0, i = 0
            while !me.stop.pointee.load(ordering: .relaxed) {
                i &+= 1
                s &+= site0(i) &+ site1(i) &+ site2(i) &+ site3(i) &+ site4(i) &+ site5(i) &+ site6(i) &+ site7(i) &+ site8(i) &+ site9(i)
            }
            blackHole(s)
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
    }
    func join() { pthread_join(thread, nil) }
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "call":
    // One loop per process, so that callgrind's --toggle-collect on the loop function counts exactly
    // the loop and what it calls.
    let which = args.count > 2 ? args[2] : "patched"
    let n = args.count > 3 ? Int(args[3])! : 1_000_000
    blackHole(measured(1)) // register and patch
    switch which {
    case "patched": blackHole(patchedLoop(n))
    case "direct": blackHole(directLoop(n))
    default: print("call patched|direct <N>"); exit(2)
    }
    let k = StaticCalls.report()["measured(_:)"]!
    print("mode \(k.mode) sites \(k.sitesFound) patched \(k.sitesPatched) target \(k.target)")

case "update":
    let threads = args.count > 2 ? Int(args[2])! : 2
    let rounds = args.count > 3 ? Int(args[3])! : 2000
    updateTenSites { $0 &+ 1 }
    let k = StaticCalls.report()["tenSites(_:)"]!
    let stop = UnsafeMutablePointer<Atomic<Bool>>.allocate(capacity: 1)
    stop.initialize(to: Atomic(false))
    let spinners = (0..<threads).map { _ in Spinner(stop: stop) }
    spinners.forEach { $0.start() }
    var updates: [UInt64] = [], syncs: [UInt64] = []
    for r in 0..<rounds {
        // Interleave the two measurements so both see the same load.
        let t0 = now()
        if r % 2 == 0 { updateTenSites { $0 &+ 2 } } else { updateTenSites { $0 &+ 3 } }
        let t1 = now()
        StaticCallMeasurement.threeSyncs()
        let t2 = now()
        updates.append(t1 - t0)
        syncs.append(t2 - t1)
    }
    stop.pointee.store(true, ordering: .relaxed)
    spinners.forEach { $0.join() }
    let mu = Double(median(updates)) / 1000, ms = Double(median(syncs)) / 1000
    print("update of a key with \(k.sitesFound) sites (\(k.sitesPatched) patched, mode \(k.mode)), \(threads) threads calling, \(rounds) rounds")
    print("  update:        median \(mu) µs, p90 \(Double(percentile(updates, 0.9)) / 1000) µs")
    print("  3 bare syncs:  median \(ms) µs, p90 \(Double(percentile(syncs, 0.9)) / 1000) µs")
    print("  ratio update / 3 syncs (median): \((mu / ms * 100).rounded() / 100)")

case "discovery":
    guard args.count > 3, let handle = dlopen(args[2], RTLD_NOW) else { print("usage: discovery <lib.so> <symbol>"); exit(2) }
    guard let symbol = dlsym(handle, args[3]) else { print("no symbol \(args[3])"); exit(2) }
    var times: [UInt64] = [], scans: [UInt64] = []
    var last: (proven: Int, unproven: Int, scannedBytes: Int, nanoseconds: UInt64, scanNanoseconds: UInt64)? = nil
    for _ in 0..<20 {
        last = StaticCallMeasurement.discover(trampoline: UInt(bitPattern: symbol))
        times.append(last!.nanoseconds)
        scans.append(last!.scanNanoseconds)
    }
    let r = last!
    for (why, n) in StaticCallMeasurement.unprovenReasons(trampoline: UInt(bitPattern: symbol)).sorted(by: { $0.value > $1.value }).prefix(5) {
        print("  unproven \(n)×: \(why)")
    }
    print("discovery over \(r.scannedBytes) executable bytes (\((Double(r.scannedBytes) / 1e6 * 10).rounded() / 10) MB): \(r.proven) sites proven, \(r.unproven) unproven")
    print("  median \(Double(median(times)) / 1e6) ms, min \(Double(times.min()!) / 1e6) ms over \(times.count) runs (of which the byte scan alone: median \(Double(median(scans)) / 1e6) ms)")

default:
    print("usage: staticcall-measure call <N> | update [threads] [rounds] | discovery <lib.so> <symbol>")
    exit(2)
}
