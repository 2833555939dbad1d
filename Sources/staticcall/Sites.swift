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
import StaticCall

/// `staticcall sites <binary>`: objtool's view of a binary's static calls, offline.
struct Sites: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every static-call trampoline in an ELF file and each of its call sites, with whether it is patchable.",
        // Paragraphs are one line each (`\` joins the source lines): the tool wraps them to the terminal.
        discussion: """
        Trampolines are found by the symbol names the macros give them (__dtrace_staticcall_…), so the \
        file needs its symbol table. A site is patchable when decoding from the start of its function \
        (known from .eh_frame) lands exactly on it. Addresses are ELF virtual addresses.

        With --check (what `swift package staticcall-check` runs, the analogue of objtool failing the \
        kernel's build): every site that would not be patched is printed to stderr with its reason, and \
        the exit code is 2 if there is one.

        With --json, one document (addresses: a trampoline's first byte, a site's E8/E9 opcode):
          {"binary": path, "trampolines": [{"symbol": string, "name": string,
           "address": "0x…", "sites": [{"address": "0x…", "kind": "call" | "tail",
           "patchable": true | false, "reason": string | null}]}]}

        Examples:
          staticcall sites .build/release/myapp
          staticcall sites --json .build/release/myapp | jq '.trampolines | length'

        Exit codes: 0 listed (possibly nothing); 1 the file cannot be analysed (the reason is \
        printed); 2 with --check, a site would not be patched.
        """
    )

    @Argument(help: "An x86-64 ELF executable or shared object.") var binary: String
    @Flag(help: "Print one JSON document (its shape is above).") var json = false
    @Flag(help: "Fail (exit 2) when a site would not be patched, printing each one with its reason.") var check = false

    /// The document `--json` prints (the discussion above shows its shape).
    static func json(_ analysis: SiteAnalysis, binary: String) -> JSON {
        .object([
            ("binary", .string(binary)),
            ("trampolines", .array(analysis.trampolines.map { t in
                .object([
                    ("symbol", .string(t.symbol)), ("name", .string(t.name)), ("address", .address(t.address)),
                    ("sites", .array(t.sites.map { s in
                        .object([("address", .address(s.address)), ("kind", .string(s.kind.rawValue)),
                                 ("patchable", .bool(s.patchable)), ("reason", .string(s.reason))])
                    })),
                ])
            })),
        ])
    }

    func run() throws {
        let analysis: SiteAnalysis
        do {
            analysis = try withMappedFile(binary) { try SiteAnalysis.analyse($0) }
        } catch {
            printError("staticcall sites: \(binary): \(error)")
            throw ExitCode(1)
        }
        print(json ? Self.json(analysis, binary: binary).text : listing(analysis))
        guard check else { return }
        let unpatchable = analysis.trampolines.flatMap { t in t.sites.filter { !$0.patchable }.map { (t, $0) } }
        for (t, site) in unpatchable {
            printError("staticcall sites --check: \(binary): \(t.name): site 0x\(String(site.address, radix: 16)) (\(site.kind.rawValue)) would not be patched: \(site.reason ?? "no reason")")
        }
        if !unpatchable.isEmpty {
            printError("staticcall sites --check: \(binary): \(unpatchable.count) site\(unpatchable.count == 1 ? "" : "s") would not be patched")
            throw ExitCode(2)
        }
    }

    private func listing(_ analysis: SiteAnalysis) -> String {
        if analysis.trampolines.isEmpty { return "\(binary): no static-call trampolines" }
        var lines: [String] = []
        for t in analysis.trampolines {
            let patchable = t.sites.filter(\.patchable).count
            lines.append("\(t.name)  trampoline 0x\(String(t.address, radix: 16))  \(t.sites.count) sites, \(patchable) patchable  [\(t.symbol)]")
            for s in t.sites {
                lines.append("  0x\(String(s.address, radix: 16))  \(s.kind.rawValue)\(s.patchable ? "" : "  not patchable: \(s.reason ?? "")")")
            }
        }
        return lines.joined(separator: "\n")
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
