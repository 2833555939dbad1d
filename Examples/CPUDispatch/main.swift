// CPU-feature dispatch chosen at start-up: what the kernel does with static_call for its crypto and
// memory routines. The function has a portable default body; once the program knows what the CPU can
// do, it retargets the key, and every call site in the process becomes a direct call to the chosen
// variant: no function pointer to load, no branch on a feature flag at each call.
//
//   swift run example-cpu-dispatch
//   STATICCALL_MODE=indirect swift run example-cpu-dispatch   # the same results, through the slow path
//
// It checks its own results and exits with 1 if a variant disagrees with the portable one.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import StaticCall

/// How many bytes of `bytes` equal `byte`. The default body is the portable loop.
@StaticCall
func countByte(_ byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int { countByteScalar(byte, bytes) }

/// One byte at a time: runs everywhere.
func countByteScalar(_ byte: UInt8, _ bytes: UnsafeRawBufferPointer) -> Int {
    var count = 0
    for b in bytes where b == byte { count += 1 }
    return count
}

/// 32 bytes at a time with the standard library's SIMD types (one vector compare per 32 bytes where the
/// CPU has 256-bit vectors), then the tail one byte at a time.
func countByteWide(_ byte: UInt8, _ bytes: UnsafeRawBufferPointer) -> Int {
    let needle = SIMD32<UInt8>(repeating: byte)
    var count = 0
    var i = 0
    while i + 32 <= bytes.count {
        let chunk = bytes.loadUnaligned(fromByteOffset: i, as: SIMD32<UInt8>.self)
        // 1 in each lane that matches; at most 32, so the lane sum cannot wrap.
        count += Int(SIMD32<UInt8>(repeating: 0).replacing(with: 1, where: chunk .== needle).wrappedSum())
        i += 32
    }
    return count + countByteScalar(byte, UnsafeRawBufferPointer(rebasing: bytes[i...]))
}

/// The CPU's feature flags, as the kernel lists them (empty where there is no /proc/cpuinfo).
func cpuFlags() -> Set<Substring> {
    guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 8192)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("flags") { return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })) }
    }
    return []
}

/// Chooses each dispatched function's variant once, at start-up.
func chooseVariants() -> String {
    if cpuFlags().contains("avx2") {
        $countByte.update { countByteWide($0, $1) }
        return "AVX2: countByte calls the 32-byte variant"
    }
    return "no AVX2: countByte keeps its portable body"
}

// The program's real work: a loop over buffers, calling the dispatched function.
func countNewlines(in buffers: [[UInt8]]) -> Int {
    var total = 0
    for buffer in buffers {
        total += buffer.withUnsafeBytes { countByte(0x0a, in: $0) }
    }
    return total
}

var generator = SystemRandomNumberGenerator()
let buffers = (0..<64).map { n in (0..<(1000 + n * 37)).map { _ in UInt8.random(in: 0...15, using: &generator) } }
let expected = buffers.reduce(0) { sum, buffer in sum + buffer.withUnsafeBytes { countByteScalar(0x0a, $0) } }

print(chooseVariants())
let counted = countNewlines(in: buffers)
print("newlines in \(buffers.count) buffers: \(counted) (portable loop: \(expected))")

let key = StaticCalls.report()["countByte(_:in:)"]
if let key {
    print("countByte: target \(key.target), \(key.mode) mode, \(key.sitesPatched) of \(key.sitesFound) call sites patched")
    for site in key.unpatched { print("  not patched: 0x\(String(site.address, radix: 16)): \(site.reason)") }
}
guard counted == expected, key != nil else {
    print("wrong: the chosen variant disagrees with the portable loop")
    exit(1)
}
