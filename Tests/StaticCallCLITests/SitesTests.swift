import Foundation
import MachineCode
import StaticCallTestSupport
import Testing

/// `staticcall sites`: agreement with objdump on the real -O-built test programs, every bad input, and fuzzing.
@Suite("staticcall sites", .serialized)
struct SitesTests {
    /// objdump's call and jmp instructions whose target symbol is a key's trampoline: (site, trampoline, kind).
    static func objdumpSites(_ path: String) -> Set<String> {
        // Demangled by the toolchain's `swift demangle`: mangled names compress repeated words.
        let out = runProcess("/bin/sh", ["-c", "/usr/bin/objdump -d --no-show-raw-insn \"$0\" | swift demangle", path], environment: [:]).output
        var result: Set<String> = []
        var function = ""
        for line in out.split(separator: "\n") {
            if line.hasSuffix(">:"), let open = line.firstIndex(of: "<") { function = String(line[open...]) }
            // A key's registration thunk (the closure the macros write to hand the runtime the trampoline's
            // address) branches to the trampoline, and is not a call site of the program.
            if function.contains("closure #"),
               (function.contains("._staticcallKey_") && function.contains("trampolineAddress")) || function.contains("._statickeyRegister_") { continue }
            guard line.contains("<__dtrace_staticcall_") else { continue }
            let fields = line.split(separator: "\t")
            guard fields.count >= 2, let colon = fields[0].firstIndex(of: ":") else { continue }
            let address = fields[0][..<colon].trimmingCharacters(in: .whitespaces)
            let insn = fields[1].split(separator: " ", omittingEmptySubsequences: true)
            guard let mnemonic = insn.first, mnemonic == "call" || mnemonic == "jmp", insn.count >= 3 else { continue }
            let symbol = insn[2].trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
            guard !symbol.contains("+") else { continue } // a jump inside the trampoline itself
            // The naming rule, written out independently: a trampoline's slow path (its own tail jump
            // goes there) and the library's dispatch function are not keys.
            guard !symbol.hasSuffix("_slow"), symbol != "__dtrace_staticcall_dispatch" else { continue }
            result.insert("0x\(address) \(symbol) \(mnemonic == "call" ? "call" : "tail")")
        }
        return result
    }

    @Test(arguments: ["staticcall-integration", "staticcall-macro-integration"])
    func agreesWithObjdumpOnReleaseBuiltTestPrograms(_ product: String) throws {
        let path = try (product == "staticcall-integration" ? IntegrationBinary.path : IntegrationBinary.macroProgramPath).get()
        let analysis = try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { try SiteAnalysis.analyse($0) }
        var ours: Set<String> = []
        for t in analysis.trampolines {
            for s in t.sites { ours.insert("0x\(String(s.address, radix: 16)) \(t.symbol) \(s.kind.rawValue)") }
        }
        let theirs = Self.objdumpSites(path)
        #expect(analysis.trampolines.count >= 5)
        #expect(!theirs.isEmpty)
        #expect(ours == theirs, "only ours: \(ours.subtracting(theirs).sorted())\nonly objdump's: \(theirs.subtracting(ours).sorted())")
        let unpatchable = analysis.trampolines.flatMap(\.sites).filter { !$0.patchable }
        #expect(unpatchable.isEmpty, "\(unpatchable)")
        let json = try sites(path, json: true)
        #expect(json.status == 0, "\(json.err)")
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect(object?["binary"] as? String == path)
        let first = (object?["trampolines"] as? [[String: Any]])?.first
        #expect(first?["symbol"] is String && first?["name"] is String && (first?["address"] as? String)?.hasPrefix("0x") == true)
        let site = (first?["sites"] as? [[String: Any]])?.first
        #expect(site?["kind"] as? String == "call" || site?["kind"] as? String == "tail")
        #expect(site?["patchable"] is Bool && site?.keys.contains("reason") == true)
    }

    static let cli: Result<String, IntegrationBinary.BuildError> = IntegrationBinary.build("staticcall", override: "STATICCALL_CLI_BIN")

    /// Runs `staticcall sites` on `path`; returns exit status, standard output and standard error.
    func sites(_ path: String, json: Bool = false, check: Bool = false) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.cli.get())
        process.arguments = ["sites"] + (json ? ["--json"] : []) + (check ? ["--check"] : []) + [path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func scratch(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("staticcall-sites-\(getpid())-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func everyBadInputGetsOneLineAndANonZeroExit() throws {
        let real = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try IntegrationBinary.path.get())))
        var elf32 = real; elf32[4] = 1
        var bigEndian = real; bigEndian[5] = 2
        var badSections = real
        withUnsafeBytes(of: UInt64(real.count + 4096).littleEndian) { for (i, b) in $0.enumerated() { badSections[40 + i] = b } }
        let cases: [(String, String, String)] = [
            ("/nonexistent/staticcall-test", "missing file", "No such file"),
            (FileManager.default.temporaryDirectory.path, "a directory", "is a directory"),
            (try Self.scratch("text", Array("hello\n".utf8)), "not ELF", "not an ELF file"),
            (try Self.scratch("empty", []), "empty", "not an ELF file"),
            (try Self.scratch("elf32", elf32), "32-bit", "32-bit"),
            (try Self.scratch("bigendian", bigEndian), "big-endian", "big-endian"),
            (try Self.scratch("truncated", Array(real.prefix(100))), "truncated", "outside the file"),
            (try Self.scratch("badsections", badSections), "corrupted section table", "outside the file"),
        ]
        for (path, what, expected) in cases {
            let r = try sites(path)
            #expect(r.status == 1, "\(what): exit \(r.status)")
            #expect(r.err.contains(expected), "\(what): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1 && r.out.isEmpty, "\(what): one line on stderr only: \(r.err)|\(r.out)")
        }
    }

    @Test func strippedBinarySaysWhatThatMeans() throws {
        let path = try Self.scratch("stripped", [])
        let strip = runProcess("/usr/bin/strip", ["-o", path, try IntegrationBinary.path.get()], environment: [:])
        try #require(strip.status == 0, "\(strip.output)")
        let r = try sites(path)
        #expect(r.status == 1 && r.err.contains("no .symtab") && r.err.contains("symbol names"), "\(r.err)")
    }

    @Test func binaryWithoutTrampolinesIsAnEmptyResult() throws {
        // The Swift runtime this test process runs on: real, with a symbol table, and no trampolines.
        let maps = String(decoding: FileHandle(forReadingAtPath: "/proc/self/maps")!.readDataToEndOfFile(), as: UTF8.self)
        let core = try #require(maps.split(separator: "\n").compactMap { $0.split(separator: " ").last }.first { $0.hasSuffix("/libswiftCore.so") })
        let r = try sites(String(core), json: true)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\"trampolines\": []"), "\(r.out)")
    }

    /// A gcc-built shared object with a trampoline, a real call to it, and (if `hidden`) bytes that look
    /// like a second call but lie inside a `movabs` immediate: found, and not provable.
    static func checkObject(hidden: Bool) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("staticcall-check-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let t = "__dtrace_staticcall_check_0123456789abcdef"
        var asm = ".text\n.globl \(t)\n.protected \(t)\n.type \(t),@function\n\(t):\n.cfi_startproc\n mov %rdi, %rax\n ret\n.cfi_endproc\n"
        asm += ".type good,@function\ngood:\n.cfi_startproc\n sub $8, %rsp\n.cfi_def_cfa_offset 16\n call \(t)\n add $8, %rsp\n.cfi_def_cfa_offset 8\n ret\n.cfi_endproc\n"
        if hidden {
            asm += ".type hidden,@function\nhidden:\n.cfi_startproc\n .byte 0x48, 0xb8, 0xe8\n .long \(t) - (. + 4)\n .byte 0, 0, 0\n ret\n.cfi_endproc\n"
        }
        let name = hidden ? "hidden" : "clean"
        try asm.write(to: dir.appendingPathComponent("\(name).s"), atomically: true, encoding: .utf8)
        let so = dir.appendingPathComponent("\(name).so").path
        let r = runProcess("/usr/bin/env", ["gcc", "-shared", "-nostdlib", "-Wl,--eh-frame-hdr", "-o", so, dir.appendingPathComponent("\(name).s").path], environment: [:])
        try #require(r.status == 0, "\(r.output)")
        return so
    }

    /// What the optimizer makes of a key whose parameter is an existential not written with `any`: the
    /// trampoline becomes a jump to a specialized copy (`$s<length><trampoline>Tf4e_n`, taking the opened
    /// value), and the program's call sites call the copy. Made with gcc, like `checkObject`.
    static func specializedCopyObject() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("staticcall-check-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let t = "__dtrace_staticcall_check_0123456789abcdef"
        let copy = "\"$s\(t.count)\(t)Tf4e_n\""
        var asm = ".text\n.type \(copy),@function\n\(copy):\n.cfi_startproc\n mov %rdi, %rax\n ret\n.cfi_endproc\n"
        asm += ".globl \(t)\n.protected \(t)\n.type \(t),@function\n\(t):\n.cfi_startproc\n jmp \(copy)\n.cfi_endproc\n"
        asm += ".type caller,@function\ncaller:\n.cfi_startproc\n sub $8, %rsp\n.cfi_def_cfa_offset 16\n call \(copy)\n add $8, %rsp\n.cfi_def_cfa_offset 8\n ret\n.cfi_endproc\n"
        try asm.write(to: dir.appendingPathComponent("specialized.s"), atomically: true, encoding: .utf8)
        let so = dir.appendingPathComponent("specialized.so").path
        let r = runProcess("/usr/bin/env", ["gcc", "-shared", "-nostdlib", "-Wl,--eh-frame-hdr", "-o", so, dir.appendingPathComponent("specialized.s").path], environment: [:])
        try #require(r.status == 0, "\(r.output)")
        return so
    }

    /// A key whose trampoline the optimizer specialized stays indirect at run time; `--check` must fail on
    /// its call sites (it passed: they call the copy, which was not looked for).
    @Test func checkFailsOnCallsOfASpecializedCopyOfATrampoline() throws {
        let r = try sites(try Self.specializedCopyObject(), check: true)
        #expect(r.status == 2, "\(r.out)\n\(r.err)")
        let failures = r.err.split(separator: "\n").filter { $0.contains("would not be patched:") }
        #expect(failures.count == 1 && failures[0].contains("(call)") && failures[0].contains("specialized copy of the trampoline"), "\(r.err)")
    }

    /// `--check`, what the staticcall-check plugin runs: a site that would not be patched fails with its
    /// reason (exit 2); a binary whose every site is patchable passes.
    @Test func checkFailsOnASiteThatWouldNotBePatchedAndPassesOtherwise() throws {
        let clean = try sites(try Self.checkObject(hidden: false), check: true)
        #expect(clean.status == 0 && clean.err.isEmpty && clean.out.contains("1 sites, 1 patchable"), "\(clean.out)\n\(clean.err)")
        let hidden = try sites(try Self.checkObject(hidden: true), check: true)
        #expect(hidden.status == 2, "\(hidden.out)\n\(hidden.err)")
        let failures = hidden.err.split(separator: "\n").filter { $0.contains("would not be patched:") }
        #expect(failures.count == 1 && failures[0].contains("check: site 0x"), "\(hidden.err)")
        #expect(hidden.err.contains("1 site would not be patched"), "\(hidden.err)")
        // The -O-built macro program: every site of every key is patchable.
        let program = try sites(try IntegrationBinary.macroProgramPath.get(), check: true)
        #expect(program.status == 0 && program.err.isEmpty, "\(program.err)")
    }

    /// A small real ELF shared object with a trampoline-named function and calls to it, made with gcc.
    static func smallObject() throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("staticcall-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var asm = ".text\n.globl __dtrace_staticcall_fuzz_0123456789abcdef\n.protected __dtrace_staticcall_fuzz_0123456789abcdef\n"
        asm += ".type __dtrace_staticcall_fuzz_0123456789abcdef,@function\n__dtrace_staticcall_fuzz_0123456789abcdef:\n.cfi_startproc\n mov %rdi, %rax\n ret\n.cfi_endproc\n"
        for i in 0..<40 {
            asm += ".type f\(i),@function\nf\(i):\n.cfi_startproc\n push %rbp\n.cfi_def_cfa_offset 16\n mov $0xe8e8, %eax\n"
            asm += " call __dtrace_staticcall_fuzz_0123456789abcdef\n lea 8(%rdi,%rsi,4), %rcx\n vmovdqu (%rdi), %ymm0\n"
            asm += i % 3 == 0 ? " pop %rbp\n.cfi_def_cfa_offset 8\n jmp __dtrace_staticcall_fuzz_0123456789abcdef\n" : " pop %rbp\n.cfi_def_cfa_offset 8\n ret\n"
            asm += ".cfi_endproc\n"
        }
        try asm.write(to: dir.appendingPathComponent("small.s"), atomically: true, encoding: .utf8)
        let so = dir.appendingPathComponent("small.so").path
        let r = runProcess("/usr/bin/env", ["gcc", "-shared", "-nostdlib", "-Wl,--eh-frame-hdr", "-o", so, dir.appendingPathComponent("small.s").path], environment: [:])
        try #require(r.status == 0, "\(r.output)")
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: so)))
    }

    @Test func survivesTenThousandMutatedAndTruncatedCopiesOfRealBinaries() throws {
        let small = try Self.smallObject()
        let clean = try small.withUnsafeBytes { try SiteAnalysis.analyse($0) }
        // 40 calls and 14 tail jumps; the assembler shortens the tail jumps that land within 127 bytes
        // to `jmp rel8`, which no 5-byte state can replace, so those are not sites.
        #expect(clean.trampolines.count == 1 && clean.trampolines[0].sites.count >= 40 && clean.trampolines[0].sites.allSatisfy(\.patchable))
        let large = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try IntegrationBinary.path.get())))
        var rng = SystemRandomNumberGenerator()
        var analysed = 0, rejected = 0
        for round in 0..<10_300 {
            let source = round < 10_000 ? small : large
            var copy = source
            switch round % 4 {
            case 0: copy = Array(source.prefix(Int.random(in: 0..<source.count, using: &rng)))
            case 1: // bytes anywhere
                for _ in 0..<Int.random(in: 1...32, using: &rng) { copy[Int.random(in: 0..<copy.count, using: &rng)] = .random(in: 0...255, using: &rng) }
            default: // the tables parsing depends on: ELF header, program headers, section headers
                let shoff = Int(copy.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 40, as: UInt64.self) })
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let base = [0, 64, max(0, min(shoff, copy.count - 64))][Int.random(in: 0..<3, using: &rng)]
                    copy[min(copy.count - 1, base + Int.random(in: 0..<64, using: &rng))] = .random(in: 0...255, using: &rng)
                }
            }
            let ok = copy.withUnsafeBytes { raw -> Bool in
                do { _ = try SiteAnalysis.analyse(raw); return true } catch { return false }
            }
            if ok { analysed += 1 } else { rejected += 1 }
        }
        print("fuzz: \(analysed) analysed, \(rejected) rejected with an error, no crash, no hang")
        #expect(analysed + rejected == 10_300 && rejected > 0 && analysed > 0)
    }
}
