import Synchronization

/// Serializes the tests that override the same key: process-global state cannot be task-local, so two
/// tests overriding `checksum` at once would see each other's fake. Tests overriding different keys
/// still run in parallel. An async lock per key (waiters resume in arrival order).
final class KeyLocks: Sendable {
    static let shared = KeyLocks()

    /// Held keys, each with the continuations of the tests waiting for it.
    private let held = Mutex<[UInt: [CheckedContinuation<Void, Never>]]>([:])

    /// Takes every key in `ids` (in address order, so that two tests wanting the same keys cannot each
    /// hold one and wait for the other).
    func acquire(_ ids: [UInt]) async {
        for id in Set(ids).sorted() {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let free = held.withLock { held -> Bool in
                    guard held[id] != nil else {
                        held[id] = []
                        return true
                    }
                    held[id]!.append(c)
                    return false
                }
                if free { c.resume() }
            }
        }
    }

    /// Gives the keys back (each to its next waiter, if any).
    func release(_ ids: [UInt]) {
        for id in Set(ids) {
            let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
                guard var waiters = held[id], !waiters.isEmpty else {
                    held[id] = nil
                    return nil
                }
                let first = waiters.removeFirst()
                held[id] = waiters
                return first
            }
            next?.resume()
        }
    }
}

/// The keys the current task holds (an override nested in another of the same test takes none again).
enum HeldKeys {
    @TaskLocal static var ids: Set<UInt> = []
}
