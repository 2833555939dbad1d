#if canImport(Glibc)
import Glibc
#endif
@_spi(Measurement) import StaticCall

/// Discovery over a shared object: load it, then discover the sites of `symbol` 20 times.
func discovery(library: String, symbol: String) {
    guard let handle = dlopen(library, RTLD_NOW) else {
        printError("staticcall-bench: cannot load \(library): \(String(cString: dlerror()))\n")
        exit(1)
    }
    guard let address = dlsym(handle, symbol) else {
        printError("staticcall-bench: \(library) has no symbol \(symbol)\n")
        exit(1)
    }
    var times: [UInt64] = [], scans: [UInt64] = []
    var last: (proven: Int, unproven: Int, scannedBytes: Int, nanoseconds: UInt64, scanNanoseconds: UInt64)?
    for _ in 0..<20 {
        guard let r = StaticCallMeasurement.discover(trampoline: UInt(bitPattern: address)) else { exit(1) }
        times.append(r.nanoseconds)
        scans.append(r.scanNanoseconds)
        last = r
    }
    let r = last!
    for (why, n) in StaticCallMeasurement.unprovenReasons(trampoline: UInt(bitPattern: address)).sorted(by: { $0.value > $1.value }).prefix(3) {
        printError("  unproven \(n)×: \(why)\n")
    }
    let mb = Double(r.scannedBytes) / 1e6
    let ms = Double(median(times)) / 1e6
    // One row: text MB, sites proven, unproven, median ms, min ms, byte scan ms, ms per 10 MB.
    print("| \(fixed(mb, 1)) | \(r.proven) | \(r.unproven) | \(fixed(ms)) | \(fixed(Double(times.min()!) / 1e6)) | \(fixed(Double(median(scans)) / 1e6)) | \(fixed(ms / mb * 10)) |")
}
