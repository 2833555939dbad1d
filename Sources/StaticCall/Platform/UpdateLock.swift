#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif

/// The one lock that serialises updates (the kernel's static_call_mutex + text_mutex). Calls never take it.
///
/// A recursive pthread mutex rather than `Synchronization.Mutex`: `pthread_atfork` must hold it across
/// `fork()` (taken in the prepare handler, released in the parent and child handlers), which a scoped
/// `withLock` cannot express; and `StaticCalls.batch` re-enters it from the updates in its body.
final class UpdateLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        initialize()
    }

    /// In a forked child: the mutex was held by the forking thread, whose thread id the child no longer
    /// has (a recursive mutex checks the owner on unlock), so it is made anew instead of unlocked.
    func reinitializeInChild() { initialize() }

    private func initialize() {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
