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

/// Reads of this process's own procfs files: what the runtime must know about its threads and mappings
/// right before it patches (the kernel needs none of this: it stops the world with IPIs).
enum ProcFS {
    /// The whole content of a procfs file (they report size 0, so read until the end).
    static func read(_ path: String) throws(SystemError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError("open(\(path))", errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read(\(path))", errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The thread ids of every thread of this process.
    static func threadIDs() throws(SystemError) -> [Int32] {
        guard let dir = opendir("/proc/self/task") else { throw SystemError("opendir(/proc/self/task)", errno: errno) }
        defer { closedir(dir) }
        var ids: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let id = Int32(name) { ids.append(id) }
        }
        return ids
    }

    /// The status of every thread of this process right now (a thread that exits meanwhile is skipped).
    static func threadStatuses() throws(SystemError) -> [(id: Int32, status: ProcessStatus)] {
        var statuses: [(id: Int32, status: ProcessStatus)] = []
        for id in try threadIDs() {
            guard let text = try? read("/proc/self/task/\(id)/status") else { continue }
            statuses.append((id, ProcessStatus(text: text)))
        }
        return statuses
    }

    /// The calling thread's id (gettid(2)).
    static var currentThreadID: Int32 { cstaticcall_thread_id() }

    /// The mapping that holds `address`, from `/proc/self/maps`.
    static func region(containing address: UInt64) throws(SystemError) -> MappedRegion? {
        MappedRegion.parse(try read("/proc/self/maps")).first { $0.contains(address) }
    }
}

/// read(2) under a name `ProcFS.read(_:)` does not shadow (the C library's module differs per platform).
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
