import MachineCode
import Testing

@Suite("Site discovery: scan and prove")
struct SiteDiscoveryTests {
    @Test func scanFindsCallsAndJumpsToTrampolinesOnly() {
        // At 0x1000: call 0x2000; jmp 0x2000; call 0x3000; a false E8 inside an immediate at the end.
        let base: UInt64 = 0x1000
        var code: [UInt8] = []
        func branch(_ op: UInt8, to target: UInt64) {
            let rel = Int32(Int64(target) - Int64(base + UInt64(code.count) + 5))
            code += [op] + withUnsafeBytes(of: rel.littleEndian, Array.init)
        }
        branch(0xe8, to: 0x2000)
        code += [0x90, 0x90, 0x90]
        branch(0xe9, to: 0x2000)
        branch(0xe8, to: 0x3000)
        code += [0xb8, 0xe8]
        let found = code.withUnsafeBytes { SiteDiscovery.scan($0, at: base, trampolines: [0x2000]) }
        #expect(found == [SiteCandidate(address: 0x1000, kind: .call, trampoline: 0x2000),
                          SiteCandidate(address: 0x1008, kind: .tail, trampoline: 0x2000)])
        let both = code.withUnsafeBytes { SiteDiscovery.scan($0, at: base, trampolines: [0x3000, 0x2000]) }
        #expect(both.count == 3)
    }

    @Test func scanFindsExactlyWhatAByteByByteCheckFinds() {
        // Random bytes (E8/E9 and 00/FF made common) with calls and jumps to the targets planted every 37
        // bytes (so at every offset modulo 32) and in the last five bytes, checked against a byte-by-byte
        // scan. The vector loops read 32-byte blocks, then come 8-byte words and single bytes: sizes 36 to
        // 100 end at every position of a block, for targets near the buffer (the look-ahead filter on),
        // far from it (off) and close together (the rel32's high half checked).
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SplitMix64(seed: seed)
        let base: UInt64 = 0x4000_0000
        func check(_ targets: [UInt64], _ count: Int) {
            var code = (0..<count).map { _ in [0xe8, 0xe9, 0x00, 0xff, UInt8.random(in: 0...255, using: &generator)].randomElement(using: &generator)! }
            func plant(_ op: UInt8, at offset: Int, to target: UInt64) {
                guard offset >= 0, offset + 5 <= count else { return }
                let rel = UInt32(truncatingIfNeeded: target &- (base + UInt64(offset) + 5))
                code[offset] = op
                for k in 0..<4 { code[offset + 1 + k] = UInt8(truncatingIfNeeded: rel >> (8 * UInt32(k))) }
            }
            for offset in stride(from: 0, to: count, by: 37) { plant(offset % 2 == 0 ? 0xe8 : 0xe9, at: offset, to: targets[offset % targets.count]) }
            plant(0xe8, at: count - 5, to: targets[targets.count - 1])
            var expected: [SiteCandidate] = []
            for offset in 0..<max(0, count - 4) where code[offset] & 0xfe == 0xe8 {
                let rel = UInt32(code[offset + 1]) | UInt32(code[offset + 2]) << 8 | UInt32(code[offset + 3]) << 16 | UInt32(code[offset + 4]) << 24
                let target = base &+ UInt64(offset) &+ 5 &+ UInt64(bitPattern: Int64(Int32(bitPattern: rel)))
                if targets.contains(target) {
                    expected.append(SiteCandidate(address: base + UInt64(offset), kind: code[offset] == 0xe8 ? .call : .tail, trampoline: target))
                }
            }
            let found = code.withUnsafeBytes { SiteDiscovery.scan($0, at: base, trampolines: targets) }
            #expect(found == expected, "seed \(seed): \(count) bytes, targets \(targets.map { String($0, radix: 16) })")
            #expect(expected.count >= count / 37 / 2)
        }
        let near = [base - 0x100, base + 0x20_0000], far = [base - 0x100, base + 0x7000_0000], tight = [base + 3000]
        for count in 36...100 {
            check(near, count)
            check(far, count)
            check(tight, count)
        }
        check(near, 4096)
        check(far, 1000)
        check([base + 0x7000_0000], 4093) // one target, far: tight
        check([base], 5)
        // The near filter at its edges: a target almost 16 MiB above the first byte, one almost 16 MiB
        // below the last (rel32 down to -2^24 + 31 at the last planted call: top byte FF).
        check([base - 100, base + (1 << 24) - 200], 4096)
        check([base + 4096 + 10 - (1 << 24), base + 50], 4096)
        // Tight, over many chunks: one target in the middle of 200 KB (its sites' high halves change at
        // 64 KiB steps on both sides, and cross 0 to FFFF), two 12 KiB apart, one 768 MiB below.
        check([base + 100_000], 200_000)
        check([base + 70_000, base + 70_000 + 12_288], 150_001)
        check([base - 0x3000_0000], 70_000)
    }

    @Test func provenSitesAreExactlyObjdumpsFiveByteCallsAndJumps() throws {
        try withFileBytes(ownExecutable) { bytes in
            let elf = try ELFFile(bytes: bytes)
            let image = elf.imageView()
            let header = try #require(elf.programHeaders.first { $0.type == ProgramHeader.ehFrameHeader })
            let index = try EHFrameIndex(image: image, headerAddress: header.virtualAddress)
            let text = try #require(image.segments.first { $0.isExecutable })
            // The most-called direct target in this binary stands in for a trampoline.
            var counts: [UInt64: Int] = [:]
            for c in SiteDiscovery.scan(text.bytes, at: text.address, trampolines: index.allFunctions().map(\.start)) {
                counts[c.trampoline, default: 0] += 1
            }
            let target = try #require(counts.max { $0.value < $1.value }?.key)
            let candidates = SiteDiscovery.scan(text.bytes, at: text.address, trampolines: [target])
            let proofs = SiteDiscovery.prove(candidates, index: index)
            let listing = try ObjdumpListing(path: ownExecutable)
            var proven = 0
            for (candidate, proof) in zip(candidates, proofs) {
                let objdumpSaysFiveByteInstruction = listing.length(at: candidate.address) == 5
                if case .proven = proof {
                    proven += 1
                    #expect(objdumpSaysFiveByteInstruction, "proved 0x\(String(candidate.address, radix: 16)) which objdump does not start there")
                } else if objdumpSaysFiveByteInstruction, (try? index.function(containing: candidate.address)) != nil {
                    Issue.record("0x\(String(candidate.address, radix: 16)) is a real call inside a known function but was not proven: \(proof)")
                }
            }
            #expect(proven > 20)
        }
    }

    @Test func followsForwarders() {
        let at: UInt64 = 0x1000
        func target(_ hex: String, singleCall: Bool = false) -> UInt64? {
            bytes(hex).withUnsafeBytes { SiteDiscovery.forwardedTarget($0, at: at, allowSingleCall: singleCall) }
        }
        #expect(target("e9 fb 0f 00 00") == 0x2000)                       // jmp
        #expect(target("55 48 89 e5 5d e9 f6 0f 00 00") == 0x2000)       // push rbp; mov rbp,rsp; pop rbp; jmp
        #expect(target("f3 0f 1e fa eb 10") == 0x1016)                   // endbr64; jmp rel8
        #expect(target("55 48 89 e5 48 83 ec 10 e8 f3 0f 00 00 48 83 c4 10 5d c3") == nil)
        #expect(target("55 48 89 e5 48 83 ec 10 e8 f3 0f 00 00 48 83 c4 10 5d c3", singleCall: true) == 0x2000)
        #expect(target("e8 fb 0f 00 00 e8 f6 1f 00 00 c3", singleCall: true) == nil) // two different calls
        #expect(target("ff d0 e8 f9 0f 00 00 c3", singleCall: true) == nil)          // an indirect call too
        #expect(target("48 8d 04 7f c3") == nil)
    }
}
