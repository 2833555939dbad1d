// The measurement tool the scripts in Benchmarks/ drive. Each subcommand prints Markdown table rows,
// so RESULTS.md is assembled from its output and never edited by hand.
//
//   staticcall-bench list                            the loop cases: symbol, group, name
//   staticcall-bench run <symbol> <n>                one case, n iterations (for callgrind)
//   staticcall-bench wall [rounds] [iterations]      every loop case, interleaved, ns per iteration
//   staticcall-bench update <threads> [rounds] [name]  update latency against three bare syncs
//   staticcall-bench discovery <lib.so> <symbol>     discovery time over a (large) shared object
#if canImport(Glibc)
import Glibc
#endif
import BenchmarkCases
@_spi(Measurement) import StaticCall

func usage() -> Never {
    let text = """
        usage: staticcall-bench list | run <symbol> <n> | wall [rounds] [iterations]
                                | update <threads> [rounds] [case name part] | discovery <lib.so> <symbol>

        """
    printError(text)
    exit(64)
}

let arguments = Array(CommandLine.arguments.dropFirst())
func argument(_ i: Int, default value: Int) -> Int {
    guard i < arguments.count else { return value }
    guard let v = Int(arguments[i]), v >= 0 else { usage() }
    return v
}

switch arguments.first {
case "list":
    for c in LoopCases.all { print("\(c.symbol)\t\(c.group)\t\(c.name)") }
case "run":
    guard arguments.count == 3, let c = LoopCases.named(arguments[1]), let n = Int(arguments[2]) else { usage() }
    LoopCases.prepare()
    // One loop per process, so that callgrind's --toggle-collect on the loop symbol counts exactly
    // the loop and what it calls.
    blackHole(c.run(n))
    print("\(c.symbol) \(n) mode \(StaticCalls.mode)")
case "wall":
    wallClock(rounds: argument(1, default: 15), iterations: argument(2, default: 2_000_000))
case "update":
    update(threads: argument(1, default: 2), rounds: argument(2, default: 1000), only: arguments.count > 3 ? arguments[3] : nil)
case "discovery":
    guard arguments.count == 3 else { usage() }
    discovery(library: arguments[1], symbol: arguments[2])
default:
    usage()
}
