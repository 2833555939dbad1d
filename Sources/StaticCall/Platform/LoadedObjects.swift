#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import CStaticCall
internal import MachineCode

/// One object mapped in this process (the executable, a shared library), as `dl_iterate_phdr` reports it.
struct LoadedObjectInfo: Equatable {
    var name: String
    /// The load bias: live address = bias + ELF virtual address.
    var bias: UInt64
    var programHeaders: [ProgramHeader]

    /// The object's loadable, readable segments at their live addresses. An execute-only segment (PF_X
    /// without PF_R) is left out: reading it would fault, so nothing in it is ever scanned or proven.
    var liveImage: ImageView {
        ImageView(segments: programHeaders.compactMap { ph in
            guard ph.type == ProgramHeader.load, ph.memorySize > 0, ph.isReadable,
                  let p = UnsafeRawPointer(bitPattern: UInt(bias &+ ph.virtualAddress)) else { return nil }
            return ImageView.Segment(address: bias &+ ph.virtualAddress,
                                     bytes: UnsafeRawBufferPointer(start: p, count: Int(ph.memorySize)),
                                     isExecutable: ph.isExecutable)
        })
    }

    /// The live address of `.eh_frame_hdr`, if the object has one.
    var ehFrameHeader: UInt64? {
        programHeaders.first { $0.type == ProgramHeader.ehFrameHeader }.map { bias &+ $0.virtualAddress }
    }

    /// From the start of the first executable segment to the end of the last (nil if none).
    var executableRange: Range<UInt64>? {
        let text = programHeaders.filter { $0.type == ProgramHeader.load && $0.isExecutable && $0.memorySize > 0 }
        guard let lo = text.map({ bias &+ $0.virtualAddress }).min(),
              let hi = text.map({ bias &+ $0.virtualAddress &+ $0.memorySize }).max() else { return nil }
        return lo..<hi
    }

    /// From the start of the first loadable segment to the end of the last (nil if none).
    var loadedRange: Range<UInt64>? {
        let loads = programHeaders.filter { $0.type == ProgramHeader.load && $0.memorySize > 0 }
        guard let lo = loads.map({ bias &+ $0.virtualAddress }).min(),
              let hi = loads.map({ bias &+ $0.virtualAddress &+ $0.memorySize }).max() else { return nil }
        return lo..<hi
    }

    /// Whether `address` is in any of the object's loadable segments (text, data or bss).
    func containsLoaded(_ address: UInt64) -> Bool {
        programHeaders.contains { ph in
            ph.type == ProgramHeader.load
                && address >= bias &+ ph.virtualAddress && address < bias &+ ph.virtualAddress &+ ph.memorySize
        }
    }

    func containsExecutable(_ address: UInt64) -> Bool {
        programHeaders.contains { ph in
            ph.type == ProgramHeader.load && ph.isExecutable
                && address >= bias &+ ph.virtualAddress && address < bias &+ ph.virtualAddress &+ ph.memorySize
        }
    }
}

/// Every object currently loaded, via `dl_iterate_phdr` (which holds the loader lock while it runs, so
/// the list is a consistent snapshot).
func loadedObjects() -> [LoadedObjectInfo] {
    #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
    final class Box { var objects: [LoadedObjectInfo] = [] }
    let box = Box()
    _ = withExtendedLifetime(box) {
        cstaticcall_iterate_objects({ object, context in
            guard let object, let context else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(context).takeUnretainedValue()
            let count = Int(object.pointee.program_header_count)
            guard let phdr = object.pointee.program_headers, count > 0 else { return 0 }
            let table = UnsafeRawBufferPointer(start: phdr, count: count * 56)
            guard let headers = try? ProgramHeader.parse(table, count: count, entrySize: 56) else { return 0 }
            let name = object.pointee.name.map { String(cString: $0) } ?? ""
            box.objects.append(LoadedObjectInfo(name: name, bias: UInt64(object.pointee.bias), programHeaders: headers))
            return 0
        }, Unmanaged.passUnretained(box).toOpaque())
    }
    return box.objects
    #else
    return []
    #endif
}
