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

/// Pages of far-jump stubs near one object's text (the kernel allocates its trampolines with
/// module_alloc() near kernel text for the same reason).
///
/// A page is written before it is mapped: its bytes go into a memfd, which is then mapped read+execute,
/// so no page is ever writable and executable, and nothing mapped is ever modified (MDWE allows this: it
/// refuses only W+X and exec gain). The pages of an area are consecutive pages of one memfd mapped at
/// consecutive addresses, which the kernel merges into one mapping: while an area grows, stubs cost no
/// mapping per update. An area is placed where all its pages fit in reach. If
/// memfd_create or mapping it executable is refused, anonymous pages are written and then made
/// read+execute (an exec gain: refused under MDWE, which leaves the sites on their trampolines); those
/// are writable for a moment, never executable at the same time.
final class StubArea {
    /// The first page; page `k` of the area is at `base + k * pageSize`.
    let base: UInt64
    /// Where every page must start for its stubs to be in reach of the object's sites.
    private let window: ClosedRange<UInt64>
    /// The memfd, while the area can still grow (closed once it is full or its next page is taken).
    private var fd: Int32
    private let anonymous: Bool
    private var pages = 1
    static let capacity = 16

    private init(base: UInt64, window: ClosedRange<UInt64>, fd: Int32) {
        self.base = base
        self.window = window
        self.fd = fd
        self.anonymous = fd < 0
    }

    deinit { closeFile() }

    private func closeFile() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Maps `bytes` (at most a page) as the area's next page; nil when the area is full, the next page
    /// would be out of reach, or its address is taken (the caller opens another area).
    func append(_ bytes: [UInt8]) throws(PatchError) -> UInt64? {
        let page = PageRemapper.pageSize
        let address = base + UInt64(pages) * page
        guard pages < Self.capacity, anonymous || fd >= 0, window.contains(address),
              try Self.map(bytes, fd: fd, page: pages, at: address) else {
            closeFile()
            return nil
        }
        pages += 1
        if pages == Self.capacity { closeFile() }
        return address
    }

    /// Opens an area whose first page holds `bytes`, inside `window` (where every stub is in reach of the
    /// object's sites): first just below the object's mapping `image` (leaving room for the area to grow
    /// up to it), else in the free gap of `/proc/self/maps` nearest to `near`.
    static func open(_ bytes: [UInt8], within window: ClosedRange<UInt64>, near: UInt64,
                     beside image: Range<UInt64>?) throws(PatchError) -> StubArea {
        let page = PageRemapper.pageSize
        precondition(bytes.count <= Int(page))
        var fd = cstaticcall_memfd_create("staticcall-stubs")
        do throws(PatchError) {
            return try open(bytes, fd: fd, window: window, near: near, image: image)
        } catch {
            // An executable mapping of a memfd refused (SELinux's execute on tmpfs, a seccomp filter): an
            // anonymous page, written and then made read+exec, may still be allowed.
            if fd >= 0 { close(fd) }
            guard fd >= 0, case let .system(e) = error, [EACCES, EPERM].contains(e.errno) else { throw error }
            fd = -1
            return try open(bytes, fd: fd, window: window, near: near, image: image)
        }
    }

    private static func open(_ bytes: [UInt8], fd: Int32, window: ClosedRange<UInt64>, near: UInt64,
                             image: Range<UInt64>?) throws(PatchError) -> StubArea {
        let page = PageRemapper.pageSize
        var candidates: [UInt64] = []
        if let image {
            let below = (image.lowerBound & ~(page - 1)) &- UInt64(capacity) * page
            if window.contains(below), below > page { candidates.append(below) }
        }
        for address in candidates where try map(bytes, fd: fd, page: 0, at: address) {
            return StubArea(base: address, window: window, fd: fd)
        }
        let maps: String
        do { maps = try ProcFS.read("/proc/self/maps") } catch { throw .system(error) }
        let mapped = MappedRegion.parse(maps).map { $0.start..<$0.end }
        candidates = FarJumpStub.candidates(mapped: mapped, window: window, near: near, pageSize: page, pages: capacity)
        // An area's worth of room first; else any single free page in reach.
        if candidates.isEmpty { candidates = FarJumpStub.candidates(mapped: mapped, window: window, near: near, pageSize: page) }
        guard !candidates.isEmpty else { throw .refused("no free address within rel32 reach of the sites") }
        for address in candidates where try map(bytes, fd: fd, page: 0, at: address) {
            return StubArea(base: address, window: window, fd: fd)
        }
        throw .refused("no stub page could be mapped at any free address within reach")
    }

    /// Maps page `index` of the memfd (written first) at `address`, read+exec; false if the address is
    /// taken or cannot be mapped.
    private static func map(_ bytes: [UInt8], fd: Int32, page index: Int, at address: UInt64) throws(PatchError) -> Bool {
        #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
        let page = Int(PageRemapper.pageSize)
        let offset = off_t(index * page)
        if fd >= 0 {
            guard ftruncate(fd, offset + off_t(page)) == 0 else { throw .system(SystemError("ftruncate(memfd)", errno: errno)) }
            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
            guard written == bytes.count else { throw .system(SystemError("pwrite(memfd)", errno: errno)) }
        }
        let hint = UnsafeMutableRawPointer(bitPattern: UInt(address))
        let flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE | (fd >= 0 ? 0 : MAP_ANONYMOUS)
        let protection = fd >= 0 ? PROT_READ | PROT_EXEC : PROT_READ | PROT_WRITE
        let p = mmap(hint, page, protection, flags, fd, fd >= 0 ? offset : 0)
        if p == MAP_FAILED {
            let e = errno
            // Taken, or not mappable there (beyond the top of the address space): another address.
            if e == EEXIST || e == ENOMEM || e == EINVAL { return false }
            throw .system(SystemError("mmap(stub page)", errno: e))
        }
        guard UInt64(UInt(bitPattern: p)) == address else { // a kernel without MAP_FIXED_NOREPLACE
            munmap(p, page)
            return false
        }
        if fd < 0 {
            bytes.withUnsafeBytes { _ = memcpy(p!, $0.baseAddress!, $0.count) }
            guard mprotect(p, page, PROT_READ | PROT_EXEC) == 0 else {
                let e = errno
                munmap(p, page)
                throw .system(SystemError("mprotect(stub page, PROT_READ|PROT_EXEC)", errno: e))
            }
        }
        return true
        #else
        throw .refused("stub pages are made on x86-64 Linux only") // MAP_FIXED_NOREPLACE is Linux's
        #endif
    }
}
