#if canImport(Glibc)
import Glibc
#endif
import BenchmarkCases
import StaticCall

/// Every loop case, interleaved round by round so that all see the same machine state; prints the
/// median nanoseconds per iteration and the ratio to the first case of its group (its baseline).
func wallClock(rounds: Int, iterations: Int) {
    LoopCases.prepare()
    let cases = LoopCases.all
    // Same work, same output: every case of a group must compute what its first case computes.
    var expected: [String: Int] = [:]
    for c in cases {
        let r = c.run(1000)
        if let e = expected[c.group], e != r {
            printError("staticcall-bench: \(c.group)/\(c.name) computed \(r), the group's first case \(e)\n")
            exit(1)
        }
        expected[c.group] = r
    }
    var samples = Array(repeating: [Double](), count: cases.count)
    for _ in 0..<rounds {
        for (k, c) in cases.enumerated() {
            // The end-to-end loops do ~40× the work of the others per iteration.
            let n = c.group == "end-to-end" ? iterations / 40 : iterations
            let t0 = now()
            blackHole(c.run(n))
            samples[k].append(Double(now() - t0) / Double(n))
        }
    }
    print("| group | case | ns per iteration (median of \(rounds)) | min | ratio to the group's first row |")
    print("|---|---|---:|---:|---:|")
    var baseline: [String: Double] = [:]
    for (k, c) in cases.enumerated() {
        let m = median(samples[k])
        let base = baseline[c.group] ?? m
        baseline[c.group] = base
        print("| \(c.group) | \(c.name) | \(fixed(m, 3)) | \(fixed(samples[k].min()!, 3)) | \(fixed(m / base, 3)) |")
    }
    print("")
    print("mode: \(StaticCalls.mode); static keys patched: " + StaticCalls.report().keys.map { "\($0.name) \($0.sitesPatched)/\($0.sitesFound)" }.joined(separator: ", "))
}
