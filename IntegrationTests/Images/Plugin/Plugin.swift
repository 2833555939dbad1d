// A plugin: a `.dynamic` product with its own keys and its own (statically linked) copy of StaticCall,
// loaded and unloaded with dlopen/dlclose by the integration program (`plugin`, `plugin-churn`). Its C
// entry points are found with dlsym.
import StaticCall

@StaticCall public func pluginScale(_ x: Int) -> Int { x &* 3 }
@StaticKey public var pluginFlag = false

@inline(never) func pluginTimes13(_ x: Int) -> Int { x &* 13 }
@inline(never) func pluginTimes17(_ x: Int) -> Int { x &* 17 }

/// Call sites inside the plugin.
@inline(never) func scaleInPlugin(_ x: Int) -> Int { pluginScale(x) }
@inline(never) func flagInPlugin() -> Bool { pluginFlag }

@inline(never) func hostTargetAddress(_ f: @convention(thin) (Int) -> Int) -> UInt { unsafeBitCast(f, to: UInt.self) }

/// One round of the plugin's own keys: reset, update, constant, static key; then the host key whose
/// storage the host passes is pointed at a function of this plugin and called through the host's
/// function `callHost`. Returns 0, or the number of the first check that failed. (The plugin is pinned by
/// its copy of StaticCall: a dlopen after dlclose returns the same image, whose keys kept their state.)
@_cdecl("staticcall_plugin_exercise")
public func exercise(_ round: Int, _ hostStorage: UnsafeRawPointer, _ callHost: @convention(c) (Int) -> Int) -> Int {
    $pluginScale.reset()
    $pluginFlag.disable()
    if scaleInPlugin(2) != 6 { return 1 }
    if flagInPlugin() { return 2 }
    $pluginScale.update { pluginTimes13($0) }
    if scaleInPlugin(2) != 26 { return 3 }
    $pluginScale.update(returning: round)
    if scaleInPlugin(2) != round { return 4 }
    $pluginScale.update { pluginTimes17($0) }
    if scaleInPlugin(2) != 34 { return 5 }
    $pluginFlag.enable()
    if !flagInPlugin() { return 6 }
    // A batch, and a scoped override inside it, from this copy: through the host's table (its batch
    // and unbatched entries). The batch's update is applied when it returns; the override at once.
    let inBatch = StaticCalls.batch { () -> Bool in
        $pluginScale.update { pluginTimes13($0) }
        let queued = scaleInPlugin(2) == 34
        let scoped = $pluginScale.withTarget({ $0 &* 5 }) { scaleInPlugin(2) == 10 }
        return queued && scoped && scaleInPlugin(2) == 34
    }
    if !inBatch || scaleInPlugin(2) != 26 { return 10 }
    $pluginScale.update { pluginTimes17($0) }
    // The plugin's copy of StaticCall defers to the host's: one report lists the plugin's keys.
    let report = StaticCalls.report()
    guard let key = report["pluginScale(_:)"], key.sitesFound > 0 else { return 7 }
    if report.mode == .inline && key.sitesPatched != key.sitesFound { return 8 }
    // The host's key, updated from here to a function of this plugin.
    let storage = hostStorage.assumingMemoryBound(to: StaticCallStorage.self)
    StaticCallRuntime.update(storage.pointee, to: hostTargetAddress({ pluginTimes13($0) }))
    if callHost(2) != 26 { return 9 }
    return 0
}

/// The plugin's keys called and updated, for the churn test (several threads load and "unload" it).
@_cdecl("staticcall_plugin_touch")
public func touch(_ round: Int) -> Int {
    let before = scaleInPlugin(1)
    guard [3, 13, 17].contains(before) else { return 1 } // the default, or what a thread set last
    if round % 2 == 0 { $pluginScale.update { pluginTimes13($0) } } else { $pluginScale.update { pluginTimes17($0) } }
    let after = scaleInPlugin(1)
    return after == 3 || after == 13 || after == 17 ? 0 : 2
}
