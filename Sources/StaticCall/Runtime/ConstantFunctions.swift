import Synchronization

/// Functions that return a given constant: what `$f.target` hands out while a key holds a constant (the
/// kernel hands out `__static_call_return0` for its RET0 state), so that the target read in any state is
/// callable and `update(to:)` with it restores that state exactly.
///
/// 0 and 1 are C functions (also the targets of tail sites, on x86-64 Linux); any other value gets one of
/// the C shim's fixed slot functions, which return a value stored
/// beside them (`ShimFunctions`): no code is written, so this works on every platform and in every process that refuses
/// executable memory. A value gets its function once, kept for the life of the process; at most `limit`
/// values get one. Each copy of StaticCall has its own (the key's generated code reads and updates through
/// one copy).
enum ConstantFunctions {
    private struct Table {
        var byValue: [UInt64: UInt64] = [:]
        var byAddress: [UInt64: UInt64] = [:]
    }

    private static let table = Mutex(Table())
    static let limit = ShimFunctions.constantFunctionCount

    /// A function returning `bits` (in the integer return register), or nil once `limit` values have one.
    static func address(returning bits: UInt64) -> UInt64? {
        if bits == 0, let zero = ShimFunctions.returnZero { return zero }
        if bits == 1, let one = ShimFunctions.returnOne { return one }
        return table.withLock { t -> UInt64? in
            if let known = t.byValue[bits] { return known }
            guard t.byValue.count < limit else { return nil }
            guard let address = ShimFunctions.constantFunction(slot: t.byValue.count, value: bits) else { return nil }
            t.byValue[bits] = address
            t.byAddress[address] = bits
            return address
        }
    }

    /// The constant a function handed out by `address(returning:)` returns, or nil.
    static func value(returnedBy address: UInt64) -> UInt64? {
        if address == ShimFunctions.returnZero { return 0 }
        if address == ShimFunctions.returnOne { return 1 }
        return table.withLock { $0.byAddress[address] }
    }
}
