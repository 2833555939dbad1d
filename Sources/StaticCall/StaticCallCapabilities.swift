internal import MachineCode

/// What a key can do besides calling a target, fixed by its signature.
// @_documentation: used only by the macros' expansions (pointfree's packages hide theirs the same way).
@_documentation(visibility: internal)
public struct StaticCallCapabilities: Sendable, Equatable {
    /// `disable()` is allowed (non-throwing `Void` functions).
    public var canDisable: Bool
    /// `update(returning:)` is allowed, with this result width (`Bool` and fixed-width integers).
    public var constantWidth: StaticCallConstantWidth?

    public init(canDisable: Bool = false, constantWidth: StaticCallConstantWidth? = nil) {
        self.canDisable = canDisable
        self.constantWidth = constantWidth
    }
}

/// The width of a constant a key's sites can load (`update(returning:)`): its result type's bits.
// @_documentation: used only by the macros' expansions (pointfree's packages hide theirs the same way).
@_documentation(visibility: internal)
public enum StaticCallConstantWidth: Int, Sendable {
    /// `Bool`, `Int8`, `UInt8`.
    case bits8 = 8
    /// `Int16`, `UInt16`.
    case bits16 = 16
    /// `Int32`, `UInt32`.
    case bits32 = 32
    /// `Int`, `UInt`, `Int64`, `UInt64`.
    case bits64 = 64

    /// The decoder's width (MachineCode, internal): the same bits.
    var machine: ConstantWidth {
        switch self {
        case .bits8: return .bits8
        case .bits16: return .bits16
        case .bits32: return .bits32
        case .bits64: return .bits64
        }
    }
}
