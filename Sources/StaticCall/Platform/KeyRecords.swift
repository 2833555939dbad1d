import CStaticCall

/// The key records this copy of StaticCall was given (Images.c): one per key, from the `staticcall_keys`
/// section of its own image and of every image whose copy it serves, handed over by each image's
/// constructor. The analogue of the kernel's `__start_static_call_sites` walk.
enum KeyRecords {
    /// Calls every record, in load order: each registers its key.
    static func registerAll() { cstaticcall_each_key_record({ _, record in record?() }, nil) }

    /// Drops the records of the image whose copy of StaticCall is anchored at `anchor` (it is being
    /// unloaded: its records point into it).
    static func forget(imageAnchoredAt anchor: UnsafeRawPointer?) { cstaticcall_forget_key_records(anchor) }
}

/// The process-wide slot in which the first copy of StaticCall publishes its table of entry points, so
/// that every later copy (a plugin, a `.dynamic` library) calls it instead of running a runtime of its
/// own (Images.c: a `STB_GNU_UNIQUE` symbol every image binds to the first definition).
enum RuntimeSlot {
    typealias Table = UnsafePointer<cstaticcall_runtime_v1>

    /// This copy's table, or nil where there is no inline mode to share (other platforms).
    static var own: Table? { cstaticcall_own_runtime() }

    /// The table that serves the process: the one already published, or `mine`, published now. (Check
    /// the winner's `abi` before using anything else in it.)
    static func claim(_ mine: Table) -> Table? { cstaticcall_process_runtime() ?? cstaticcall_claim_runtime(mine) }
}
