#if canImport(Glibc)
import Glibc
#endif
import MachineCode

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
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read(\(path))", errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The process's status (TracerPid).
    static func processStatus() throws(SystemError) -> ProcessStatus {
        ProcessStatus(text: try read("/proc/self/status"))
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

    /// The ids of the threads that block `signal` right now (a thread that exits meanwhile is skipped).
    static func threadsBlocking(_ signal: Int32) throws(SystemError) -> [Int32] {
        var blocking: [Int32] = []
        for id in try threadIDs() {
            guard let text = try? read("/proc/self/task/\(id)/status") else { continue }
            if ProcessStatus(text: text).blocks(signal) { blocking.append(id) }
        }
        return blocking
    }

    /// The mapping that holds `address`, from `/proc/self/maps`.
    static func region(containing address: UInt64) throws(SystemError) -> MappedRegion? {
        MappedRegion.parse(try read("/proc/self/maps")).first { $0.contains(address) }
    }
}
