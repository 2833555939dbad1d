import CStaticCall
internal import MachineCode

// This copy's entry points for other copies of StaticCall in the process: the functions of its
// `cstaticcall_runtime_v1` table (Images.c), each running this copy's `KeyRegistry.shared`. Plain C types
// only, so that copies of other versions or compilers can call them.
//
// @_cdecl on each: the table is a C initialiser, built before any Swift code of the image may run, so
// its entries must be C symbols (hidden there, so that each image's table calls its own copy).

@_cdecl("cstaticcall_swift_register_key")
func registerKeyEntry(_ storage: UnsafeRawPointer?, _ name: UnsafePointer<CChar>?, _ thunk: UInt64, _ defaultTarget: UInt64,
                      _ canDisable: UInt32, _ width: UInt32, _ initial: UnsafePointer<cstaticcall_state>?) {
    let capabilities = StaticCallCapabilities(canDisable: canDisable != 0, constantWidth: StaticCallConstantWidth(rawValue: Int(width)))
    KeyRegistry.served.register(ProcessRuntime.storage(storage), name: String(cString: name!), trampolineThunk: thunk,
                            defaultTarget: defaultTarget, capabilities: capabilities,
                            initialState: initial.flatMap { ProcessRuntime.keyState($0.pointee) })
}

@_cdecl("cstaticcall_swift_set_entry")
func setEntryEntry(_ storage: UnsafeRawPointer?, _ entry: UnsafeMutablePointer<UInt>?, _ slowPath: UInt64) {
    KeyRegistry.served.setEntry(ProcessRuntime.storage(storage), entry: entry!, slowPath: UInt(slowPath))
}

@_cdecl("cstaticcall_swift_set_state")
func setStateEntry(_ storage: UnsafeRawPointer?, _ state: cstaticcall_state) {
    guard let state = ProcessRuntime.keyState(state) else { return }
    KeyRegistry.served.setState(ProcessRuntime.storage(storage), state)
}

@_cdecl("cstaticcall_swift_adjust_static_key")
func adjustStaticKeyEntry(_ storage: UnsafeRawPointer?, _ operation: Int32) -> Int64 {
    guard let op = ProcessRuntime.StaticKeyOperation(rawValue: operation) else { return -1 }
    return Int64(KeyRegistry.served.adjustStaticKey(ProcessRuntime.storage(storage), op))
}

@_cdecl("cstaticcall_swift_static_key_count")
func staticKeyCountEntry(_ storage: UnsafeRawPointer?) -> Int64 {
    Int64(KeyRegistry.served.staticKeyCount(ProcessRuntime.storage(storage)))
}

@_cdecl("cstaticcall_swift_query_state")
func queryStateEntry(_ storage: UnsafeRawPointer?, _ out: UnsafeMutablePointer<cstaticcall_state>?) -> Int32 {
    guard let state = KeyRegistry.served.state(of: ProcessRuntime.storage(storage)) else { return 0 }
    out!.pointee = ProcessRuntime.wire(state)
    return 1
}

@_cdecl("cstaticcall_swift_default_target")
func defaultTargetEntry(_ storage: UnsafeRawPointer?, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let target = KeyRegistry.served.defaultTarget(of: ProcessRuntime.storage(storage)) else { return 0 }
    out!.pointee = target
    return 1
}

@_cdecl("cstaticcall_swift_batch")
func batchEntry(_ body: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?, _ context: UnsafeMutableRawPointer?) {
    KeyRegistry.served.batch { body!(context) }
}

@_cdecl("cstaticcall_swift_patch_all")
func patchAllEntry(_ failed: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void)?,
                   _ context: UnsafeMutableRawPointer?) {
    do { try KeyRegistry.served.patchAll() } catch { String(describing: error).withCString { failed!(context, $0) } }
}

@_cdecl("cstaticcall_swift_report")
func reportEntry(_ receive: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int) -> Void)?,
                 _ context: UnsafeMutableRawPointer?) {
    let bytes = ReportWire.encode(KeyRegistry.served.report())
    bytes.withUnsafeBufferPointer { receive!(context, $0.baseAddress, $0.count) }
}

@_cdecl("cstaticcall_swift_mode")
func modeEntry() -> Int32 { KeyRegistry.served.capability.mode == .inline ? 0 : 1 }

@_cdecl("cstaticcall_swift_image_unloading")
func imageUnloadingEntry(_ anchor: UnsafeRawPointer?) {
    guard !ProcessLifecycle.isExiting else { return }
    KeyRecords.forget(imageAnchoredAt: anchor)
    KeyRegistry.served.imageUnloading(anchor: UInt64(UInt(bitPattern: anchor)))
}

@_cdecl("cstaticcall_swift_set_static_key_count")
func setStaticKeyCountEntry(_ storage: UnsafeRawPointer?, _ count: Int64) {
    KeyRegistry.served.setStaticKeyCount(ProcessRuntime.storage(storage), Int(count))
}

@_cdecl("cstaticcall_swift_unbatched")
func unbatchedEntry(_ body: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?, _ context: UnsafeMutableRawPointer?) {
    KeyRegistry.served.unbatched { body!(context) }
}
