#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import ArgumentParser
import MachineCode

/// `staticcall sites <binary>`: objtool's view of a binary's static calls, offline.
struct Sites: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every static-call trampoline in an ELF file and each of its call sites, with whether it is patchable.",
        discussion: """
        Trampolines are found by the symbol names the macros give them (__dtrace_staticcall_…), so the
        file needs its symbol table. A site is patchable when decoding from the start of its function
        (known from .eh_frame) lands exactly on it. Addresses are ELF virtual addresses.

        Examples:
          staticcall sites .build/release/myapp
          staticcall sites --json .build/release/myapp | jq '.trampolines[].sites | length'

        Exit codes: 0 listed (possibly nothing); 1 the file cannot be analysed (the reason is printed).
        """
    )

    @Argument(help: "An x86-64 ELF executable or shared object.") var binary: String
    @Flag(help: "Print one JSON document (the schema of DESIGN.md §4).") var json = false

    func run() throws {
        let analysis: SiteAnalysis
        do {
            analysis = try withMappedFile(binary) { try SiteAnalysis.analyse($0) }
        } catch {
            printError("staticcall sites: \(binary): \(error)")
            throw ExitCode(1)
        }
        if json {
            print(analysis.json(binary: binary))
            return
        }
        if analysis.trampolines.isEmpty {
            print("\(binary): no static-call trampolines")
            return
        }
        for t in analysis.trampolines {
            let patchable = t.sites.filter(\.patchable).count
            print("\(t.name)  trampoline 0x\(String(t.address, radix: 16))  \(t.sites.count) sites, \(patchable) patchable  [\(t.symbol)]")
            for s in t.sites {
                print("  0x\(String(s.address, radix: 16))  \(s.kind.rawValue)\(s.patchable ? "" : "  not patchable: \(s.reason ?? "")")")
            }
        }
    }
}

/// Errors reading the file, worded for one line.
struct FileError: Error, CustomStringConvertible {
    var description: String
}

/// Maps a regular file read-only and calls `body` with its bytes.
func withMappedFile<R>(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError(description: String(cString: strerror(errno))) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FileError(description: String(cString: strerror(errno))) }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
        throw FileError(description: (st.st_mode & S_IFMT) == S_IFDIR ? "is a directory" : "is not a regular file")
    }
    guard st.st_size > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    guard let map = mmap(nil, Int(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
        throw FileError(description: String(cString: strerror(errno)))
    }
    defer { munmap(map, Int(st.st_size)) }
    return try body(UnsafeRawBufferPointer(start: map, count: Int(st.st_size)))
}

func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
