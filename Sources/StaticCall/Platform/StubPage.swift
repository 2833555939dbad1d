#if canImport(Glibc)
import Glibc
#endif
import CStaticCall
import MachineCode

/// Pages of far-jump stubs near one object's text (the kernel allocates its trampolines with
/// module_alloc() near kernel text for the same reason).
///
/// A page is written before it is mapped: its bytes go into a memfd, which is then mapped read+execute,
/// so no page is ever writable and executable, and nothing mapped is ever modified (MDWE allows this: it
/// refuses only W+X and exec gain). The pages of an area are consecutive pages of one memfd mapped at
/// consecutive addresses, which the kernel merges into one mapping: stubs cost no mapping per update. If
/// memfd_create or mapping it executable is refused, anonymous pages are written and then made
/// read+execute (an exec gain: refused under MDWE, which leaves the sites on their trampolines).
final class StubArea {
    /// The first page; page `k` of the area is at `base + k * pageSize`.
    let base: UInt64
    private let fd: Int32
    private var pages = 0
    static let capacity = 16

    private init(base: UInt64, fd: Int32) {
        self.base = base
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Maps `bytes` (at most a page) as the area's next page; nil when the area is full or the next
    /// address is taken (the caller opens another area).
    func append(_ bytes: [UInt8]) throws(PatchError) -> UInt64? {
        guard pages < Self.capacity else { return nil }
        let page = PageRemapper.pageSize
        let address = base + UInt64(pages) * page
        guard try Self.map(bytes, fd: fd, page: pages, at: address) else { return nil }
        pages += 1
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
            let area = StubArea(base: address, fd: fd)
            area.pages = 1
            return area
        }
        let maps: String
        do { maps = try ProcFS.read("/proc/self/maps") } catch { throw .system(error) }
        let mapped = MappedRegion.parse(maps).map { $0.start..<$0.end }
        candidates = FarJumpStub.candidates(mapped: mapped, window: window, near: near, pageSize: page)
        guard !candidates.isEmpty else { throw .refused("no free address within rel32 reach of the sites") }
        for address in candidates where try map(bytes, fd: fd, page: 0, at: address) {
            let area = StubArea(base: address, fd: fd)
            area.pages = 1
            return area
        }
        throw .system(SystemError("mmap(stub page): every free address within reach was taken meanwhile", errno: EEXIST))
    }

    /// Maps page `index` of the memfd (written first) at `address`, read+exec; false if the address is
    /// taken or cannot be mapped.
    private static func map(_ bytes: [UInt8], fd: Int32, page index: Int, at address: UInt64) throws(PatchError) -> Bool {
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
            // Taken, or not mappable there (beyond the top of the address space): another address.
            if [EEXIST, ENOMEM, EINVAL].contains(errno) { return false }
            throw .system(SystemError("mmap(stub page)", errno: errno))
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
    }
}
