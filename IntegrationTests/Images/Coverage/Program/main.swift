// One program of the coverage table (COVERAGE.md, written by Scripts/coverage.py): the keys of
// Coverage/Keys compiled in one code shape, called from that library, from this executable and through
// @inlinable code inlined here. It checks every caller's result in every state of every key, then prints
// the report as one JSON line (`REPORT {…}`); the script compares its sites with objdump's.
#if COVERAGE_ONONE
import CoverageKeysOnone
#elseif COVERAGE_O
import CoverageKeysO
#elseif COVERAGE_OINCREMENTAL
import CoverageKeysOIncremental
#elseif COVERAGE_OSIZE
import CoverageKeysOsize
#elseif COVERAGE_OEVOLUTION
import CoverageKeysOEvolution
#elseif COVERAGE_OADDRESSSANITIZER
import CoverageKeysOAddressSanitizer
#elseif COVERAGE_ONONECODECOVERAGE
import CoverageKeysOnoneCodeCoverage
#endif
#if canImport(Glibc)
import Glibc
#endif
import StaticCall

nonisolated(unsafe) var checks = 0
nonisolated(unsafe) var failures: [String] = []
func expect(_ ok: Bool, _ what: @autoclosure () -> String) {
    checks += 1
    if !ok { failures.append(what()) }
}

@inline(never) func quadruple(_ x: Int) -> Int { x &* 4 }
@inline(never) func decode(_ x: Int) -> Int { x &- 1 }
nonisolated(unsafe) var otherHookTotal = 0
@inline(never) func otherHook(_ x: Int) { otherHookTotal &+= 1000 &* x }

// Call sites in this executable, of the library's public functions (inlined here by cross-module
// optimization where the shape allows it) and of its @inlinable code.
@inline(never) func scaleSumHere(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= scale(i) }
    return s
}
@inline(never) func scaleTailHere(_ x: Int) -> Int { scale(x) }
@inline(never) func inlinableHere(_ x: Int) -> Int { scaleInlinable(x) }
@inline(never) func encodeHere(_ x: Int) -> Int { Codec.encode(x) &* 100 &+ Legacy.encode(x) }
@inline(never) func hookHere(_ n: Int) { for i in 1...n { hook(i) } }
@inline(never) func flagsHere() -> Int { (verbose ? 1 : 0) &+ (fastPath ? 10 : 0) &+ (verboseInlinable() ? 100 : 0) }

/// Every caller of scale(_:) gives `f`'s results.
func checkScale(_ state: String, _ f: (Int) -> Int) {
    expect(scale(5) == f(5), "\(state): scale from top level")
    expect(scaleSum(4) == (0..<4).reduce(0) { $0 &+ f($1) }, "\(state): loop in the library")
    expect(scaleSumHere(4) == (0..<4).reduce(0) { $0 &+ f($1) }, "\(state): loop in the executable")
    expect(scaleTail(6) == f(6), "\(state): tail call in the library")
    expect(scaleTailHere(6) == f(6), "\(state): tail call in the executable")
    expect(scaleInlinable(2) == f(2) &+ 1, "\(state): @inlinable code")
    expect(inlinableHere(3) == f(3) &+ 1, "\(state): @inlinable code inlined into a function")
}

func checkEncode(_ state: String, codec: (Int) -> Int, legacy: (Int) -> Int) {
    expect(encodeBoth(7) == codec(7) &* 100 &+ legacy(7), "\(state): both encodes in the library")
    expect(encodeHere(7) == codec(7) &* 100 &+ legacy(7), "\(state): both encodes in the executable")
}

func checkHook(_ state: String, own: Int, other: Int) {
    hookTotal = 0
    otherHookTotal = 0
    hookEach(3)
    hookHere(3)
    expect(hookTotal == own && otherHookTotal == other, "\(state): hook totals \(hookTotal), \(otherHookTotal)")
}

func checkFlags(_ state: String, verbose v: Bool, fastPath f: Bool) {
    expect(flagCount(3) == (v ? 3 : 0) &+ (f ? 30 : 0), "\(state): flags in a library loop")
    expect(flagsHere() == (v ? 101 : 0) &+ (f ? 10 : 0), "\(state): flags in the executable")
}

/// Where this executable is loaded (the report's addresses minus this are objdump's): the start of its
/// mapping at file offset 0, whose virtual address is 0 in a position-independent executable. 0 when
/// not found (the script then sees every site differ, loudly).
func loadBias() -> UInt {
    guard let maps = fopen("/proc/self/maps", "r") else { return 0 }
    defer { fclose(maps) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, maps) > 0, let line {
        let fields = String(cString: line).split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6, fields[2] == "00000000", fields[5].contains("/coverage-"),
              let start = fields[0].split(separator: "-").first else { continue }
        return UInt(start, radix: 16) ?? 0
    }
    return 0
}

func run() {
    do { try StaticCalls.patchAll() } catch { failures.append("patchAll: \(error)") }

    checkScale("default") { $0 &* 3 }
    $scale.update { quadruple($0) }
    checkScale("retargeted") { $0 &* 4 }
    $scale.update(returning: 42)
    checkScale("constant 42") { _ in 42 }
    $scale.update(returning: 1 << 40)
    checkScale("constant 1<<40") { _ in 1 << 40 }
    $scale.reset()
    checkScale("reset") { $0 &* 3 }

    expect(resolveTwice(1) == 11 && resolveAddress(2) == 7, "default: resolveAddress")
    $resolveAddress.update { quadruple($0) }
    expect(resolveTwice(1) == 16 && resolveAddress(2) == 8, "retargeted: resolveAddress")
    $resolveAddress.reset()
    expect(resolveTwice(1) == 11, "reset: resolveAddress")

    checkEncode("default", codec: { $0 &+ 1 }, legacy: { $0 &+ 2 })
    Codec.$encode.update { decode($0) }
    checkEncode("Codec.encode retargeted", codec: { $0 &- 1 }, legacy: { $0 &+ 2 })
    Legacy.$encode.update(returning: 9)
    checkEncode("Legacy.encode constant", codec: { $0 &- 1 }, legacy: { _ in 9 })
    Codec.$encode.reset()
    Legacy.$encode.reset()
    checkEncode("reset", codec: { $0 &+ 1 }, legacy: { $0 &+ 2 })

    checkHook("default", own: 12, other: 0)
    $hook.disable()
    checkHook("disabled", own: 0, other: 0)
    $hook.update { otherHook($0) }
    checkHook("retargeted", own: 0, other: 12_000)
    $hook.reset()
    checkHook("reset", own: 12, other: 0)

    checkFlags("default", verbose: false, fastPath: true)
    verbose = true
    fastPath = false
    checkFlags("flipped", verbose: true, fastPath: false)
    verbose = false
    fastPath = true
    checkFlags("back", verbose: false, fastPath: true)

    print("BIAS \(loadBias())")
    print("REPORT \(StaticCalls.report().json)")
    print("\(checks) checks, \(failures.count) failed")
    for f in failures { print("FAIL: \(f)") }
}

run()
if !failures.isEmpty { exit(1) }
