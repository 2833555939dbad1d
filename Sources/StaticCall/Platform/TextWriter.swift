#if canImport(Glibc)
import Glibc
#endif

/// Something that can write bytes into this process's own machine code.
protocol TextWriter: AnyObject {
    var name: String { get }
    func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError)
    /// Called in a forked child, before anything else runs there.
    func resetAfterFork()
}

extension TextWriter {
    func resetAfterFork() {}
}

/// Names of writers refused by `STATICCALL_TEST_DENY_WRITERS` (comma separated: `proc-self-mem`,
/// `mprotect`): a test hook standing in for a kernel that refuses them.
func writerIsDeniedForTesting(_ name: String) -> Bool {
    guard let list = Environment.value("STATICCALL_TEST_DENY_WRITERS") else { return false }
    return list.split(separator: ",").contains { $0 == name }
}

#if os(Linux)
/// Writes through `/proc/self/mem`: the kernel copies the page on write (as for a debugger's
/// breakpoint), so text never becomes writable and no W+X mapping ever exists.
final class ProcSelfMemWriter: TextWriter {
    let name = "proc-self-mem"
    private var fd: Int32 = -1
    private let denied = writerIsDeniedForTesting("proc-self-mem")

    func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError) {
        if denied { throw SystemError("open(/proc/self/mem) [denied by STATICCALL_TEST_DENY_WRITERS]", errno: EPERM) }
        if fd < 0 {
            fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC)
            if fd < 0 { throw SystemError("open(/proc/self/mem)", errno: errno) }
        }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(Int64(bitPattern: address))) }
        if written != bytes.count { throw SystemError("pwrite(/proc/self/mem)", errno: written < 0 ? errno : EIO) }
    }

    /// A forked child must not write through its parent's descriptor: /proc/self was resolved at open.
    func resetAfterFork() {
        if fd >= 0 { close(fd) }
        fd = -1
    }
}

/// Makes the page(s) RW+X for the shortest possible time around a `memcpy`. Never drops X: other
/// threads may be executing the page. Refused under MDWE, SELinux execmem denial and the like.
final class MProtectWriter: TextWriter {
    let name = "mprotect"

    private let denied = writerIsDeniedForTesting("mprotect")

    func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError) {
        if denied { throw SystemError("mprotect [denied by STATICCALL_TEST_DENY_WRITERS]", errno: EACCES) }
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let start = address & ~(page - 1)
        let end = (address + UInt64(bytes.count) + page - 1) & ~(page - 1)
        guard let base = UnsafeMutableRawPointer(bitPattern: UInt(start)) else { throw SystemError("mprotect", errno: EINVAL) }
        if mprotect(base, Int(end - start), PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
            throw SystemError("mprotect(RWX)", errno: errno)
        }
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(bitPattern: UInt(address))!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        if mprotect(base, Int(end - start), PROT_READ | PROT_EXEC) != 0 {
            throw SystemError("mprotect(RX)", errno: errno)
        }
    }
}
#endif

/// Whether this process's memory at `address` holds `bytes` (text is always readable). No allocation:
/// a patch transaction checks every site with it.
func textEquals(at address: UInt64, _ bytes: [UInt8]) -> Bool {
    guard let p = UnsafeRawPointer(bitPattern: UInt(address)) else { return false }
    return bytes.withUnsafeBytes { memcmp(p, $0.baseAddress!, $0.count) == 0 }
}

/// Reads `count` bytes of this process's memory at `address` (text is always readable).
func readText(at address: UInt64, count: Int) -> [UInt8] {
    guard let p = UnsafeRawPointer(bitPattern: UInt(address)) else { return [] }
    return Array(UnsafeRawBufferPointer(start: p, count: count))
}
