import Foundation
@testable import StaticCall
import Synchronization
import Testing

/// The integration programs. `swift test` builds them with the tests (they are executable targets of this
/// package, compiled with -O even in a debug build: the patcher must be proven on optimized code); they are
/// found beside the test bundle, or built there if missing, or taken from `STATICCALL_INTEGRATION_BIN`
/// (and the other overrides) if set.
enum IntegrationBinary {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let path: Result<String, BuildError> = build("staticcall-integration", override: "STATICCALL_INTEGRATION_BIN")
    static let macroProgramPath: Result<String, BuildError> = build("staticcall-macro-integration", override: "STATICCALL_MACRO_INTEGRATION_BIN")

    /// The directory this test bundle was built into, which holds every product of the same build.
    static let binDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The bundle is an `.xctest` directory on some platforms, the executable itself on Linux.
        if directory.pathExtension == "xctest" { directory = directory.deletingLastPathComponent() }
        return directory.path
    }()

    static func build(_ product: String, override: String? = nil) -> Result<String, BuildError> {
        if let override, let given = ProcessInfo.processInfo.environment[override] { return .success(given) }
        let beside = binDirectory + "/" + product
        if FileManager.default.isExecutableFile(atPath: beside) { return .success(beside) }
        // Not built with the tests (e.g. `swift build --target StaticCallTests`): build it on its own.
        let scratch = packageRoot.appendingPathComponent(".build-integration").path
        let result = runProcess("/usr/bin/env", ["swift", "build", "--scratch-path", scratch,
                                                 "--package-path", packageRoot.path, "--product", product], environment: [:])
        guard result.status == 0 else { return .failure(BuildError(output: result.output)) }
        return .success(scratch + "/debug/" + product)
    }

    struct BuildError: Error, CustomStringConvertible {
        var output: String
        var description: String { "build failed:\n\(output)" }
    }
}

/// How a child process ended.
struct ProcessOutcome: Sendable {
    var status: Int32
    /// True when `status` is the number of the signal that ended the process.
    var signaled: Bool
    var output: String
    var timedOut: Bool
}

/// Runs a program to completion (killing it after `timeout` seconds); returns its exit status and
/// combined output.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]) -> (status: Int32, output: String) {
    let outcome = runProcess(executable, arguments, environment: environment, timeout: nil)
    return (outcome.status, outcome.output)
}

/// Spawned with `posix_spawn` and an empty signal mask and default dispositions: a test runs on a
/// worker thread that blocks signals (libdispatch blocks SIGUSR1, SIGCHLD and more there), and
/// Foundation's `Process` would hand that mask to the child (gdb then never sees its inferior stop).
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String], timeout: Double?) -> ProcessOutcome {
    var env = ProcessInfo.processInfo.environment
    for key in env.keys where key.hasPrefix("STATICCALL_") && key != "STATICCALL_INTEGRATION_BIN" { env[key] = nil }
    env.merge(environment) { $1 }
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return ProcessOutcome(status: -1, signaled: false, output: "pipe: errno \(errno)", timedOut: false) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, fds[1])
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    close(fds[1])
    guard spawned == 0 else {
        close(fds[0])
        return ProcessOutcome(status: -1, signaled: false, output: "posix_spawn \(executable): errno \(spawned)", timedOut: false)
    }
    let finished = Mutex(false)
    let killed = Mutex(false)
    let child = pid
    if let timeout {
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            finished.withLock { done in
                if !done {
                    killed.withLock { $0 = true }
                    kill(child, SIGKILL)
                }
            }
        }
    }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        output.append(contentsOf: buffer[0..<n])
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    finished.withLock { $0 = true }
    let signal = status & 0x7f
    let signaled = signal != 0 && signal != 0x7f
    return ProcessOutcome(status: signaled ? signal : (status >> 8) & 0xff, signaled: signaled,
                          output: String(decoding: output, as: UTF8.self), timedOut: killed.withLock { $0 })
}

struct IntegrationCase: CustomTestStringConvertible, Sendable {
    var name: String
    var arguments: [String]
    var environment: [String: String]
    var testDescription: String { name }
}

@Suite("Integration program (-O)")
struct IntegrationTests {
    static let cases = Engine.isBuilt ? engineCases : portableCases

    /// The portable build (trait ForcePortable): the same programs check the same results, in indirect
    /// mode for the platform's reason, with nothing looked for or patched.
    static let portableCases: [IntegrationCase] = [
        IntegrationCase(name: "portable build: every state at every kind of call, indirect for the platform's reason",
                        arguments: ["basic", "--expect-mode", "indirect", "--expect-reason", "the portable one"],
                        environment: ["STATICCALL_STATS": "1"]),
        IntegrationCase(name: "portable build: two threads call while update rounds cycle targets, NOP and constants",
                        arguments: ["stress", "--iterations", "3000", "--expect-mode", "indirect"], environment: [:]),
        IntegrationCase(name: "portable build: a forked child calls and updates on its own (fork handlers on every platform)",
                        arguments: ["fork"], environment: [:]),
    ]

    static let engineCases: [IntegrationCase] = [
        IntegrationCase(name: "every state at loop, tail, other-file and second-module sites (inline, page remap)",
                        arguments: ["basic", "--expect-mode", "inline", "--expect-writer", "page-remap (proc-self-mem)"],
                        environment: ["STATICCALL_STATS": "1"]),
        IntegrationCase(name: "two threads call while 10^4 update rounds cycle targets, NOP and constants",
                        arguments: ["stress", "--iterations", "10000", "--expect-mode", "inline"], environment: [:]),
        IntegrationCase(name: "STATICCALL_MODE=indirect: same results, nothing patched, slow path every call",
                        arguments: ["basic", "--expect-mode", "indirect", "--expect-reason", "STATICCALL_MODE"],
                        environment: ["STATICCALL_MODE": "indirect", "STATICCALL_STATS": "1"]),
        IntegrationCase(name: "STATICCALL_MODE=indirect under load",
                        arguments: ["stress", "--iterations", "3000", "--expect-mode", "indirect"], environment: ["STATICCALL_MODE": "indirect"]),
        IntegrationCase(name: "MDWE (PR_SET_MDWE) with /proc/self/mem refused (seccomp): indirect, reason names mprotect",
                        arguments: ["mdwe", "--deny-proc-mem", "--expect-mode", "indirect", "--expect-reason", "mprotect"],
                        environment: [:]),
        IntegrationCase(name: "MDWE alone: pages are still remapped through /proc/self/mem",
                        arguments: ["mdwe", "--expect-mode", "inline", "--expect-writer", "page-remap (proc-self-mem)"], environment: [:]),
        IntegrationCase(name: "a user's SIGTRAP handler installed later still gets raise(SIGTRAP), and patching under load still works",
                        arguments: ["sigtrap", "--iterations", "5000"], environment: [:]),
        IntegrationCase(name: "a forked child calls and patches on its own",
                        arguments: ["fork"], environment: [:]),
        IntegrationCase(name: "short soak: every core calls while updates run, a thread blocks every signal, foreign SIGTRAPs (page remap)",
                        arguments: ["soak", "--iterations", "3000"], environment: [:]),
        IntegrationCase(name: "short soak with the INT3 fallback (remapping refused), foreign SIGTRAPs",
                        arguments: ["soak", "--iterations", "3000", "--int3"], environment: [:]),
    ]

    @Test(arguments: cases)
    func integrationProgramPasses(_ c: IntegrationCase) async throws {
        try await expectProgramPasses(IntegrationBinary.path.get(), c, timeout: 900)
    }

    static let macroCases: [IntegrationCase] = [
        IntegrationCase(name: "the API contract program through the macros, three modules, two calling threads (inline)",
                        arguments: [], environment: [:]),
        IntegrationCase(name: "the API contract program under STATICCALL_MODE=indirect",
                        arguments: [], environment: ["STATICCALL_MODE": "indirect"]),
        IntegrationCase(name: "a key's first call registers it", arguments: ["first-call"], environment: [:]),
        IntegrationCase(name: "patchAll() at start-up registers and patches every key of the program before any is used",
                        arguments: ["first-call", "--patch-all"], environment: ["STATICCALL_STATS": "1"]),
        IntegrationCase(name: "patchAll() at start-up, indirect mode", arguments: ["first-call", "--patch-all"],
                        environment: ["STATICCALL_MODE": "indirect"]),
    ]

    @Test(arguments: macroCases)
    func macroProgramPasses(_ c: IntegrationCase) async throws {
        try await expectProgramPasses(IntegrationBinary.macroProgramPath.get(), c, timeout: 900)
    }
}
