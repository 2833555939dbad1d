/// The two checksum implementations the demo dispatches between, and the selection at start-up.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform")
#endif

/// One byte at a time.
@inline(never)
func scalarChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var s: UInt32 = 0
    for b in bytes { s = (s &<< 5 | s &>> 27) ^ UInt32(b) }
    return s
}

/// Eight bytes at a time, then the tail: the "vector" implementation a CPU-feature check selects.
@inline(never)
func wordChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var s: UInt64 = 0
    var i = 0
    while i + 8 <= bytes.count {
        s = (s &<< 7 | s &>> 57) ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        i += 8
    }
    while i < bytes.count { s = (s &<< 7 | s &>> 57) ^ UInt64(bytes[i]); i += 1 }
    return UInt32(truncatingIfNeeded: s ^ (s >> 32))
}

/// Whether this CPU advertises AVX2 (read from /proc/cpuinfo; false where it cannot be read).
public func cpuHasAVX2() -> Bool {
    guard let text = readProcFile("/proc/cpuinfo") else { return false }
    return text.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("avx2") }
}

/// Reads a whole file by reading to its end (procfs files report a size of 0); nil if it cannot be opened.
func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        data += chunk[0..<n]
    }
    return String(decoding: data, as: UTF8.self)
}
