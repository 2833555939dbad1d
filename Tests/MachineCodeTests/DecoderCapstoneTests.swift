import Foundation
import MachineCode
import Testing

/// The x86-64 length decoder against Capstone, a decoder nobody on this team (nor binutils) wrote.
///
/// objdump already checks the decoder on Swift's own runtime (`DecoderDifferentialTests`), which is
/// LLVM output only. Capstone (the pip package, driven by `Scripts/capstone_lengths.py`, one Python
/// process per library) is a second, independent opinion, and here it judges code from other
/// compilers — gcc's libc and libstdc++, OpenSSL's hand-written perlasm in libcrypto, libpython — and
/// random instruction-shaped bytes no compiler would emit. Our decoder may refuse (`.unknown`) what
/// Capstone accepts: refusing is safe. It must never give an instruction a length Capstone disagrees with.
@Suite("x86-64 length decoder against Capstone")
struct DecoderCapstoneTests {
    /// The version `.ci/run` installs, and the one `capstoneMistake` describes.
    static let pip = "python3 -m pip install capstone==5.0.9"

    @Test func decoderAgreesWithCapstoneOnGccAndHandWrittenAssembly() throws {
        let capstone = try Capstone()
        var libraries: [(name: String, path: String)] = [
            ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
            ("libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"),
        ]
        if let crypto = try ldconfigPath(of: "libcrypto.so.3") { libraries.append(("libcrypto.so.3", crypto)) }
        libraries.append((capstone.pythonCode.split(separator: "/").last.map(String.init) ?? "python3", capstone.pythonCode))
        let present = libraries.filter { FileManager.default.isReadableFile(atPath: $0.path) }
        let absent = libraries.filter { !FileManager.default.isReadableFile(atPath: $0.path) }
        for library in absent { print("decoder vs capstone: \(library.name) is not on this machine (\(library.path))") }
        try #require(!present.isEmpty, "none of libc.so.6, libstdc++.so.6, libcrypto.so.3 (apt-get install libssl3) or python3's libpython is on this machine")

        var total = SweepTally()
        var measured = 0
        for library in present {
            let clock = ContinuousClock()
            let started = clock.now
            let tally = try compareFunctions(of: library.path, capstone: capstone)
            let elapsed = clock.now - started
            print("decoder vs capstone: \(library.name): \(tally.compared) instructions compared in \(tally.functions) functions, "
                + "\(tally.disagreements.count) disagreements, \(tally.oursOnly.count) only ours accepted, \(tally.capstoneOnly.count) only capstone accepted, "
                + "\(tally.bothRefused) refused by both (\(seconds(elapsed)))")
            for (what, examples) in [("only ours", tally.oursOnly), ("only capstone", tally.capstoneOnly), ("disagreement", tally.disagreements)] {
                for example in examples.prefix(8) { print("  \(what): \(library.name) \(example)") }
            }
            #expect(tally.disagreements.isEmpty, "\(library.name): \(tally.disagreements.prefix(50).joined(separator: "\n"))")
            // Both decoders must understand the bulk of real code, or the comparison says little; and ours
            // may refuse, but not often (each refusal ends the sweep of its function).
            #expect(tally.compared >= 100_000, "\(library.name): only \(tally.compared) instructions compared")
            #expect(tally.capstoneOnly.count <= tally.compared / 10_000, "\(library.name): ours refuses too much: \(tally.capstoneOnly.count)")
            total.add(tally)
            measured += 1
        }
        print("decoder vs capstone: \(total.compared) instructions compared in \(measured) libraries, \(total.disagreements.count) disagreements, "
            + "\(total.oursOnly.count) only ours accepted, \(total.capstoneOnly.count) only capstone accepted")
        // libc, libstdc++, libcrypto and libpython hold about 1.8 million instructions together.
        if measured == libraries.count { #expect(total.compared >= 1_500_000) }
    }

    @Test func decoderNeverMismeasuresRandomInstructionShapedBytes() throws {
        let capstone = try Capstone()
        let clock = ContinuousClock()
        let started = clock.now
        var random = SplitMix64(seed: 0x5ca1_ab1e_c0de_d00d)
        let samples = (0..<250_000).map { _ in InstructionShape.random(&random) }
        let theirs = try capstone.firstLengths(samples.map(\.bytes))
        try #require(theirs.count == samples.count, "capstone answered \(theirs.count) of \(samples.count) byte strings")

        var compared = 0, bothRefused = 0
        var disagreements: [String: (count: Int, example: String)] = [:]
        var oursOnly: [String: (count: Int, example: String)] = [:]
        var capstoneOnly: [String: (count: Int, example: String)] = [:]
        var excused: [String: (count: Int, example: String)] = [:]
        for (sample, capstoneLength) in zip(samples, theirs) {
            let ours = sample.bytes.withUnsafeBytes { X86.decode($0, at: 0) }
            switch (ours, Int(capstoneLength)) {
            case let (.instruction(insn), 0):
                oursOnly[sample.shape, default: (0, "\(hexString(sample.bytes.prefix(insn.length))) (ours \(insn.length))")].count += 1
            case let (.instruction(insn), length):
                compared += 1
                if insn.length != length, let mistake = capstoneMistake(sample.bytes, ours: insn.length, capstone: length) {
                    excused[mistake, default: (0, "\(hexString(sample.bytes.prefix(insn.length))) (ours \(insn.length), capstone \(length))")].count += 1
                } else if insn.length != length {
                    disagreements[sample.shape, default: (0, "\(hexString(sample.bytes.prefix(16))): ours \(insn.length), capstone \(length)")].count += 1
                }
            case (.unknown, 0):
                bothRefused += 1
            case let (.unknown(why), length):
                let reason = why.split(separator: " at +").first.map(String.init) ?? why
                capstoneOnly[reason, default: (0, "\(hexString(sample.bytes.prefix(length))) (capstone \(length))")].count += 1
            case (.truncated, _):
                disagreements[sample.shape, default: (0, "\(hexString(sample.bytes.prefix(16))): ours truncated although 15 bytes follow")].count += 1
            }
        }
        let elapsed = clock.now - started
        let disagreementCount = disagreements.values.reduce(0) { $0 + $1.count }
        let oursOnlyCount = oursOnly.values.reduce(0) { $0 + $1.count }
        let capstoneOnlyCount = capstoneOnly.values.reduce(0) { $0 + $1.count }
        print("decoder vs capstone, random instruction-shaped bytes: \(samples.count) strings, \(compared) lengths compared, "
            + "\(disagreementCount) disagreements, \(oursOnlyCount) only ours accepted, \(capstoneOnlyCount) only capstone accepted, "
            + "\(bothRefused) refused by both (\(seconds(elapsed)))")
        for (shape, seen) in oursOnly.sorted(by: { $0.value.count > $1.value.count }).prefix(25) {
            print("  only ours: \(seen.count) x \(shape), e.g. \(seen.example)")
        }
        for (reason, seen) in capstoneOnly.sorted(by: { $0.value.count > $1.value.count }) {
            print("  only capstone: \(seen.count) x ours says \"\(reason)\", e.g. \(seen.example)")
        }
        for (mistake, seen) in excused.sorted(by: { $0.value.count > $1.value.count }) {
            print("  capstone mistaken: \(seen.count) x \(mistake), e.g. \(seen.example)")
        }
        let grouped = disagreements.sorted { $0.value.count > $1.value.count }.map { "\($0.value.count) x \($0.key), e.g. \($0.value.example)" }
        for d in grouped { print("  disagreement: \(d)") }
        #expect(compared >= 100_000, "too few byte strings both decoders accept: \(compared)")
        #expect(disagreements.isEmpty, "\(grouped.joined(separator: "\n"))")
    }
}

// MARK: - Real libraries

/// One library's comparison.
private struct SweepTally {
    var functions = 0
    var compared = 0
    var bothRefused = 0
    var disagreements: [String] = []
    var oursOnly: [String] = []
    var capstoneOnly: [String] = []

    mutating func add(_ other: SweepTally) {
        functions += other.functions
        compared += other.compared
        bothRefused += other.bothRefused
        disagreements += other.disagreements
        oursOnly += other.oursOnly
        capstoneOnly += other.capstoneOnly
    }
}

/// Sweeps every FDE function of `path` from its start with our decoder and with Capstone (one Python
/// process), and compares the two at every offset both reach.
private func compareFunctions(of path: String, capstone: Capstone) throws -> SweepTally {
    struct Sweep {
        var start: UInt64
        var code: [UInt8]
        var lengths: [UInt8]        // ours, from offset 0, up to where we stopped
        var stop: X86.Decoded?      // why we stopped before the end (.unknown or .truncated), nil if we did not
    }
    let sweeps: [Sweep] = try withFileBytes(path) { bytes in
        let elf = try ELFFile(bytes: bytes)
        let image = elf.imageView()
        let header = try #require(elf.programHeaders.first { $0.type == ProgramHeader.ehFrameHeader }, "\(path) has no .eh_frame_hdr")
        let index = try EHFrameIndex(image: image, headerAddress: header.virtualAddress)
        return index.allFunctions().compactMap { function in
            guard let code = image.bytes(of: function) else { return nil }
            var sweep = Sweep(start: function.start, code: Array(code), lengths: [], stop: nil)
            var offset = 0
            while offset < code.count {
                let decoded = X86.decode(code, at: offset)
                guard let insn = decoded.instruction else { sweep.stop = decoded; break }
                sweep.lengths.append(UInt8(insn.length))
                offset += insn.length
            }
            return sweep
        }
    }

    var request = Data()
    for sweep in sweeps {
        request.appendLittleEndian(UInt32(sweep.code.count))
        request.appendLittleEndian(UInt32(sweep.lengths.count))
        request.append(contentsOf: sweep.lengths)
        request.append(contentsOf: sweep.code)
    }
    let answer = try capstone.call("functions", request)

    var tally = SweepTally()
    let name = path.split(separator: "/").last.map(String.init) ?? path
    var position = 0
    func u32(at i: Int) -> Int {
        Int(answer[i]) | Int(answer[i + 1]) << 8 | Int(answer[i + 2]) << 16 | Int(answer[i + 3]) << 24
    }
    for sweep in sweeps {
        try #require(position + 4 <= answer.count, "capstone's answer for \(name) is cut short")
        let count = u32(at: position)
        let offsetsStart = position + 4, lengthsStart = position + 4 + 4 * count
        try #require(lengthsStart + count <= answer.count, "capstone's answer for \(name) is cut short")
        var theirs: [Int: Int] = [:] // offset -> capstone's length, 0 where it decodes nothing
        for k in 0..<count { theirs[u32(at: offsetsStart + 4 * k)] = Int(answer[lengthsStart + k]) }
        position = lengthsStart + count
        tally.functions += 1

        func at(_ offset: Int) -> String {
            let bytes = sweep.code[offset..<min(sweep.code.count, offset + 16)]
            return "0x\(String(sweep.start + UInt64(offset), radix: 16)): \(hexString(bytes))"
        }
        var offset = 0
        var aligned = true
        for length in sweep.lengths.map(Int.init) {
            if let capstone = theirs[offset] {
                if capstone == length {
                    tally.compared += 1
                } else if capstone == 0 {
                    tally.oursOnly.append("\(at(offset)) (ours \(length))")
                } else {
                    tally.disagreements.append("\(at(offset)): ours \(length), capstone \(capstone)")
                    aligned = false
                }
            } else {
                tally.disagreements.append("\(at(offset)): ours \(length), capstone has no instruction here")
                aligned = false
            }
            if !aligned { break } // the sweeps no longer meet
            offset += length
        }
        guard aligned, let stop = sweep.stop else { continue }
        switch (stop, theirs[offset]) {
        case (_, 0?): tally.bothRefused += 1
        case let (.unknown(why), length?): tally.capstoneOnly.append("\(at(offset)) (capstone \(length); ours: \(why))")
        case let (_, length?): tally.disagreements.append("\(at(offset)): ours runs past the function's end, capstone \(length)")
        case (_, nil): tally.disagreements.append("\(at(offset)): ours stopped, capstone has no instruction here")
        }
    }
    try #require(position == answer.count, "capstone's answer for \(name) has \(answer.count - position) bytes too many")
    return tally
}

/// The path `ldconfig -p` gives for an x86-64 library, if any.
func ldconfigPath(of soname: String) throws -> String? {
    guard let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let listing = String(decoding: try run(ldconfig, ["-p"]), as: UTF8.self)
    for line in listing.split(separator: "\n") {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if fields.first == Substring(soname), line.contains("x86-64"), let path = fields.last { return String(path) }
    }
    return nil
}

// MARK: - Random instruction-shaped bytes (SplitMix64.swift seeds them)

/// A random byte string shaped like an instruction — prefixes, REX or VEX/EVEX, an opcode from one of
/// the maps, ModRM, SIB, displacement, immediate — followed by 15 random bytes, so that whatever the
/// first bytes turn out to mean, the whole instruction is there.
private struct InstructionShape {
    var bytes: [UInt8]
    /// The encoding form and opcode, e.g. "0f 38 f5" or "vex3 map2 49", for grouping one-sided results.
    var shape: String

    static let legacyPrefixes: [UInt8] = [0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36, 0xf0]

    static func random(_ r: inout SplitMix64) -> InstructionShape {
        var b: [UInt8] = []
        let form = r.below(100)
        let vexLike = form >= 70
        // Legacy prefixes: usually none or one; VEX and EVEX mostly go without (66/F2/F3 make them #UD).
        let prefixCount = vexLike ? (r.chance(85) ? 0 : 1) : r.pick([0, 0, 0, 1, 1, 1, 2, 2, 3, 4])
        for _ in 0..<prefixCount {
            b.append(vexLike ? r.pick([0x67, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36, 0xf0, 0x66, 0xf2, 0xf3]) : r.pick(legacyPrefixes))
        }
        var shape: String
        let opcode = r.byte()
        switch form {
        case 0..<70:
            if r.chance(45) { b.append(0x40 | r.byte() & 0x0f) }
            switch r.below(100) {
            case 0..<50: b.append(opcode); shape = hex(opcode)
            case 50..<75: b += [0x0f, opcode]; shape = "0f \(hex(opcode))"
            case 75..<88: b += [0x0f, 0x38, opcode]; shape = "0f 38 \(hex(opcode))"
            default: b += [0x0f, 0x3a, opcode]; shape = "0f 3a \(hex(opcode))"
            }
        case 70..<80: // VEX2: R vvvv L pp, map 1
            b += [0xc5, r.byte(), opcode]
            shape = "vex2 \(hex(opcode))"
        case 80..<90: // VEX3: RXB mmmmm, W vvvv L pp
            let map = r.chance(90) ? UInt8(r.pick([1, 2, 3])) : r.byte() & 0x1f
            b += [0xc4, r.byte() & 0xe0 | map, r.byte(), opcode]
            shape = "vex3 map\(map) \(hex(opcode))"
        default: // EVEX: R X B R' 0 mmm, W vvvv 1 pp, z L'L b V' aaa
            let map = r.chance(90) ? UInt8(r.pick([1, 2, 3, 5, 6])) : r.byte() & 0x07
            let p0 = r.byte() & 0xf0 | (r.chance(95) ? 0 : 0x08) | map
            let p1 = r.byte() | (r.chance(95) ? 0x04 : 0)
            b += [0x62, p0, p1, r.byte(), opcode]
            shape = "evex map\(map) \(hex(opcode))"
        }
        // ModRM, with SIB and displacements more often than uniform bytes would give them.
        let mod = UInt8(r.below(4)), reg = UInt8(r.below(8))
        let rm: UInt8 = mod != 3 && r.chance(30) ? 4 : (mod == 0 && r.chance(15) ? 5 : UInt8(r.below(8)))
        b.append(mod << 6 | reg << 3 | rm)
        if mod != 3 && rm == 4 {
            let base: UInt8 = mod == 0 && r.chance(30) ? 5 : UInt8(r.below(8))
            b.append(UInt8(r.below(4)) << 6 | UInt8(r.below(8)) << 3 | base)
        }
        for _ in 0..<r.pick([0, 0, 1, 4]) { b.append(r.byte()) }  // displacement
        for _ in 0..<r.pick([0, 0, 1, 2, 4, 8]) { b.append(r.byte()) } // immediate
        for _ in 0..<15 { b.append(r.byte()) }
        return InstructionShape(bytes: b, shape: shape)
    }

    private static func hex(_ byte: UInt8) -> String { hexString([byte]) }
}

/// Why Capstone's length for `bytes` is wrong, for the few encodings where Capstone 5 measures an
/// instruction differently from both the Intel SDM and objdump (which then agree with us); nil otherwise.
/// Each case is narrow: the opcode, the prefixes and the exact difference in length.
private func capstoneMistake(_ bytes: [UInt8], ours: Int, capstone: Int) -> String? {
    var i = 0, operand16 = false, rexW = false
    while i < bytes.count {
        switch bytes[i] {
        case 0x66: operand16 = true; rexW = false
        case 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65: rexW = false
        case 0x40...0x4f: rexW = bytes[i] & 0x08 != 0
        default:
            // UD1 is 0F B9 /r (SDM vol. 2B, AMD APM vol. 3): Capstone stops after the opcode.
            if bytes[i] == 0x0f, i + 1 < bytes.count, bytes[i + 1] == 0xb9, capstone == i + 2, ours > capstone {
                return "UD1 (0f b9 /r) without its ModRM"
            }
            // RET imm16 takes an imm16 whatever the operand size; Capstone reads 4 bytes after 66 + REX.W.
            if bytes[i] == 0xc2, operand16, rexW, capstone == ours + 2 {
                return "RET imm16 (c2 iw) after 66 and REX.W read as RET imm32"
            }
            return nil
        }
        i += 1
    }
    return nil
}

// MARK: - Capstone, through Scripts/capstone_lengths.py

struct Capstone {
    let script: String
    let version: String
    /// The ELF file holding python3's compiled code (libpython, or the executable when it is static).
    let pythonCode: String

    /// Finds python3 on PATH and checks that it can import capstone; fails (never skips) if not.
    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        script = root.appendingPathComponent("Scripts/capstone_lengths.py").path
        try #require(FileManager.default.fileExists(atPath: script), "\(script) is missing")
        let info = String(decoding: try run("/usr/bin/env", ["python3", script, "info"]), as: UTF8.self)
        var fields: [String: String] = [:]
        for line in info.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        version = try #require(fields["capstone"], "python3 (found through /usr/bin/env) cannot import capstone: run `\(DecoderCapstoneTests.pip)` (.ci/run does)")
        pythonCode = fields["python-code"] ?? ""
        print("decoder vs capstone: capstone \(version)")
    }

    /// Runs the script in `mode` on `request`; returns what it wrote.
    func call(_ mode: String, _ request: Data) throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("capstone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in"), output = directory.appendingPathComponent("out")
        try request.write(to: input)
        _ = try run("/usr/bin/env", ["python3", script, mode, input.path, output.path])
        return try #require(try? Data(contentsOf: output), "\(script) \(mode) wrote no answer")
    }

    /// Capstone's length for the first instruction of each byte string, 0 where it decodes none.
    func firstLengths(_ strings: [[UInt8]]) throws -> [UInt8] {
        var request = Data()
        for s in strings {
            precondition(s.count <= 255)
            request.append(UInt8(s.count))
            request.append(contentsOf: s)
        }
        return Array(try call("single", request))
    }
}

func seconds(_ duration: Duration) -> String {
    let (whole, attoseconds) = duration.components
    return "\(whole).\(attoseconds / 100_000_000_000_000_000) s"
}

private extension Data {
    mutating func appendLittleEndian(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

func hexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}
