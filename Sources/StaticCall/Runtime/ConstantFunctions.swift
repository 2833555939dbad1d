#if canImport(Glibc)
import Glibc
#endif
import CStaticCall
import MachineCode
import Synchronization

/// Functions that return a given constant: what `$f.target` hands out while a key holds a constant (the
/// kernel hands out `__static_call_return0` for its RET0 state), so that the target read in any state is
/// callable and `update(to:)` with it restores that state exactly.
///
/// 0 and 1 are C functions; any other value gets a stub, `endbr64; movabs $value, %rax; ret`, written
/// into a page before the page is mapped read+execute (`StubArea`: never writable and executable). A
/// stub is made once per value and kept for the life of the process; at most `limit` values get one.
/// Each copy of StaticCall has its own (the key's generated code reads and updates through one copy).
enum ConstantFunctions {
    private struct Table {
        var byValue: [UInt64: UInt64] = [:]
        var byAddress: [UInt64: UInt64] = [:]
        var areas: [StubArea] = []
        var refusal: String?
    }

    private static let table = Mutex(Table())
    static let limit = 64

    /// A function returning `bits` (in `%rax`), or nil if no stub can be made for it.
    static func address(returning bits: UInt64) -> UInt64? {
        if bits == 0, cstaticcall_return_0_address() != 0 { return UInt64(cstaticcall_return_0_address()) }
        if bits == 1, cstaticcall_return_1_address() != 0 { return UInt64(cstaticcall_return_1_address()) }
        #if os(Linux) && arch(x86_64)
        return table.withLock { t -> UInt64? in
            if let known = t.byValue[bits] { return known }
            guard t.refusal == nil, t.byValue.count < limit else { return nil }
            let code: [UInt8] = [0xF3, 0x0F, 0x1E, 0xFA, 0x48, 0xB8] + withUnsafeBytes(of: bits.littleEndian, Array.init) + [0xC3]
            do throws(PatchError) {
                var address: UInt64?
                if let area = t.areas.last { address = try area.append(code) }
                if address == nil {
                    let near = UInt64(UInt(bitPattern: cstaticcall_image_anchor()))
                    let reach: UInt64 = 1 << 30
                    let area = try StubArea.open(code, within: (near > reach ? near - reach : 0x10000)...(near + reach),
                                                 near: near, beside: nil)
                    t.areas.append(area)
                    address = area.base
                }
                guard let address else { return nil }
                t.byValue[bits] = address
                t.byAddress[address] = bits
                return address
            } catch {
                t.refusal = "\(error)"
                debugLog("no constant function: \(error)")
                return nil
            }
        }
        #else
        return nil
        #endif
    }

    /// The constant a function handed out by `address(returning:)` returns, or nil.
    static func value(returnedBy address: UInt64) -> UInt64? {
        if address == UInt64(cstaticcall_return_0_address()), address != 0 { return 0 }
        if address == UInt64(cstaticcall_return_1_address()), address != 0 { return 1 }
        return table.withLock { $0.byAddress[address] }
    }
}
