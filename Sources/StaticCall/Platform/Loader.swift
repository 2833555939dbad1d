import CStaticCall

/// The dynamic loader as the runtime sees it: a generation that changes when objects load or unload,
/// and its lock, which keeps every listed object mapped while the runtime reads or writes it (the
/// kernel holds module_mutex across static_call_add_module/del for the same reason).
enum Loader {
    /// `dlpi_adds` and `dlpi_subs`: equal generations mean no object was loaded or unloaded in between.
    struct Generation: Equatable {
        var adds: UInt64
        var subs: UInt64
    }

    static var generation: Generation {
        var adds: UInt64 = 0, subs: UInt64 = 0
        cstaticcall_loader_generation(&adds, &subs)
        return Generation(adds: adds, subs: subs)
    }

    /// Runs `body` with the loader's list locked: no object is unmapped, and none joins or leaves the
    /// list, until it returns. `body` must not call dlopen, dlclose, dlsym or dladdr.
    static func withLock<R>(_ body: () -> R) -> R {
        var result: R?
        withoutActuallyEscaping({ result = body() }) { run in
            let box = LockedBody(run)
            withExtendedLifetime(box) {
                cstaticcall_with_loader_locked({ context in
                    Unmanaged<LockedBody>.fromOpaque(context!).takeUnretainedValue().run()
                }, Unmanaged.passUnretained(box).toOpaque())
            }
        }
        return result!
    }

    private final class LockedBody {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
}
