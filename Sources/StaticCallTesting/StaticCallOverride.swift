import StaticCall
import Testing

/// A test or suite trait that overrides one static call or static key for the duration of the test
/// (or suite), then gives it back the state it had before, exactly.
///
/// ```swift
/// @Test(.staticCall($checksum) { fakeChecksum($0) })
/// func rejectsCorruptPackets() { … }
///
/// @Test(.staticKey($tracingEnabled, true))
/// func tracesEveryPacket() { … }
/// ```
///
/// Keys are process-global: while a test overrides `checksum`, every thread of the test process calls
/// the fake, so tests that override the same key are serialized against each other (tests overriding
/// other keys, and tests overriding none, still run in parallel). A test that calls an overridden key
/// from a test that does *not* override it sees whichever state the key has at that moment: give such
/// tests the trait too, or put them in a `.serialized` suite.
///
/// When the test ends, the trait checks that the key still holds the override: if not, the test itself
/// or a test running beside it changed the key without the trait (an override that leaks across
/// tests), and an issue is recorded. The state from before the test is restored either way.
public struct StaticCallOverride: TestTrait, SuiteTrait, TestScoping {
    /// The overridden key's name, as `StaticCalls.report()` shows it.
    public let keyName: String
    let keyID: UInt
    let describeOverride: String
    /// Applies the override; returns what ends it: a function that restores the previous state and
    /// returns the state found at the end (nil if it was the override).
    let begin: @Sendable () -> @Sendable () -> String?

    /// On a suite, the override applies once around the whole suite, not again around each test.
    public var isRecursive: Bool { false }

    /// Swift Testing's hook: applies the override (taking its key's lock), runs the test or suite, then
    /// restores the state from before and records an issue if the key no longer held the override.
    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let around = OverrideScopes.holding
        if around[keyID]?.test == test.id { // taken, with this test's other keys, by its first override
            return try await overriding(test, function)
        }
        // The first override of a test (or suite) takes the locks of every key it overrides at once,
        // each within the scope that holds that key around it, if any.
        let keys = Set(test.traits.compactMap { ($0 as? StaticCallOverride)?.keyID } + [keyID])
            .filter { around[$0]?.test != test.id }
        let locks = Set(keys.map { KeyLocks.Lock(key: $0, scope: around[$0]?.scope ?? 0) })
        await KeyLocks.shared.acquire(locks)
        defer { KeyLocks.shared.release(locks) }
        var inside = around
        let scope = OverrideScopes.newScope()
        for key in keys { inside[key] = OverrideScopes.Holder(scope: scope, test: test.id) }
        try await OverrideScopes.$holding.withValue(inside) {
            try await overriding(test, function)
        }
    }

    private func overriding(_ test: Test, _ function: @Sendable () async throws -> Void) async throws {
        let end = begin()
        defer {
            if let found = end() {
                Issue.record(Comment(rawValue: "\(keyName) was changed while \(test.name) overrode it (\(describeOverride)); found \(found) at the end: this test or one running beside it updates the key without the .staticCall trait. Its state from before the test was restored."))
            }
        }
        try await function()
    }
}

extension Trait where Self == StaticCallOverride {
    /// Overrides a static call for the duration of the test (or suite): every call goes to `target`,
    /// and the key's previous state is restored exactly afterwards. `target` is a non-capturing closure,
    /// as for `update(_:)`. (A key whose parameters or result hold a struct of more than four words can
    /// crash the Swift 6.3 compiler here, as `let f = $name.target` can; use `$name.withTarget` inside the
    /// test for such keys.)
    public static func staticCall<Key: StaticCallKeyProtocol>(_ key: Key, _ target: Key.Function) -> Self {
        let state = key.state(targeting: target)
        return StaticCallOverride(keyName: key.name, keyID: key._storageAddress, override: state,
                                  read: { key.state }, write: { key.restore($0) }, holds: { $0 == state })
    }

    /// Sets a static key to `value` for the duration of the test (or suite), and restores its previous
    /// state (counted enables included) afterwards.
    public static func staticKey<Key: StaticKeyProtocol>(_ key: Key, _ value: Bool) -> Self {
        StaticCallOverride(keyName: key.name, keyID: key._storageAddress, override: StaticKeyState(value),
                           read: { key.state }, write: { key.restore($0) }, holds: { $0.isEnabled == value })
    }
}

extension StaticCallOverride {
    /// An override of a key whose state `read` reads and `write` restores: `override` for the duration,
    /// then the state from before; at the end, the key must still hold a state that `holds` accepts.
    init<State: Sendable & CustomStringConvertible>(keyName: String, keyID: UInt, override: State,
                                                    read: @escaping @Sendable () -> State,
                                                    write: @escaping @Sendable (State) -> Void,
                                                    holds: @escaping @Sendable (State) -> Bool) {
        self.init(keyName: keyName, keyID: keyID, describeOverride: "\(override)") {
            let saved = read()
            write(override)
            return {
                let now = read()
                write(saved)
                return holds(now) ? nil : "\(now)"
            }
        }
    }
}
