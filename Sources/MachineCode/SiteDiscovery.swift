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

#if _endian(big)
#error("SiteDiscovery's vector scan reads lane k as byte k of a little-endian word")
#endif

/// Site discovery: the userspace stand-in for objtool. Pure functions over bytes.
public enum SiteDiscovery {
    /// Every `E8`/`E9` in `bytes` (mapped at `address`) whose rel32 lands exactly on one of `trampolines`.
    public static func scan(_ bytes: UnsafeRawBufferPointer, at address: UInt64, trampolines: [UInt64]) -> [SiteCandidate] {
        let targets = trampolines.sorted()
        guard let lowest = targets.first, let highest = targets.last, bytes.count >= 5 else { return [] }
        let count = bytes.count
        // When every target is within 16 MiB of every byte of the buffer, a real candidate's rel32 has a
        // top byte of 00 or FF, so the byte four on must be 00/FF: a filter that drops almost every E8/E9
        // that is not a call before the exact check. (A candidate starts at most 5 bytes before the end,
        // so its rel32 lies in [-2^24 + 1, 2^24 - 6].)
        let reach: UInt64 = 1 << 24
        let near = highest &- address &+ reach < 2 &* reach && (address &+ UInt64(count)) &- lowest &+ reach < 2 &* reach
        var scanner = Scanner(base: bytes.baseAddress!, address: address, targets: targets, near: near)

        // Thirty-two bytes at a time, as two 16-byte vectors (SSE2 on x86-64, NEON on arm64, both
        // baseline; see `flags(_:at:near:)`). Most blocks flag nothing and cost about 31 instructions (the
        // SWAR loop this replaced spent 30 per 16 bytes, then examined every E8/E9, near or not). The loop
        // is inlined twice, with `near` a constant in each, so that neither tests it per block. When the
        // targets lie close together (one key: one target), `scanBlocksTight` checks the rel32's high
        // half too. Then 8 bytes at a time (SWAR), then byte by byte, up to the last whole instruction.
        let base = bytes.baseAddress!
        var i: Int
        if highest &- lowest < tightSpan {
            i = Self.scanBlocksTight(base, count, address: address, lowest: lowest, highest: highest, &scanner)
        } else if near {
            i = Self.scanBlocks(base, count, near: true, &scanner)
        } else {
            i = Self.scanBlocks(base, count, near: false, &scanner)
        }
        while i &+ 12 <= count {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let flags = Scanner.opcodeBytes(word)
            if flags != 0 { scanner.examine(i, word, flags) }
            i &+= 8
        }
        while i &+ 5 <= count {
            let opcode = base.load(fromByteOffset: i, as: UInt8.self)
            if opcode & 0xfe == 0xe8 { scanner.consider(i, opcode) }
            i &+= 1
        }
        return scanner.result
    }

    /// The lanes of the 16 bytes at `offset` that may start a site: E8 or E9 and, when `near`, whose byte
    /// four on (the rel32's top byte) is 00 or FF. FF in a flagged lane's byte, 00 elsewhere; lane k is
    /// byte k of the two words (little-endian, as every platform StaticCall runs on).
    @inline(__always)
    static func flags(_ base: UnsafeRawPointer, at offset: Int, near: Bool) -> SIMD2<UInt64> {
        let v = base.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
        var lanes = (v & SIMD16<UInt8>(repeating: 0xfe)) .== SIMD16<UInt8>(repeating: 0xe8)
        if near {
            let ahead = base.loadUnaligned(fromByteOffset: offset &+ 4, as: SIMD16<UInt8>.self)
            lanes .&= (ahead .== .zero) .| (ahead .== SIMD16<UInt8>(repeating: 0xff))
        }
        return unsafeBitCast(lanes, to: SIMD2<UInt64>.self)
    }

    /// The scan's 32-byte blocks, from offset 0 while a block, its look-ahead and a whole instruction at
    /// its last byte fit in `count`. Returns the offset after the last block.
    @inline(__always)
    static func scanBlocks(_ base: UnsafeRawPointer, _ count: Int, near: Bool, _ scanner: inout Scanner) -> Int {
        var i = 0
        while i &+ 36 <= count { // the second vector's look-ahead reads bytes i+20 ..< i+36
            scanner.flagged(i, flags(base, at: i, near: near), flags(base, at: i &+ 16, near: near))
            i &+= 32
        }
        return i
    }

    /// Targets closer together than this are scanned with `scanBlocksTight`.
    static let tightSpan: UInt64 = 1 << 14

    /// The scan's 32-byte blocks when the targets lie within `tightSpan` of each other, in chunks of
    /// `tightSpan` bytes. In one chunk the rel32 of any real site, `target - (site + 5)`, lies in a range
    /// narrower than 64 KiB (the chunk's extent plus the targets' span), so its high 16 bits take one of
    /// at most two values, known before the chunk is read: a lane is flagged only when its bytes 3 and 4
    /// on hold one of them. Almost nothing but real sites is flagged, whatever the distance to the
    /// targets (the near filter lets through every E8/E9 followed by 00 or FF four bytes on: a third
    /// of all blocks in the generated benchmark text). Returns the offset after the last block.
    @inline(__always)
    static func scanBlocksTight(_ base: UnsafeRawPointer, _ count: Int, address: UInt64, lowest: UInt64, highest: UInt64,
                                _ scanner: inout Scanner) -> Int {
        let opcodeMask = SIMD16<UInt8>(repeating: 0xfe), opcode = SIMD16<UInt8>(repeating: 0xe8)
        var i = 0
        while i &+ 36 <= count { // a block's look-ahead reads bytes up to i+36
            let chunkEnd = min(i &+ Int(tightSpan), count &- 35) // block starts i ..< chunkEnd
            // Sites in the chunk lie in [address + i, address + chunkEnd + 31); the rel32 of each lies in
            // [smallest, largest] (modulo 2^32), a range narrower than 64 KiB: two high halves at most.
            let smallest = UInt32(truncatingIfNeeded: lowest &- (address &+ UInt64(chunkEnd) &+ 31) &- 5)
            let largest = UInt32(truncatingIfNeeded: highest &- (address &+ UInt64(i)) &- 5)
            let byte2a = SIMD16<UInt8>(repeating: UInt8(truncatingIfNeeded: smallest &>> 16))
            let byte3a = SIMD16<UInt8>(repeating: UInt8(truncatingIfNeeded: smallest &>> 24))
            let byte2b = SIMD16<UInt8>(repeating: UInt8(truncatingIfNeeded: largest &>> 16))
            let byte3b = SIMD16<UInt8>(repeating: UInt8(truncatingIfNeeded: largest &>> 24))
            @inline(__always) func lanes(_ offset: Int) -> SIMD2<UInt64> {
                let v = base.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
                let b2 = base.loadUnaligned(fromByteOffset: offset &+ 3, as: SIMD16<UInt8>.self)
                let b3 = base.loadUnaligned(fromByteOffset: offset &+ 4, as: SIMD16<UInt8>.self)
                let m = ((v & opcodeMask) .== opcode) .& (((b2 .== byte2a) .& (b3 .== byte3a)) .| ((b2 .== byte2b) .& (b3 .== byte3b)))
                return unsafeBitCast(m, to: SIMD2<UInt64>.self)
            }
            while i < chunkEnd {
                scanner.flagged(i, lanes(i), lanes(i &+ 16))
                i &+= 32
            }
        }
        return i
    }

    /// The scan's state, as a struct with mutating methods: nested functions capturing a `var` would
    /// box it and check exclusivity dynamically at every access (half of the scan's time, measured).
    struct Scanner {
        let base: UnsafeRawPointer
        let address: UInt64
        let targets: [UInt64]
        let lowest: UInt64
        /// A candidate at offset o targets (address + o + 5 + rel32): compare rel32 + o against this span.
        let span: UInt64
        let single: Bool
        let near: Bool
        var result: [SiteCandidate] = []

        init(base: UnsafeRawPointer, address: UInt64, targets: [UInt64], near: Bool) {
            self.base = base
            self.address = address
            self.targets = targets
            self.lowest = targets.first!
            self.span = targets.last! &- targets.first!
            self.single = targets.count == 1
            self.near = near
        }

        static let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080

        @inline(__always) static func zeroBytes(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }

        /// Flags (high bit of each byte) the bytes of `word` that may be E8 or E9.
        @inline(__always) static func opcodeBytes(_ word: UInt64) -> UInt64 {
            zeroBytes((word & 0xfefe_fefe_fefe_fefe) ^ 0xe8e8_e8e8_e8e8_e8e8)
        }

        @inline(__always) mutating func consider(_ offset: Int, _ opcode: UInt8) {
            let rel = UInt64(bitPattern: Int64(base.loadUnaligned(fromByteOffset: offset &+ 1, as: Int32.self)))
            let target = address &+ UInt64(offset) &+ 5 &+ rel
            guard target &- lowest <= span, single || SiteDiscovery.binarySearch(targets, target) else { return }
            result.append(SiteCandidate(address: address &+ UInt64(offset), kind: opcode == 0xe8 ? .call : .tail, trampoline: target))
        }

        /// Considers the flagged lanes of the 32 bytes at `at`: `low` for the first 16, `high` for the
        /// rest, as the vector loops (`scanBlocks`, `scanBlocksTight`) give them. Most blocks flag none.
        @inline(__always) mutating func flagged(_ at: Int, _ low: SIMD2<UInt64>, _ high: SIMD2<UInt64>) {
            let either = low | high
            guard either[0] | either[1] != 0 else { return }
            flagged(at, low[0])
            flagged(at &+ 8, low[1])
            flagged(at &+ 16, high[0])
            flagged(at &+ 24, high[1])
        }

        /// Considers the lanes of the 8 bytes at `at` whose byte in `lanes` is FF.
        @inline(__always) mutating func flagged(_ at: Int, _ lanes: UInt64) {
            var remaining = lanes & Self.highs
            while remaining != 0 {
                let lane = remaining.trailingZeroBitCount &>> 3
                remaining &= remaining &- 1
                consider(at &+ lane, base.load(fromByteOffset: at &+ lane, as: UInt8.self))
            }
        }

        @inline(__always) mutating func examine(_ at: Int, _ word: UInt64, _ flags: UInt64) {
            var flagged = flags
            if near {
                let ahead = base.loadUnaligned(fromByteOffset: at &+ 4, as: UInt64.self)
                flagged &= Self.zeroBytes(ahead) | Self.zeroBytes(~ahead)
            }
            while flagged != 0 {
                let shift = UInt64(flagged.trailingZeroBitCount) &- 7
                flagged &= flagged &- 1
                let opcode = UInt8(truncatingIfNeeded: word &>> shift)
                if opcode & 0xfe == 0xe8 { consider(at &+ Int(shift &>> 3), opcode) }
            }
        }
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
                guard let bytes = index.image.bytes(of: range) else {
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
        guard allowSingleCall, let targets = directBranchTargets(function, at: address) else { return nil }
        return targets.count == 1 ? targets.first : nil
    }

    /// The targets of a function's direct calls and jumps that leave it (`call`/`jmp rel32`); nil if an
    /// instruction does not decode or the function branches indirectly.
    public static func directBranchTargets(_ function: UnsafeRawBufferPointer, at address: UInt64) -> Set<UInt64>? {
        var targets: Set<UInt64> = []
        var offset = 0
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
        return targets
    }
}
