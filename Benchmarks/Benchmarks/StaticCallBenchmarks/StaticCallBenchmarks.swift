// Wall clock and malloc counts with ordo-one/benchmark, for every loop case and every update shape.
// Hardware counters are not available on the machines this was written on (`instructions` reads 0
// there); `Benchmarks/callgrind.sh` counts instructions instead.
//
//   swift package --package-path Benchmarks benchmark
//   STATICCALL_MODE=indirect swift package --package-path Benchmarks benchmark --filter 'call/@StaticCall'
import Benchmark
import BenchmarkCases
@_spi(Measurement) import StaticCall

/// Alternates the update targets; benchmarks run one at a time.
nonisolated(unsafe) var round = 0

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )
    LoopCases.prepare()

    // One benchmark iteration is one loop iteration (the loop runs scaledIterations times inside one
    // call, so that the timer's own cost is spread over a million iterations).
    for c in LoopCases.all {
        let scale: BenchmarkScalingFactor = c.group == "end-to-end" ? .kilo : .mega
        Benchmark("\(c.group)/\(c.name)", configuration: .init(scalingFactor: scale)) { benchmark in
            Benchmark.blackHole(c.run(benchmark.scaledIterations.upperBound))
        }
    }

    // Update latency with no other thread running (the tool measures it under load, against syncs).
    Benchmark("update/three bare membarrier syncs (the floor)") { benchmark in
        for _ in benchmark.scaledIterations { StaticCallMeasurement.threeSyncs() }
    }
    Benchmark("update/1 key, 10 sites") { benchmark in
        for _ in benchmark.scaledIterations {
            round += 1
            updateTenSites(round: round)
        }
    } setup: {
        Benchmark.blackHole(driveTenSites(1))
    }
    Benchmark("update/1 key, 1000 sites") { benchmark in
        for _ in benchmark.scaledIterations {
            round += 1
            updateThousandSites(round: round)
        }
    } setup: {
        Benchmark.blackHole(driveThousandSites(1))
    }
    Benchmark("update/100 keys × 10 sites, batched") { benchmark in
        for _ in benchmark.scaledIterations {
            round += 1
            let r = round
            StaticCalls.batch { updateBatchKeys(round: r) }
        }
    } setup: {
        Benchmark.blackHole(driveBatchKeys(1))
    }
}
