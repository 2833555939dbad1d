#if canImport(Glibc)
import Glibc
#endif
import CStaticCall
import MachineCode

/// The file behind one loaded object's text, opened once and checked to be the very file mapped there
/// (same device and inode as `/proc/self/maps` shows), so that a page mapped from it is the page the
/// loader mapped: same file, same offset, same name in `/proc/self/maps`, and the kernel's uprobes for
/// that file installed in it.
final class MappedFile {
    let fd: Int32
    let path: String
    let object: LoadedObjectInfo

    init(_ object: LoadedObjectInfo) throws(PatchError) {
        self.object = object
        // The executable: /proc/self/exe is the file that was executed, even if it has since been
        // replaced or deleted on disk.
        path = object.name.isEmpty ? "/proc/self/exe" : object.name
        guard let text = object.programHeaders.first(where: { $0.type == ProgramHeader.load && $0.isExecutable }) else {
            throw .refused("\(path) has no executable segment")
        }
        let region: MappedRegion?
        do { region = try ProcFS.region(containing: object.bias &+ text.virtualAddress) } catch { throw .system(error) }
        guard let region, region.isPrivate, region.inode != 0 else {
            throw .refused("the text of \(path) is not a private file mapping")
        }
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .system(SystemError("open(\(path))", errno: errno)) }
        var status = stat()
        if fstat(fd, &status) != 0 {
            let error = SystemError("fstat(\(path))", errno: errno)
            close(fd)
            throw .system(error)
        }
        let dev = UInt64(status.st_dev)
        let major = UInt32(truncatingIfNeeded: ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff))
        let minor = UInt32(truncatingIfNeeded: (dev & 0xff) | ((dev >> 12) & ~0xff))
        guard UInt64(status.st_ino) == region.inode, major == region.deviceMajor, minor == region.deviceMinor else {
            close(fd)
            throw .refused("\(path) on disk is not the file mapped in this process (replaced since it was loaded)")
        }
    }

    deinit { close(fd) }

    /// The file offset of `page` and the end of the executable segment holding it (page-rounded), if
    /// `page` is in one: live address = bias + p_vaddr, file offset = p_offset + (address - that).
    func location(of page: UInt64, pageSize: UInt64) -> (offset: UInt64, segmentStart: UInt64, segmentEnd: UInt64)? {
        for ph in object.programHeaders where ph.type == ProgramHeader.load && ph.isExecutable {
            let start = object.bias &+ ph.virtualAddress
            let lower = start & ~(pageSize - 1)
            let upper = (start &+ ph.fileSize &+ pageSize - 1) & ~(pageSize - 1)
            guard page >= lower, page < upper, ph.offset >= start - lower else { continue }
            return (ph.offset - (start - lower) + (page - lower), lower, upper)
        }
        return nil
    }
}

/// Why a write did not happen: a system call's error, or a refusal with its reason.
enum PatchError: Error, CustomStringConvertible {
    case system(SystemError)
    case refused(String)

    var description: String {
        switch self {
        case let .system(e): return "\(e)"
        case let .refused(why): return why
        }
    }
}

/// Replaces whole pages of text with new ones, never modifying a page that any thread may be executing:
/// the new page is a fresh private mapping of the same file at the same offset, filled while no thread
/// can run it, then moved over the old one with `mremap(MREMAP_FIXED)`. Every thread executes either the
/// old page or the new one (a thread that reaches the range meanwhile faults and waits for the mapping
/// lock), so no signal handler, membarrier or INT3 is needed, and a thread that blocks every signal, a
/// debugger, or a seccomp filter on membarrier changes nothing. No mapping is ever writable and
/// executable at once.
final class PageRemapper {
    let mem: ProcSelfMem
    /// How the new page is filled: through /proc/self/mem into a read+exec mapping (preferred), or by
    /// mapping it read+write and then read+exec (refused under MDWE) once /proc/self/mem has been refused.
    private(set) var fillsThroughProcSelfMem = true
    private(set) var procSelfMemRefusal: String?

    init(mem: ProcSelfMem) { self.mem = mem }

    var name: String { fillsThroughProcSelfMem ? "page-remap (proc-self-mem)" : "page-remap (mprotect RW then RX)" }

    static let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))

    /// Replaces the pages `[start, start + content.count)` of `file`'s text with `content`.
    /// `differences` receives the file's bytes for the range and says whether they may stand under the
    /// live ones (nil) or why not: the caller's check that the file is the one mapped there.
    func replace(at start: UInt64, with content: [UInt8], file: MappedFile, offset: UInt64,
                 differences: (UnsafeRawBufferPointer) -> String?) throws(PatchError) {
        let size = content.count
        precondition(start % Self.pageSize == 0 && size > 0 && UInt64(size) % Self.pageSize == 0)
        if fillsThroughProcSelfMem {
            let fresh = try map(file, offset: offset, size: size, protection: PROT_READ | PROT_EXEC)
            if let problem = differences(UnsafeRawBufferPointer(start: fresh, count: size)) {
                munmap(fresh, size)
                throw .refused(problem)
            }
            do {
                try mem.write(content, at: UInt64(UInt(bitPattern: fresh)))
            } catch {
                munmap(fresh, size)
                fillsThroughProcSelfMem = false
                procSelfMemRefusal = "\(error)"
                debugLog("page remap: \(error); filling new pages read+write, then read+exec from now on")
                return try replace(at: start, with: content, file: file, offset: offset, differences: differences)
            }
            return try move(fresh, size: size, to: start)
        }
        let fresh = try map(file, offset: offset, size: size, protection: PROT_READ | PROT_WRITE)
        if let problem = differences(UnsafeRawBufferPointer(start: fresh, count: size)) {
            munmap(fresh, size)
            throw .refused(problem)
        }
        content.withUnsafeBytes { fresh.copyMemory(from: $0.baseAddress!, byteCount: size) }
        if mprotect(fresh, size, PROT_READ | PROT_EXEC) != 0 {
            let error = SystemError("mprotect(new page, RX)", errno: errno)
            munmap(fresh, size)
            // Both ways refused: the next replacement tries /proc/self/mem first again (a refusal may
            // have been transient, ENOMEM say).
            fillsThroughProcSelfMem = true
            throw .refused("\(error)\(procSelfMemRefusal.map { " (after \($0))" } ?? "")")
        }
        try move(fresh, size: size, to: start)
    }

    private func map(_ file: MappedFile, offset: UInt64, size: Int, protection: Int32) throws(PatchError) -> UnsafeMutableRawPointer {
        let p = mmap(nil, size, protection, MAP_PRIVATE, file.fd, off_t(Int64(bitPattern: offset)))
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .system(SystemError("mmap(\(file.path), \(protection & PROT_EXEC != 0 ? "RX" : "RW"))", errno: errno))
        }
        return p
    }

    private func move(_ fresh: UnsafeMutableRawPointer, size: Int, to start: UInt64) throws(PatchError) {
        let err = cstaticcall_mremap_fixed(fresh, size, UnsafeMutableRawPointer(bitPattern: UInt(start)))
        if err != 0 {
            munmap(fresh, size)
            throw .system(SystemError("mremap", errno: err))
        }
    }
}
