import Synchronization
import Testing

/// Serializes the tests that override the same key: process-global state cannot be task-local, so two
/// tests overriding `checksum` at once would see each other's fake. Tests overriding different keys
/// still run in parallel.
///
/// A lock is a key *within a scope*: the tests of a suite that itself overrides `checksum` lock
/// (`checksum`, that suite's override) against each other, not against the suite, which holds
/// (`checksum`, top level) for as long as it runs. A test takes all its locks at once, or waits without
/// holding any (so two tests wanting the same keys in another order cannot each hold one and wait for
/// the other). Whoever finds all it wants free takes it, even past earlier waiters: a waiter may be
/// waiting for a suite that in turn waits for the newcomer, one of its own tests. (Two suites that each
/// override a key that a test inside the other overrides still wait for each other: do not cross them.)
final class KeyLocks: Sendable {
    static let shared = KeyLocks()

    struct Lock: Hashable, Sendable {
        /// The key's identity (its storage address).
        let key: UInt
        /// The scope that already holds the key around this one (0: none, the top level).
        let scope: UInt64
    }

    private struct State: ~Copyable {
        var held: Set<Lock> = []
        var waiting: [(wants: Set<Lock>, resume: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    /// Takes every lock in `locks` at once.
    func acquire(_ locks: Set<Lock>) async {
        guard !locks.isEmpty else { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let free = state.withLock { s -> Bool in
                if s.held.isDisjoint(with: locks) {
                    s.held.formUnion(locks)
                    return true
                }
                s.waiting.append((locks, c))
                return false
            }
            if free { c.resume() }
        }
    }

    /// Gives the locks back, and wakes every waiter (in arrival order) that can now take all its locks.
    func release(_ locks: Set<Lock>) {
        guard !locks.isEmpty else { return }
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.held.subtract(locks)
            var woken: [CheckedContinuation<Void, Never>] = []
            s.waiting.removeAll { waiter in
                guard waiter.wants.isDisjoint(with: s.held) else { return false }
                s.held.formUnion(waiter.wants)
                woken.append(waiter.resume)
                return true
            }
            return woken
        }
        for c in woken { c.resume() }
    }
}

/// The overrides around the current task: for each key, the scope that holds it (a suite's override,
/// say), so that an override inside it locks within that scope.
enum OverrideScopes {
    struct Holder: Sendable {
        let scope: UInt64
        let test: Test.ID
    }

    @TaskLocal static var holding: [UInt: Holder] = [:]

    private static let next = Atomic<UInt64>(1)
    static func newScope() -> UInt64 { next.wrappingAdd(1, ordering: .relaxed).newValue }
}
