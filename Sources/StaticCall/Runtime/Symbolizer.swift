#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
internal import MachineCode

/// Names addresses for the report: the nearest function symbol from the object's file on disk
/// (`.symtab`, else `.dynsym`), demangled by the Swift runtime. Each object's table is read on the first
/// report that needs it and kept by its `ObjectCache` for the object's lifetime (programs call
/// `report()` often; reading and sorting whole symbol tables each time dominated the image tests'
/// programs in a debug build).
enum Symbolizer {
    /// The name of `address` in `object` (the loaded object whose text holds it), or a placeholder.
    static func name(of address: UInt64, in object: ObjectCache?) -> String {
        let unnamed = "<unnamed function at 0x\(String(address, radix: 16))>"
        guard let object else { return unnamed }
        let table = object.functionSymbols
        let vaddr = address &- object.info.bias
        var lo = 0, hi = table.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if table[mid].start <= vaddr { lo = mid + 1 } else { hi = mid }
        }
        // Closures often have no symbol of their own; do not name them after their neighbour.
        guard lo > 0, case let (start, size, mangled) = table[lo - 1], vaddr < start + max(size, 1) else { return unnamed }
        let name = demangle(mangled)
        return start == vaddr ? name : "\(name)+\(vaddr - start)"
    }

    static func functionSymbols(_ path: String) -> [(start: UInt64, size: UInt64, name: String)] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0, let map = mmap(nil, Int(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0),
              map != MAP_FAILED else { return [] }
        defer { munmap(map, Int(st.st_size)) }
        guard let elf = try? ELFFile(bytes: UnsafeRawBufferPointer(start: map, count: Int(st.st_size))),
              let symbols = try? elf.symbols() else { return [] }
        return symbols.filter { $0.isFunction && $0.value != 0 }.map { ($0.value, $0.size, $0.name) }.sorted { $0.start < $1.start }
    }
}

/// Demangles a Swift symbol name with the runtime's own demangler; other names come back unchanged.
func demangle(_ mangled: String) -> String { SwiftSymbols.demangle(mangled) ?? mangled }
