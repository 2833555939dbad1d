#if canImport(Glibc)
import Glibc
#endif

/// An errno value from a system call, with the call's name: the runtime's only error type for effects.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        #if canImport(Glibc)
        let message = strerror(errno).map { String(cString: $0) } ?? "errno \(errno)"
        #else
        let message = "errno \(errno)"
        #endif
        return "\(call): \(message)"
    }
}
