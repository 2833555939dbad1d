import CStaticCall

/// Functions of the C shim whose addresses the runtime uses as targets or as its own test page: fixed
/// code, never executable memory the runtime makes (CStaticCall.c, Images.c).
enum ShimFunctions {
    /// A function that is never called, whose page the capability probe replaces (or whose first byte
    /// it rewrites with its own value) to find out whether text can be written, before any real site.
    static var probe: UInt64 { UInt64(cstaticcall_probe_address()) }

    /// A function that does nothing: `$f.target` of a disabled key, recognised by `update(to:)`.
    static var disabledTarget: UInt { cstaticcall_disabled_target_address() }

    /// Functions that return 0 and 1 in `%rax` (for Bool and every integer width), or nil where the
    /// platform has none: the targets of tail sites whose key holds 0 or 1.
    static var returnZero: UInt64? { nonZero(cstaticcall_return_0_address()) }
    static var returnOne: UInt64? { nonZero(cstaticcall_return_1_address()) }

    /// How many constant functions there are (`constantFunction(slot:value:)`).
    static let constantFunctionCount = Int(CSTATICCALL_CONSTANT_FUNCTIONS)

    /// The address of fixed slot `slot`'s function, which returns `value` from now on (in the first
    /// integer return register), or nil if the slot has none. Each slot is given one value, once, before
    /// its address is handed out.
    static func constantFunction(slot: Int, value: UInt64) -> UInt64? {
        precondition(slot >= 0 && slot < constantFunctionCount)
        return nonZero(cstaticcall_constant_function(slot, value))
    }

    private static func nonZero(_ address: UInt) -> UInt64? { address == 0 ? nil : UInt64(address) }
}
