import Foundation
@testable import StaticCall
import StaticCallTestSupport
import Testing

/// One row of the fault matrix: an ordinary process event, and what the process must do.
struct FaultRow: CustomTestStringConvertible, Sendable {
    enum Outcome: Sendable {
        /// Runs to the end with every check passing.
        case passes
        /// Ends by this signal after every check before it passed (a foreign trap at SIG_DFL).
        case endsBySignal(Int32)
        /// Stops at once with this message on stderr (misuse that cannot be made safe).
        case failsLoudly(String)
    }

    var event: String
    var fault: String
    var outcome: Outcome
    var environment: [String: String] = [:]
    var arguments: [String] = []
    var testDescription: String { event }
}

/// The fault matrix of the safety contract, each row in its own process: the event happens for real
/// (a seccomp filter, a signal mask, a foreign SIGTRAP handler, a raw fork), other threads call the sites
/// while keys are updated, and the results and the report are checked.
@Suite("Fault matrix: ordinary process events never crash a patch or call a wrong target",
       .enabled(if: Engine.isBuilt, "the portable build patches nothing"))
struct FaultMatrixTests {
    static let rows: [FaultRow] = [
        FaultRow(event: "a calling thread blocks every signal (the sigwait pattern)", fault: "blocked-sigtrap", outcome: .passes),
        FaultRow(event: "a signal handler with a full sa_mask makes static calls during updates", fault: "masking-handler", outcome: .passes),
        FaultRow(event: "seccomp refuses membarrier from start-up", fault: "membarrier-refused-at-start", outcome: .passes),
        FaultRow(event: "seccomp refuses membarrier after the first patch", fault: "membarrier-refused-later", outcome: .passes),
        FaultRow(event: "seccomp refuses /proc/self/mem writes (pwrite64)", fault: "proc-mem-refused", outcome: .passes),
        FaultRow(event: "seccomp refuses mprotect(PROT_EXEC)", fault: "mprotect-exec-refused", outcome: .passes),
        FaultRow(event: "seccomp refuses mremap: the INT3 protocol carries the updates", fault: "remap-refused", outcome: .passes),
        FaultRow(event: "another patcher writes a site's bytes: the site is no longer counted, patchAll() throws", fault: "foreign-write-at-site", outcome: .passes),
        FaultRow(event: "every text write refused from start-up: indirect mode", fault: "writes-refused-at-start", outcome: .passes),
        FaultRow(event: "every text write refused after patching: visible failure, whole instructions", fault: "writes-refused-later", outcome: .passes),
        FaultRow(event: "the INT3 fallback with a thread blocking SIGTRAP: refused while it does, then resumes", fault: "int3-blocked-thread", outcome: .passes),
        FaultRow(event: "the INT3 fallback loses membarrier after its first patch: first bytes put back", fault: "int3-membarrier-refused-later", outcome: .passes),
        FaultRow(event: "the INT3 fallback fails mid-patch: the site stays trapped and emulates the current state", fault: "int3-fails-mid-patch", outcome: .passes),
        FaultRow(event: "a fork while another thread is inside the SIGTRAP handler", fault: "fork-during-trap", outcome: .passes),
        FaultRow(event: "mprotect(RWX) allowed but mprotect(RX) refused: no page is left writable", fault: "mprotect-rx-refused", outcome: .passes),
        FaultRow(event: "a target in an execute-only library (PF_X without PF_R) is never read", fault: "execute-only-target",
                 outcome: .passes, arguments: ["--library", ExecuteOnlyLibrary.path]),
        FaultRow(event: "a raw fork (no fork handlers) child patches its own code", fault: "raw-fork", outcome: .passes),
        FaultRow(event: "a foreign SIGTRAP handler that siglongjmps", fault: "trap-handler-longjmps", outcome: .passes),
        FaultRow(event: "a foreign SIGTRAP handler that returns", fault: "trap-handler-returns", outcome: .passes),
        FaultRow(event: "SIGTRAP ignored (SIG_IGN)", fault: "trap-ignored", outcome: .passes),
        FaultRow(event: "SIGTRAP at SIG_DFL: a foreign trap still ends the process", fault: "trap-default",
                 outcome: .endsBySignal(SIGTRAP), environment: ["SWIFT_BACKTRACE": "enable=no"]),
        FaultRow(event: "an update from a signal handler that interrupted an update on the same thread",
                 fault: "update-from-handler", outcome: .failsLoudly("StaticCall: re-entered from a signal handler"),
                 environment: ["SWIFT_BACKTRACE": "enable=no"]),
    ]

    @Test(arguments: rows)
    func processSurvivesAndCallsTheRightTarget(_ row: FaultRow) async throws {
        let binary = try IntegrationBinary.path.get()
        let result = await runProgram(binary, ["fault", row.fault, "--iterations", "3000"] + row.arguments, environment: row.environment, timeout: 300)
        let tail = String(result.output.suffix(4000))
        #expect(!result.timedOut, "timed out (a deadlock?)\n\(tail)")
        let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        switch row.outcome {
        case .passes:
            #expect(result.status == 0 && !result.signaled, "exit \(result.status)\(result.signaled ? " (signal)" : "")\n\(tail)")
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(result.output.contains(" passed, 0 failed"), "\(tail)")
        case let .endsBySignal(signal):
            #expect(result.signaled && result.status == signal, "expected death by signal \(signal); got status \(result.status)\n\(tail)")
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(result.output.contains(" passed, 0 failed before"), "\(tail)")
        case let .failsLoudly(message):
            #expect(result.signaled, "expected a trap; got exit \(result.status)\n\(tail)")
            #expect(result.output.contains(message), "expected \"\(message)\"\n\(tail)")
        }
    }

    /// gdb with default settings stops a thread at every SIGTRAP it sees. A patching program with two
    /// threads calling through every update must run to completion under it: with page remapping (which
    /// writes no INT3), and with the INT3 fallback (which refuses to write while a tracer is attached).
    @Test(arguments: [["stress", "--iterations", "3000", "--expect-mode", "inline"], ["fault", "int3-under-tracer", "--iterations", "3000"]])
    func patchingProgramRunsToCompletionUnderGdb(_ arguments: [String]) async throws {
        let binary = try IntegrationBinary.path.get()
        let gdb = ["/usr/bin/gdb", "/usr/local/bin/gdb"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(gdb, "gdb is not installed (.ci/run installs it)")
        let result = await runProgram(path, ["-nx", "-batch", "-ex", "run", "--args", binary] + arguments, environment: [:], timeout: 300)
        let tail = String(result.output.suffix(4000))
        #expect(!result.timedOut, "timed out\n\(tail)")
        #expect(!result.output.contains("received signal SIGTRAP"), "a thread stopped on a SIGTRAP\n\(tail)")
        #expect(!result.output.contains("FAIL"), "\(tail)")
        #expect(result.output.contains(" passed, 0 failed"), "\(tail)")
        #expect(result.output.contains("exited normally"), "\(tail)")
    }
}

extension FaultMatrixTests {
    /// No mapping is ever writable and executable at once: every mmap, mprotect and mremap of a patching
    /// program with two threads calling, seen by strace (the capability probe used to make a page of our
    /// code RWX at every start-up).
    @Test func noMappingIsEverWritableAndExecutable() async throws {
        let binary = try IntegrationBinary.path.get()
        let strace = ["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(strace, "strace is not installed (.ci/run installs it)")
        let result = await runProgram(path, ["-f", "-qq", "-e", "trace=mmap,mprotect,mremap", "-e", "signal=none", binary, "stress", "--iterations", "300"],
                                environment: [:], timeout: 300)
        let tail = String(result.output.suffix(3000))
        #expect(result.status == 0 && result.output.contains(" passed, 0 failed"), "\(tail)")
        #expect(result.output.contains("mremap("), "strace saw no mremap: the trace did not work\n\(tail)")
        let writableAndExecutable = result.output.split(separator: "\n").filter { $0.contains("PROT_WRITE") && $0.contains("PROT_EXEC") }
        #expect(writableAndExecutable.isEmpty, "\(writableAndExecutable.prefix(5).joined(separator: "\n"))")
    }
}

/// A C shared library whose text segment is execute-only: built with gcc, then its PT_LOAD flags changed
/// from R+X to X (no linker here makes that on x86-64). The loader maps it PROT_EXEC only, which a CPU
/// with protection keys enforces: reading its code faults.
enum ExecuteOnlyLibrary {
    static let path: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("staticcall-xonly-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("xonly.c")
        let built = directory.appendingPathComponent("libbuilt.so").path
        let library = directory.appendingPathComponent("libxonly.so").path
        try? "long xonly_times13(long x) { return x * 13; }\n".write(to: source, atomically: true, encoding: .utf8)
        _ = runProcess("/usr/bin/env", ["gcc", "-O2", "-fPIC", "-shared", "-Wl,-z,separate-code", source.path, "-o", built], environment: [:])
        guard var bytes = FileManager.default.contents(atPath: built).map({ [UInt8]($0) }), bytes.count > 64 else { return library }
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * $1) } }
        let tableOffset = (0..<8).reduce(0) { $0 | Int(bytes[0x20 + $1]) << (8 * $1) }
        for i in 0..<u16(0x38) {
            let header = tableOffset + i * u16(0x36)
            if u32(header) == 1 && u32(header + 4) == 5 { bytes[header + 4] = 1 } // PT_LOAD R+X -> X
        }
        _ = FileManager.default.createFile(atPath: library, contents: Data(bytes))
        return library
    }()
}
