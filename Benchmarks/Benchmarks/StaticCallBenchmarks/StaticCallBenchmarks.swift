// Wall clock and malloc counts with ordo-one/benchmark, for every loop case and every update shape.
// Hardware counters are not available on the machines this was written on (`instructions` reads 0
// there); `Benchmarks/callgrind.sh` counts instructions instead.
//
//   swift package --package-path Benchmarks benchmark
//   STATICCALL_MODE=indirect swift package --package-path Benchmarks benchmark --filter 'call/@StaticCall ×1000'
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

    // One benchmark iteration is 1000 loop iterations: the per-iteration times (1–50 ns) are below the
    // integer-nanosecond resolution of the report, and the timer's own cost is spread over 1000.
    for c in LoopCases.all {
        Benchmark("\(c.group)/\(c.name) ×1000") { benchmark in
            for _ in benchmark.scaledIterations { Benchmark.blackHole(c.run(1000)) }
        }
    }

    // Update latency with no other thread running (the tool measures it under load, against syncs).
    Benchmark("update/three bare membarrier syncs (the floor)") { benchmark in
        for _ in benchmark.scaledIterations { StaticCallMeasurement.threeSyncs() }
    }
    let shapes: [(name: String, drive: @Sendable (Int) -> Int, update: @Sendable (Int) -> Void)] = [
        ("1 key, 10 sites", { driveTenSites($0) }, { updateTenSites(round: $0) }),
        ("1 key, 1000 sites", { driveThousandSites($0) }, { updateThousandSites(round: $0) }),
        ("100 keys × 10 sites, batched", { driveBatchKeys($0) }, { r in StaticCalls.batch { updateBatchKeys(round: r) } }),
    ]
    for shape in shapes {
        Benchmark("update/\(shape.name)") { benchmark in
            for _ in benchmark.scaledIterations {
                round += 1
                shape.update(round)
            }
        } setup: {
            Benchmark.blackHole(shape.drive(1)) // registration and discovery happen before the timing
        }
    }
}
