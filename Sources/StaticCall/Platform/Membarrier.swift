import CStaticCall

/// `membarrier(2)` with `MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE`: the userspace analogue of the
/// kernel's text_poke_sync(). Every running thread of this process executes a core-serialising
/// instruction before `syncCore()` returns.
enum Membarrier {
    /// Registers this process for SYNC_CORE (once per process, and again in a forked child).
    static func registerSyncCore() throws(SystemError) {
        let err = cstaticcall_membarrier_register_sync_core()
        if err != 0 { throw SystemError("membarrier(REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)", errno: err) }
    }

    static func syncCore() throws(SystemError) {
        let err = cstaticcall_membarrier_sync_core()
        if err != 0 { throw SystemError("membarrier(PRIVATE_EXPEDITED_SYNC_CORE)", errno: err) }
    }
}
