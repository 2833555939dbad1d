import Foundation
import MachineCode
import Testing

/// objdump's view of a file: every instruction start (sorted) and its length (0 for "(bad)").
struct ObjdumpListing {
    var addresses: [UInt64] = []
    var lengths: [UInt8] = []

    init(path: String) throws {
        let out = try run("/usr/bin/objdump", ["-d", "-z", "--insn-width=16", path])
        out.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var i = 0
            let n = raw.count
            func hexValue(_ c: UInt8) -> UInt64? {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(c - UInt8(ascii: "a") + 10)
                default: return nil
                }
            }
            while i < n {
                var lineEnd = i
                while lineEnd < n && raw[lineEnd] != 0x0a { lineEnd += 1 }
                defer { i = lineEnd + 1 }
                var j = i
                while j < lineEnd && raw[j] == 0x20 { j += 1 }
                guard j > i else { continue } // instruction lines are indented
                var address: UInt64 = 0
                var digits = 0
                while j < lineEnd, let v = hexValue(raw[j]) { address = address << 4 | v; j += 1; digits += 1 }
                guard digits > 0, j + 1 < lineEnd, raw[j] == UInt8(ascii: ":"), raw[j + 1] == 0x09 else { continue }
                j += 2
                var count = 0
                while j + 1 < lineEnd, hexValue(raw[j]) != nil, hexValue(raw[j + 1]) != nil {
                    count += 1
                    j += 2
                    if j < lineEnd && raw[j] == 0x20 { j += 1 }
                }
                guard count > 0 else { continue }
                var bad = false
                if lineEnd - j >= 5 {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[j..<lineEnd])
                    bad = String(decoding: rest, as: UTF8.self).contains("(bad)")
                }
                addresses.append(address)
                lengths.append(bad ? 0 : UInt8(count))
            }
        }
    }

    func length(at address: UInt64) -> UInt8? {
        var lo = 0, hi = addresses.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if addresses[mid] < address { lo = mid + 1 } else { hi = mid }
        }
        return lo < addresses.count && addresses[lo] == address ? lengths[lo] : nil
    }
}

@Suite("x86-64 length decoder against objdump")
struct DecoderDifferentialTests {
    static let libraries = ["libswiftCore.so", "libFoundationEssentials.so", "libswift_Concurrency.so", "libswift_StringProcessing.so"]

    @Test func decoderAgreesWithObjdumpOnEveryFunctionOfTheSwiftRuntime() throws {
        let paths = loadedToolchainLibraries(named: Self.libraries)
        try #require(paths.count >= 2, "the Swift runtime libraries are not mapped in this process")
        var decoded = 0
        var disagreements: [String] = []
        var unknowns: [String] = []
        for path in paths {
            let listing = try ObjdumpListing(path: path)
            try #require(listing.addresses.count > 10_000, "objdump printed too little for \(path)")
            try withFileBytes(path) { bytes in
                let elf = try ELFFile(bytes: bytes)
                let image = elf.imageView()
                let header = try #require(elf.programHeaders.first { $0.type == ProgramHeader.ehFrameHeader })
                let index = try EHFrameIndex(image: image, headerAddress: header.virtualAddress)
                for function in index.allFunctions() {
                    guard let code = image.bytes(of: function) else { continue }
                    var offset = 0
                    while offset < code.count {
                        let address = function.start + UInt64(offset)
                        switch X86.decode(code, at: offset) {
                        case let .instruction(insn):
                            decoded += 1
                            let theirs = listing.length(at: address)
                            if theirs != UInt8(insn.length) && disagreements.count < 50 {
                                disagreements.append("\(path.split(separator: "/").last!) 0x\(String(address, radix: 16)): ours \(insn.length), objdump \(theirs.map(String.init) ?? "no instruction starts here")")
                            }
                            offset += insn.length
                        case let .unknown(why):
                            unknowns.append("\(path.split(separator: "/").last!) 0x\(String(address, radix: 16)): \(why) (objdump: \(listing.length(at: address).map(String.init) ?? "-"))")
                            offset = code.count
                        case .truncated:
                            disagreements.append("0x\(String(address, radix: 16)): function ends inside an instruction")
                            offset = code.count
                        }
                    }
                }
            }
        }
        print("decoder differential: \(decoded) instructions in \(paths.count) libraries, \(disagreements.count) disagreements, \(unknowns.count) unknown")
        for u in unknowns.prefix(20) { print("  unknown: \(u)") }
        #expect(decoded >= 1_000_000)
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        #expect(unknowns.count <= decoded / 100_000, "unknowns must be rare: \(unknowns.count)")
    }
}
