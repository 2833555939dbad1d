import Foundation
@testable import StaticCall
import Synchronization
import StaticCallTestSupport
import Testing

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
        IntegrationCase(name: "indirect mode without counting: every trampoline jumps straight to a plain target",
                        arguments: [], environment: ["STATICCALL_MODE": "indirect", "STATICCALL_STATS": "0"]),
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
