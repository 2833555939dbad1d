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

/// A descriptor of `/proc/self/mem`, tied to the process that opened it.
///
/// `/proc/self` is resolved when the file is opened: a child made by `fork()` inherits a descriptor of
/// its *parent's* memory. Fork handlers cannot cover every child (`syscall(SYS_fork)`, `clone`,
/// `_Fork()` run none), so every write checks the pid and reopens in a new process.
final class ProcSelfMem {
    private var fd: Int32 = -1
    private var owner: pid_t = 0

    /// Writes `bytes` at `address` of this process, even where the mapping is not writable (the kernel
    /// copies the page on write, as for a debugger's breakpoint: no W+X mapping ever exists).
    func write(_ bytes: UnsafeRawBufferPointer, at address: UInt64) throws(SystemError) {
        let pid = getpid()
        if fd >= 0 && owner != pid {
            close(fd) // the parent's memory: never write through it
            fd = -1
        }
        if fd < 0 {
            fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC)
            if fd < 0 { throw SystemError("open(/proc/self/mem)", errno: errno) }
            owner = pid
        }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(Int64(bitPattern: address &+ UInt64(done))))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("pwrite(/proc/self/mem)", errno: errno)
            }
            if n == 0 { throw SystemError("pwrite(/proc/self/mem)", errno: EIO) }
            done += n
        }
    }

    func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try write(raw, at: address) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

/// Something that can write bytes into this process's own machine code in place (the INT3 protocol's
/// writes; page remapping writes into a fresh page instead).
protocol TextWriter: AnyObject {
    var name: String { get }
    func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError)
}

#if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
/// Writes through `/proc/self/mem`: text never becomes writable.
final class ProcSelfMemWriter: TextWriter {
    let name = "proc-self-mem"
    let mem: ProcSelfMem

    init(_ mem: ProcSelfMem) { self.mem = mem }

    func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError) { try mem.write(bytes, at: address) }
}

/// Makes the page(s) RW+X for the shortest possible time around a `memcpy`: the last resort, used only
/// when `/proc/self/mem` is refused. Never drops X (other threads may be executing the page). Refused
/// under MDWE, SELinux execmem denial and W^X seccomp filters.
final class MProtectWriter: TextWriter {
    let name = "mprotect"
    /// Set when a page could not be made read-only again after a write: the page stays writable and
    /// executable, so this writer is never used again, and the report says so.
    private(set) var leftWritable: String?

    func write(_ bytes: [UInt8], at address: UInt64) throws(SystemError) {
        if let leftWritable { throw SystemError("mprotect [not used again: \(leftWritable)]", errno: EPERM) }
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let start = address & ~(page - 1)
        let end = (address + UInt64(bytes.count) + page - 1) & ~(page - 1)
        guard let base = UnsafeMutableRawPointer(bitPattern: UInt(start)) else { throw SystemError("mprotect", errno: EINVAL) }
        if mprotect(base, Int(end - start), PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
            throw SystemError("mprotect(RWX)", errno: errno)
        }
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(bitPattern: UInt(address))!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        if mprotect(base, Int(end - start), PROT_READ | PROT_EXEC) != 0 {
            // The bytes are written (this is not a failed write), but the page stays RWX.
            let why = "mprotect(RX) of 0x\(String(start, radix: 16)) failed (\(SystemError("mprotect", errno: errno))); the page stays writable"
            leftWritable = why
            debugLog(why)
        }
    }
}
#endif

/// Whether the site at `address` holds `bytes` (text is always readable): two loads and a comparison,
/// no allocation; a patch transaction checks every site with it.
func textEquals(at address: UInt64, _ bytes: SiteBytes) -> Bool {
    readSite(at: address) == bytes
}

/// The five bytes of the site at `address` (text is always readable).
func readSite(at address: UInt64) -> SiteBytes {
    SiteBytes(loadingFrom: UnsafeRawPointer(bitPattern: UInt(address))!)
}

/// Reads `count` bytes of this process's memory at `address` (text is always readable).
func readText(at address: UInt64, count: Int) -> [UInt8] {
    guard let p = UnsafeRawPointer(bitPattern: UInt(address)) else { return [] }
    return Array(UnsafeRawBufferPointer(start: p, count: count))
}
