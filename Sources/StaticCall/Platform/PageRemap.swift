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

/// The file behind one loaded object's text, opened once and checked to be the very file mapped there,
/// so that a page mapped from it is the page the loader mapped: same file, same offset, same name in
/// `/proc/self/maps`, and the kernel's uprobes for that file installed in it.
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
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .system(SystemError("open(\(path))", errno: errno)) }
        do throws(PatchError) {
            try Self.checkIdentity(of: fd, path: path, liveText: object.bias &+ text.virtualAddress)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Like with like: maps a page of the file we opened and compares the device and inode that
    /// /proc/self/maps shows for it with those of the live text (stat's st_dev differs from what maps
    /// shows on btrfs subvolumes and some overlayfs kernels; two maps lines always agree).
    private static func checkIdentity(of fd: Int32, path: String, liveText: UInt64) throws(PatchError) {
        let live: MappedRegion?
        do { live = try ProcFS.region(containing: liveText) } catch { throw .system(error) }
        guard let live, live.isPrivate, live.inode != 0 else {
            throw .refused("the text of \(path) is not a private file mapping")
        }
        let size = Int(PageRemapper.pageSize)
        guard let probe = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), probe != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .system(SystemError("mmap(\(path))", errno: errno))
        }
        defer { munmap(probe, size) }
        let mine: MappedRegion?
        do { mine = try ProcFS.region(containing: UInt64(UInt(bitPattern: probe))) } catch { throw .system(error) }
        guard let mine, mine.inode == live.inode, mine.deviceMajor == live.deviceMajor, mine.deviceMinor == live.deviceMinor else {
            throw .refused("\(path) on disk is not the file mapped in this process (replaced since it was loaded)")
        }
    }

    deinit { close(fd) }

    /// The file offset of `page` and the bounds of the executable segment holding it (page-rounded), if
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
    /// A replacement failed after the kernel had unmapped the old pages, and the file's own pages were
    /// mapped there instead: every site in the range holds its original call to the trampoline again.
    case revertedToFile(String)

    var description: String {
        switch self {
        case let .system(e): return "\(e)"
        case let .refused(why), let .revertedToFile(why): return why
        }
    }

    /// Errors that may not happen again (descriptors or memory short for a moment): not remembered.
    var isTransient: Bool {
        if case let .system(e) = self { return [EMFILE, ENFILE, ENOMEM, EAGAIN, EINTR].contains(e.errno) }
        return false
    }
}

/// Replaces whole pages of text with new ones, never modifying a page that any thread may be executing:
/// the new page is a fresh private mapping of the same file at the same offset, given the sites' bytes
/// while no thread can run it, then moved over the old one with `mremap(MREMAP_FIXED)`. Every thread
/// executes either the old page or the new one (a thread that reaches the range meanwhile faults and
/// waits for the mapping lock), so no signal handler, membarrier or INT3 is needed, and a thread that
/// blocks every signal, a debugger, or a seccomp filter on membarrier changes nothing. No mapping is
/// ever writable and executable at once.
///
/// Only this runtime's own sites differ from the file in the new page. Anything else someone changed in
/// the old one is not carried over: a debugger's breakpoint there is lost (the kernel installs uprobes
/// in the new mapping itself, since it maps the same file), and a stale INT3 can never be copied.
final class PageRemapper {
    let mem: ProcSelfMem
    /// How new pages are filled: through /proc/self/mem into a read+exec mapping (preferred), or by
    /// mapping them read+write and then read+exec (refused under MDWE) once /proc/self/mem is refused.
    private(set) var fillsThroughProcSelfMem = true
    private(set) var procSelfMemRefusal: String?

    init(mem: ProcSelfMem) { self.mem = mem }

    var name: String { fillsThroughProcSelfMem ? "page-remap (proc-self-mem)" : "page-remap (mprotect RW then RX)" }

    static let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))

    /// Replaces the pages `[start, start + size)` of `file`'s text with the file's bytes plus `edits`
    /// (live address, bytes), after `check` has accepted the file's bytes for the range (it returns why
    /// not, or nil).
    func replace(at start: UInt64, size: Int, file: MappedFile, offset: UInt64, edits: [TextEdit],
                 check: (UnsafeRawBufferPointer) -> String?) throws(PatchError) {
        precondition(start % Self.pageSize == 0 && size > 0 && UInt64(size) % Self.pageSize == 0)
        if fillsThroughProcSelfMem {
            let fresh = try map(file, offset: offset, size: size, protection: PROT_READ | PROT_EXEC)
            if let problem = check(UnsafeRawBufferPointer(start: fresh, count: size)) {
                munmap(fresh, size)
                throw .refused(problem)
            }
            // The edits, moved to the new pages, as few writes as possible (one per page).
            let base = UInt64(UInt(bitPattern: fresh))
            let moved = edits.map { edit in var e = edit; e.address = base + (edit.address - start); return e }
            let spans = TextSpans.coalesce(moved, pageSize: Self.pageSize, maxGap: Int(Self.pageSize)) { readText(at: $0, count: $1) }
            do {
                for span in spans { try mem.write(span.bytes, at: span.address) }
            } catch {
                munmap(fresh, size)
                if PatchError.system(error).isTransient { throw .system(error) }
                fillsThroughProcSelfMem = false
                procSelfMemRefusal = "\(error)"
                debugLog("page remap: \(error); filling new pages read+write, then read+exec from now on")
                return try replace(at: start, size: size, file: file, offset: offset, edits: edits, check: check)
            }
            return try move(fresh, size: size, to: start, file: file, offset: offset)
        }
        let fresh = try map(file, offset: offset, size: size, protection: PROT_READ | PROT_WRITE)
        if let problem = check(UnsafeRawBufferPointer(start: fresh, count: size)) {
            munmap(fresh, size)
            throw .refused(problem)
        }
        for edit in edits {
            edit.bytes.withUnsafeBytes { (fresh + Int(edit.address - start)).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        if mprotect(fresh, size, PROT_READ | PROT_EXEC) != 0 {
            let error = SystemError("mprotect(new page, RX)", errno: errno)
            munmap(fresh, size)
            // Both ways refused: the next replacement tries /proc/self/mem first again.
            fillsThroughProcSelfMem = true
            throw .refused("\(error)\(procSelfMemRefusal.map { " (after \($0))" } ?? "")")
        }
        try move(fresh, size: size, to: start, file: file, offset: offset)
    }

    private func map(_ file: MappedFile, offset: UInt64, size: Int, protection: Int32) throws(PatchError) -> UnsafeMutableRawPointer {
        let p = mmap(nil, size, protection, MAP_PRIVATE, file.fd, off_t(Int64(bitPattern: offset)))
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .system(SystemError("mmap(\(file.path), \(protection & PROT_EXEC != 0 ? "RX" : "RW"))", errno: errno))
        }
        return p
    }

    /// Moves `fresh` over `[start, start + size)`. The kernel unmaps the destination before it moves,
    /// and the move itself can still fail (ENOMEM): then the range may be a hole that the next thread to
    /// run it would fault in. So a failure is checked for that: the move is tried once more, and failing
    /// that the file's own pages are mapped into the hole (every site back to its original call to the
    /// trampoline, which is always correct).
    private func move(_ fresh: UnsafeMutableRawPointer, size: Int, to start: UInt64, file: MappedFile, offset: UInt64) throws(PatchError) {
        let destination = UnsafeMutableRawPointer(bitPattern: UInt(start))
        let err = cstaticcall_mremap_fixed(fresh, size, destination)
        if err == 0 { return }
        let error = SystemError("mremap", errno: err)
        if Self.isMapped(start, size: size) {
            munmap(fresh, size)
            throw .system(error)
        }
        if cstaticcall_mremap_fixed(fresh, size, destination) == 0 { return }
        munmap(fresh, size)
        let original = mmap(destination, size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, file.fd, off_t(Int64(bitPattern: offset)))
        if original == destination {
            throw .revertedToFile("\(error) after the old pages were unmapped; the file's original pages were mapped back")
        }
        let message = "\(error) after the old pages were unmapped, and mapping the file's pages back failed too (\(SystemError("mmap", errno: errno))): 0x\(String(start, radix: 16)) is unmapped"
        warn(message)
        throw .refused(message)
    }

    /// Whether every page of the range is mapped (`mincore` fails with ENOMEM on a hole).
    static func isMapped(_ start: UInt64, size: Int) -> Bool {
        guard let p = UnsafeMutableRawPointer(bitPattern: UInt(start)) else { return false }
        var vector = [UInt8](repeating: 0, count: (size + Int(pageSize) - 1) / Int(pageSize))
        return mincore(p, size, &vector) == 0
    }
}
