/// A `call`/`jmp rel32` whose target is a trampoline: found by scanning, not yet proven.
public struct SiteCandidate: Equatable, Hashable, Sendable {
    public var address: UInt64
    public var kind: SiteKind
    public var trampoline: UInt64
    public init(address: UInt64, kind: SiteKind, trampoline: UInt64) {
        self.address = address
        self.kind = kind
        self.trampoline = trampoline
    }
}

/// The verdict on one candidate.
public enum SiteProof: Equatable, Sendable {
    /// Decoding from the enclosing function's start lands exactly on the candidate, and it decodes as
    /// the 5-byte call or jump it appeared to be.
    case proven(function: FunctionRange)
    /// Left alone, with the reason.
    case unproven(String)
}

/// Site discovery: the userspace stand-in for objtool. Pure functions over bytes.
public enum SiteDiscovery {
    /// Every `E8`/`E9` in `bytes` (mapped at `address`) whose rel32 lands exactly on one of `trampolines`.
    public static func scan(_ bytes: UnsafeRawBufferPointer, at address: UInt64, trampolines: [UInt64]) -> [SiteCandidate] {
        let targets = trampolines.sorted()
        guard let lowest = targets.first, let highest = targets.last, bytes.count >= 5 else { return [] }
        var result: [SiteCandidate] = []
        let count = bytes.count
        let base = bytes.baseAddress!

        @inline(__always) func check(_ i: Int) {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            guard b & 0xfe == 0xe8, i + 5 <= count else { return }
            let rel = Int64(base.loadUnaligned(fromByteOffset: i + 1, as: Int32.self))
            let target = address &+ UInt64(i) &+ 5 &+ UInt64(bitPattern: rel)
            guard target >= lowest, target <= highest else { return }
            if targets.count == 1 || binarySearch(targets, target) {
                result.append(SiteCandidate(address: address &+ UInt64(i), kind: b == 0xe8 ? .call : .tail, trampoline: target))
            }
        }

        // Eight bytes at a time: a byte equals E8 or E9 exactly when (byte & FE) ^ E8 is zero.
        var i = 0
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= count {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let x = (w & 0xfefe_fefe_fefe_fefe) ^ 0xe8e8_e8e8_e8e8_e8e8
            if (x &- ones) & ~x & highs != 0 {
                for j in 0..<8 { check(i + j) }
            }
            i += 8
        }
        while i < count { check(i); i += 1 }
        return result
    }

    static func binarySearch(_ sorted: [UInt64], _ value: UInt64) -> Bool {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] == value { return true }
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return false
    }

    /// Proves each candidate: it must lie inside a function that `.eh_frame` knows, and decoding
    /// instruction lengths from that function's start must land exactly on it. Results are in the order
    /// of `candidates`.
    public static func prove(_ candidates: [SiteCandidate], index: EHFrameIndex) -> [SiteProof] {
        var results = [SiteProof](repeating: .unproven("not examined"), count: candidates.count)
        let order = candidates.indices.sorted { candidates[$0].address < candidates[$1].address }
        var current: (range: FunctionRange, bytes: UnsafeRawBufferPointer, offset: Int, failure: String?)? = nil
        for idx in order {
            let c = candidates[idx]
            if current == nil || !current!.range.contains(c.address) {
                let range: FunctionRange?
                do { range = try index.function(containing: c.address) } catch {
                    results[idx] = .unproven("unwind table error: \(error)")
                    current = nil
                    continue
                }
                guard let range else {
                    results[idx] = .unproven("not inside any function known from .eh_frame")
                    current = nil
                    continue
                }
                guard let bytes = index.image.bytes(at: range.start, count: Int(range.end - range.start)) else {
                    results[idx] = .unproven("function 0x\(String(range.start, radix: 16)) is not mapped")
                    current = nil
                    continue
                }
                current = (range, bytes, 0, nil)
            }
            let target = Int(c.address - current!.range.start)
            while current!.failure == nil && current!.offset < target {
                switch X86.decode(current!.bytes, at: current!.offset) {
                case let .instruction(insn): current!.offset += insn.length
                case let .unknown(why): current!.failure = "undecodable instruction at 0x\(String(current!.range.start + UInt64(current!.offset), radix: 16)): \(why)"
                case .truncated: current!.failure = "function ends inside an instruction"
                }
            }
            if let failure = current!.failure, current!.offset <= target {
                results[idx] = .unproven(failure)
            } else if current!.offset != target {
                results[idx] = .unproven("not an instruction boundary (an instruction spans it)")
            } else {
                let insn = X86.decode(current!.bytes, at: target).instruction
                switch (insn?.branch, insn?.length, c.kind) {
                case (.callRel32?, 5?, .call), (.jmpRel32?, 5?, .tail):
                    results[idx] = .proven(function: current!.range)
                default:
                    results[idx] = .unproven("the instruction there is not a 5-byte call or jmp")
                }
            }
        }
        return results
    }

    /// Where a function that only forwards goes: `[endbr64] [push %rbp; mov %rsp,%rbp; pop %rbp] jmp f`
    /// (what `{ f($0) }` compiles to in `-O`) gives `f`. With `allowSingleCall`, a function whose only
    /// direct branch out is one `call f` (the same closure in a debug build) also gives `f`. Nil otherwise.
    public static func forwardedTarget(_ function: UnsafeRawBufferPointer, at address: UInt64, allowSingleCall: Bool) -> UInt64? {
        var offset = 0
        func matches(_ pattern: [UInt8]) -> Bool {
            guard offset + pattern.count <= function.count else { return false }
            for (k, b) in pattern.enumerated() where function[offset + k] != b { return false }
            offset += pattern.count
            return true
        }
        _ = matches([0xf3, 0x0f, 0x1e, 0xfa])
        _ = matches([0x55, 0x48, 0x89, 0xe5, 0x5d])
        if case let .instruction(insn)? = Optional(X86.decode(function, at: offset)) {
            let next = address &+ UInt64(offset + insn.length)
            switch insn.branch {
            case let .jmpRel32(rel): return next &+ UInt64(bitPattern: Int64(rel))
            case let .jmpRel8(rel): return next &+ UInt64(bitPattern: Int64(rel))
            default: break
            }
        }
        guard allowSingleCall else { return nil }
        var targets: Set<UInt64> = []
        offset = 0
        while offset < function.count {
            guard let insn = X86.decode(function, at: offset).instruction else { return nil }
            let next = address &+ UInt64(offset + insn.length)
            switch insn.branch {
            case let .callRel32(rel), let .jmpRel32(rel):
                let t = next &+ UInt64(bitPattern: Int64(rel))
                if t < address || t >= address + UInt64(function.count) { targets.insert(t) }
            case .indirectCall, .indirectJump: return nil
            default: break
            }
            offset += insn.length
        }
        return targets.count == 1 ? targets.first : nil
    }
}
