import Foundation
import MachineCode
import Testing

/// The test process's own executable: real compiler and linker output. (Resolved, because a child
/// process such as objdump would read its own /proc/self/exe.)
let ownExecutable: String = {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/proc/self/exe"
}()

@Suite("ELF64 reader")
struct ELFTests {
    @Test func readsProgramHeadersSectionsAndSymbolsOfARealBinary() throws {
        try withFileBytes(ownExecutable) { bytes in
            let elf = try ELFFile(bytes: bytes)
            #expect(elf.header.machine == ELFFile.machineX86_64)
            #expect(elf.programHeaders.contains { $0.type == ProgramHeader.load && $0.isExecutable })
            #expect(elf.programHeaders.contains { $0.type == ProgramHeader.ehFrameHeader })
            #expect(elf.section(named: ".text")?.isExecutable == true)
            #expect(elf.hasSymbolTable)
            let symbols = try elf.symbols()
            #expect(symbols.contains { $0.isFunction && $0.name.contains("ELFTests") })
        }
    }

    static let elf64Prefix: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]
    static let zeros48 = [UInt8](repeating: 0, count: 48)
    static let badInputs: [([UInt8], String)] = [
        ([], "not an ELF file"),
        (Array("#!/bin/sh\necho hi\n".utf8), "bad magic"),
        (elf64Prefix + [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0] + zeros48, "32-bit"),
        (elf64Prefix + [2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0] + zeros48, "big-endian"),
        (elf64Prefix + [2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "truncated ELF header"),
    ]

    @Test func rejectsWhatIsNotAnELF64LittleEndianFileWithAOneLineError() {
        for (input, expected) in Self.badInputs { check(input, expected) }
    }

    func check(_ input: [UInt8], _ expected: String) {
        let error = input.withUnsafeBytes { raw -> MachineCodeError? in
            do throws(MachineCodeError) { _ = try ELFFile(bytes: raw); return nil } catch { return error }
        }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    @Test func survivesTruncatedAndCorruptedCopiesOfARealBinary() throws {
        // The Swift runtime library this process has mapped: real compiler and linker output with a
        // symbol table and an unwind index, and an eighth of the size of this (debug) test executable,
        // which 2000 rounds took minutes of CPU to copy and parse. One buffer: a truncated copy is a
        // prefix of it, a corrupted one has its changed bytes put back after the round. (This executable
        // when the standard library is linked statically.)
        let path = loadedToolchainLibraries(named: ["libswiftCore.so"]).first ?? ownExecutable
        var copy = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var generator = SystemRandomNumberGenerator()
        var parsed = 0, rejected = 0
        for round in 0..<2000 {
            var length = copy.count
            var changed: [(offset: Int, byte: UInt8)] = []
            if round % 2 == 0 {
                length = Int.random(in: 0..<copy.count, using: &generator)
            } else {
                // Corrupt the header, the program headers and the section headers, where parsing decides things.
                let shoff = Int(copy.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 40, as: UInt64.self) })
                for _ in 0..<8 {
                    let region = Int.random(in: 0..<3, using: &generator)
                    let base = region == 0 ? 0 : (region == 1 ? 64 : min(shoff, copy.count - 64))
                    let offset = base + Int.random(in: 0..<64, using: &generator)
                    changed.append((offset, copy[offset]))
                    copy[offset] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            copy.withUnsafeBytes { whole in
                let raw = UnsafeRawBufferPointer(rebasing: whole[0..<length])
                do {
                    let elf = try ELFFile(bytes: raw)
                    _ = try? elf.symbols()
                    if let h = elf.programHeaders.first(where: { $0.type == ProgramHeader.ehFrameHeader }),
                       let index = try? EHFrameIndex(image: elf.imageView(), headerAddress: h.virtualAddress) {
                        _ = index.allFunctions().count
                    }
                    parsed += 1
                } catch {
                    rejected += 1
                }
            }
            for (offset, byte) in changed.reversed() { copy[offset] = byte }
        }
        #expect(parsed + rejected == 2000)
        #expect(rejected > 0)
    }
}

@Suite(".eh_frame_hdr function index")
struct EHFrameTests {
    @Test func findsTheFunctionOfEverySizedSymbol() throws {
        try withFileBytes(ownExecutable) { bytes in
            let elf = try ELFFile(bytes: bytes)
            let header = try #require(elf.programHeaders.first { $0.type == ProgramHeader.ehFrameHeader })
            let index = try EHFrameIndex(image: elf.imageView(), headerAddress: header.virtualAddress)
            #expect(index.count > 1000)
            let text = try #require(elf.section(named: ".text"))
            let functions = try elf.symbols().filter {
                $0.isFunction && $0.size > 0 && $0.value >= text.address && $0.value < text.address + text.size
            }
            var matched = 0
            for f in functions {
                if let range = try index.function(containing: f.value + f.size / 2), range.start == f.value { matched += 1 }
            }
            #expect(functions.count > 1000)
            #expect(matched * 100 >= functions.count * 95, "\(matched) of \(functions.count) symbols matched an FDE")
            #expect(try index.function(containing: 0) == nil)
        }
    }
}
