internal import MachineCode

/// A static call's state as a value: what `$f.state` returns and `$f.restore(_:)` gives back exactly.
/// The analogue of what the kernel's static_call_query() returns, for every state (the kernel's NULL and
/// `__static_call_return0` included).
///
/// ```swift
/// let saved = $checksum.state
/// $checksum.update { fakeChecksum($0) }
/// …
/// $checksum.restore(saved)        // the default body, a target, disabled or a constant: as it was
/// ```
///
/// A state is only meaningful for the key it was read from. A target state holds the target's address:
/// restoring it after the target's image was unloaded moves the key to its default body instead.
public struct StaticCallState: Hashable, Sendable, CustomStringConvertible {
    enum Value: Hashable, Sendable {
        case defaultBody
        case target(UInt64)
        case disabled
        case constant(UInt64, width: Int)
    }

    let value: Value

    init(_ value: Value) { self.value = value }

    /// The state of a key that has never been updated: it calls its declaration's body.
    public static let defaultBody = StaticCallState(.defaultBody)

    /// The state of a disabled key: every call does nothing (`$f.disable()`).
    public static let disabled = StaticCallState(.disabled)

    /// Whether the key calls its declaration's body.
    public var isDefault: Bool { value == .defaultBody }

    /// Whether the key is disabled (every call does nothing).
    public var isDisabled: Bool { value == .disabled }

    /// "default body", "target 0x…", "disabled" or "constant 42".
    public var description: String {
        switch value {
        case .defaultBody: return "default body"
        case let .target(t): return "target 0x\(String(t, radix: 16))"
        case .disabled: return "disabled"
        case let .constant(bits, width):
            return "constant \(ConstantWidth(rawValue: width).map { ReportBuilder.render(bits, $0) } ?? String(bits))"
        }
    }

    /// The runtime's state for this value (`defaultTarget` stands for the default body).
    func keyState(defaultTarget: UInt64) -> KeyState {
        switch value {
        case .defaultBody: return .target(defaultTarget)
        case let .target(t): return .target(t)
        case .disabled: return .disabled
        case let .constant(bits, width): return .constant(bits, ConstantWidth(rawValue: width) ?? .bits64)
        }
    }

    init(_ state: KeyState, defaultTarget: UInt64?) {
        switch state {
        case let .target(t) where t == defaultTarget: self.init(.defaultBody)
        case let .target(t): self.init(.target(t))
        case .disabled: self.init(.disabled)
        case let .constant(bits, width): self.init(.constant(bits, width: width.rawValue))
        }
    }
}

/// A static key's state as a value: its count of enables (`true` while above zero). What `$flag.state`
/// returns and `$flag.restore(_:)` gives back exactly, counted enables included.
public struct StaticKeyState: Hashable, Sendable, CustomStringConvertible {
    /// static_key_count(): 1 after an assignment of `true`, the number of outstanding `increment()`s.
    public let count: Int

    /// The key's value.
    public var isEnabled: Bool { count > 0 }

    /// A key that is `value`, with no counted enables beyond the assignment.
    public init(_ value: Bool) { count = value ? 1 : 0 }

    init(count: Int) { self.count = max(count, 0) }

    /// "true", "false", or "true (count 3)" for a counted key held by several enables.
    public var description: String { count > 1 ? "true (count \(count))" : String(isEnabled) }
}
