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

/// Where the process is in its life, as the C shim tracks it (Images.c): whether `exit()` has begun, and
/// which threads are running one of StaticCall's one-time initializers right now.
enum ProcessLifecycle {
    /// Registers (once) the handler that marks the process as exiting. Called after `main()` began, so
    /// that `exit()` runs it before the loader's destructors: an image's destructor can then tell a
    /// `dlclose` from the end of the process.
    static func watchExit() { cstaticcall_watch_exit() }

    /// Whether `exit()` has begun (an image's destructor then changes nothing).
    static var isExiting: Bool { cstaticcall_process_exiting() != 0 }

    /// Runs `body` with the calling thread marked as initializing: a signal handler that interrupted it
    /// and calls StaticCall on this thread finds the mark (`isInitializingOnThisThread`) and stops with a
    /// message instead of waiting forever for the initializer its own thread is running.
    static func initializing<R>(_ body: () -> R) -> R {
        let mark = cstaticcall_mark_initializing(currentThread())
        defer { cstaticcall_unmark_initializing(mark) }
        return body()
    }

    /// Whether the calling thread is inside `initializing(_:)`, further up its own stack.
    static var isInitializingOnThisThread: Bool { cstaticcall_is_initializing(currentThread()) != 0 }
}

/// The calling thread's pthread handle as a number (a key for per-thread state): an integer on glibc, a
/// pointer on Darwin and Musl.
func currentThread() -> UInt {
    #if canImport(Glibc)
    return UInt(pthread_self())
    #else
    return UInt(bitPattern: pthread_self())
    #endif
}
