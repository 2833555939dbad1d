// What the test targets share (StaticCallTests, StaticCallCLITests): running the package's programs and
// expecting them to pass.
import Foundation
import Testing

/// A test program run: its name in the test list, its arguments and its environment.
public struct IntegrationCase: CustomTestStringConvertible, Sendable {
    public init(name: String, arguments: [String], environment: [String: String]) {
        self.name = name
        self.arguments = arguments
        self.environment = environment
    }

    public var name: String
    public var arguments: [String]
    public var environment: [String: String]
    public var testDescription: String { name }
}

/// Runs `body` on a thread of its own and returns its result: blocking work (waiting for a child
/// process, a nested `swift build`) must not hold one of the few threads of Swift concurrency's pool,
/// on which every test of the run takes turns (two on a 2-core machine).
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
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
public actor ProgramSlots {
    public static let shared = ProgramSlots(count: min(8, max(2, 2 * ProcessInfo.processInfo.activeProcessorCount)))

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(count: Int) { free = count }

    public func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    public func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// `runProcess` for a test program: in one of the `ProgramSlots`, on a thread of its own.
public func runProgram(_ executable: String, _ arguments: [String], environment: [String: String], timeout: Double?) async -> ProcessOutcome {
    await ProgramSlots.shared.acquire()
    let outcome = await onOwnThread { runProcess(executable, arguments, environment: environment, timeout: timeout) }
    await ProgramSlots.shared.release()
    return outcome
}

/// Runs a test program that prints PASS/FAIL lines and a closing "N passed, M failed", and expects it to
/// pass: every message names the program and its arguments, so a failure says which one failed.
public func expectProgramPasses(_ binary: String, _ c: IntegrationCase, timeout: Double,
                                sourceLocation: SourceLocation = #_sourceLocation) async {
    let result = await runProgram(binary, c.arguments, environment: c.environment, timeout: timeout)
    let program = ([URL(fileURLWithPath: binary).lastPathComponent] + c.arguments).joined(separator: " ")
        + c.environment.sorted(by: { $0.key < $1.key }).map { " (\($0.key)=\($0.value))" }.joined()
    let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
    #expect(!result.timedOut, "\(program): timed out after \(Int(timeout)) s (a deadlock?)\n\(result.output.suffix(4000))", sourceLocation: sourceLocation)
    #expect(result.status == 0 && !result.signaled,
            "\(program): exit \(result.status)\(result.signaled ? " (signal)" : "")\n\(result.output.suffix(4000))",
            sourceLocation: sourceLocation)
    #expect(failures.isEmpty, "\(program):\n\(failures.joined(separator: "\n"))", sourceLocation: sourceLocation)
    #expect(result.output.contains(" passed, 0 failed"), "\(program): no \"passed, 0 failed\" line\n\(result.output.suffix(2000))", sourceLocation: sourceLocation)
}
