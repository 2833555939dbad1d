#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// How a child process ended.
public struct ProcessOutcome: Sendable {
    public var status: Int32
    /// True when `status` is the number of the signal that ended the process.
    public var signaled: Bool
    public var output: String
    public var timedOut: Bool
}

/// Runs a program to completion (killing it after `timeout` seconds); returns its exit status and
/// combined output.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]) -> (status: Int32, output: String) {
    let outcome = runProcess(executable, arguments, environment: environment, timeout: nil)
    return (outcome.status, outcome.output)
}

/// Spawned with `posix_spawn` and an empty signal mask and default dispositions: a test runs on a
/// worker thread that blocks signals (libdispatch blocks SIGUSR1, SIGCHLD and more there), and
/// Foundation's `Process` would hand that mask to the child (gdb then never sees its inferior stop).
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String], timeout: Double?) -> ProcessOutcome {
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
