#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import CStaticCall

/// The SIGTRAP handler of the INT3 protocol and its tables (in C: see CStaticCall.c), as throwing calls.
enum TrapHandler {
    /// Installs the handler, or re-installs it if someone replaced it since (then chaining to them).
    static func install() throws(SystemError) {
        if cstaticcall_trap_handler_is_installed() != 0 { return }
        let err = cstaticcall_install_trap_handler()
        if err != 0 { throw SystemError("sigaction(SIGTRAP)", errno: err) }
    }

    /// Publishes the in-flight table (sorted by site), replacing the previous one once no handler can
    /// still be reading it. An empty table withdraws it.
    static func publish(_ pokes: [cstaticcall_poke]) throws(SystemError) {
        if pokes.isEmpty {
            cstaticcall_retire_pokes()
            return
        }
        let err = pokes.withUnsafeBufferPointer { cstaticcall_publish_pokes($0.baseAddress, $0.count) }
        if err != 0 { throw SystemError("publish the in-flight table", errno: err) }
    }

    /// Replaces the set of every site the protocol may write (for traps handled after their patch).
    static func setKnownSites(_ sites: [UInt64]) throws(SystemError) {
        let sorted = sites.sorted().map { UInt($0) }
        let err = sorted.withUnsafeBufferPointer { cstaticcall_set_known_sites($0.baseAddress, $0.count) }
        if err != 0 { throw SystemError("publish the known-site set", errno: err) }
    }

    /// The first signal whose handler blocks SIGTRAP while it runs (its `sa_mask`), if any. Handlers of
    /// the fatal synchronous signals are left out: they run while the process is already going down.
    static func handlerMaskingTrap() -> Int32? {
        #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
        let fatal: Set<Int32> = [SIGTRAP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGKILL, SIGSTOP]
        for signal in Int32(1)...Int32(64) where !fatal.contains(signal) {
            var current = sigaction()
            guard sigaction(signal, nil, &current) == 0 else { continue }
            let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
            if handler == 0 || handler == 1 { continue } // SIG_DFL, SIG_IGN
            if sigismember(&current.sa_mask, SIGTRAP) == 1 { return signal }
        }
        return nil
        #else
        return nil // no INT3 protocol here (and `struct sigaction`'s handler field is named per libc)
        #endif
    }

    /// In a child process after fork (with or without fork handlers): forgets the readers of the tables
    /// that were threads of the parent.
    static func resetAfterFork() { cstaticcall_reset_after_fork() }

    /// Whether this thread runs with a user shadow stack (CET), where emulating a CALL from the handler
    /// would break the matching RET.
    static var shadowStackEnabled: Bool { cstaticcall_shadow_stack_enabled() != 0 }

    /// Traps emulated mid-patch, and traps resumed after their patch finished, since start.
    static var emulatedTraps: Int { Int(cstaticcall_emulated_traps()) }
    static var lateTraps: Int { Int(cstaticcall_late_traps()) }
}
