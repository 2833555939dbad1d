import Foundation

/// Runs `body` on a thread of its own and returns its result: blocking work (waiting for a child
/// process, a nested `swift build`) must not hold one of the few threads of Swift concurrency's pool,
/// on which every test of the run takes turns (two on a 2-core machine).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// How many test programs (integration, fault matrix, images) run at once. Each spends most of its time
/// waiting, not computing: its updater sleeps on the mapping lock until a calling thread that faulted
/// during a page remap has run, and on a machine with fewer cores than threads that calling thread often
/// waits for the next scheduler tick. One at a time per suite, the whole run waited on those ticks;
/// a few at once overlap them. Bounded, so that the programs' calling threads, which spin (the soaks
/// start one per core), leave each updater a share of the cores.
actor ProgramSlots {
    static let shared = ProgramSlots(count: min(8, max(2, 2 * ProcessInfo.processInfo.activeProcessorCount)))

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// `runProcess` for a test program: in one of the `ProgramSlots`, on a thread of its own.
func runProgram(_ executable: String, _ arguments: [String], environment: [String: String], timeout: Double?) async -> ProcessOutcome {
    await ProgramSlots.shared.acquire()
    let outcome = await onOwnThread { runProcess(executable, arguments, environment: environment, timeout: timeout) }
    await ProgramSlots.shared.release()
    return outcome
}
