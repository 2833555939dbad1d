import MacroTesting
import StaticCallMacros
import Testing

@Suite("@StaticCall expansions", .macros(["StaticCall": StaticCallMacro.self]))
struct StaticCallExpansionTests {
    @Test func globalFunctionReturningInt() {
        assertMacro {
            """
            @StaticCall
            func scale(_ x: Int) -> Int { x &* 3 }
            """
        } expansion: {
            """
            func scale(_ x: Int) -> Int {
                _staticcallTrampoline_scale(x)
            }

            /// The trampoline of `scale(_:)`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            @_silgen_name("__dtrace_staticcall_scale_f452d0945b040975")
            @inline(never)
            func _staticcallTrampoline_scale(_ a0: Int) -> Int {
                #if arch(x86_64)
                return _staticcallKey_scale.entry(a0)
                #else
                typealias Function = @convention(thin) (Int) -> Int
                let w = _staticcallStorage_scale.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!(a0)
                }
                return _staticcallSlowPath_scale(a0)
                #endif
            }

            /// The slow path of `scale(_:)`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_scale_f452d0945b040975_slow")
            @inline(never)
            func _staticcallSlowPath_scale(_ a0: Int) -> Int {
                typealias Function = @convention(thin) (Int) -> Int
                switch _staticcallStorage_scale.dispatch(_staticcallStorage_scale.word, register: _staticcallRegister_scale) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!(a0)
                case let .constant(c):
                    _ = c
                    return Int(truncatingIfNeeded: c)
                case .disabled:
                    preconditionFailure("scale(_:) cannot be disabled")
                }
            }

            /// The original body of `scale(_:)`: its default target.
            func _staticcallDefault_scale(_ x: Int) -> Int {
                x &* 3
            }

            let _staticcallStorage_scale = StaticCallStorage()

            @inline(never) func _staticcallAddress_scale(_ f: @convention(thin) (Int) -> Int) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_scale: @convention(c) () -> Void = {
                _staticcallRegister_scale()
            }
            #endif

            @inline(never)
            func _staticcallRegister_scale() {
                StaticCallRuntime.register(
                    _staticcallStorage_scale, name: "scale(_:)",
                    trampolineThunk: _staticcallKey_scale.trampolineAddress(),
                    defaultTarget: _staticcallAddress_scale({ a0 in
                            _staticcallDefault_scale(a0)
                        }),
                    capabilities: StaticCallCapabilities(canDisable: false, constantWidth: .bits64),
                    entry: &_staticcallKey_scale.entry,
                    slowPath: _staticcallAddress_scale({ a0 in
                            _staticcallSlowPath_scale(a0)
                        }))
            }

            /// The key of `scale(_:)`, reached as `$scale`.
            struct _staticcallKey_scale: StaticCallKeyProtocol {
                /// The function type a target must have: `(Int) -> Int`.
                typealias Function = @convention(thin) (Int) -> Int

                init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = { a0 in
                    _staticcallSlowPath_scale(a0)
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_scale) {
                        _staticcallRegister_scale()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "scale(_:)"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_scale)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_scale({ a0 in
                            _staticcallTrampoline_scale(a0)
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: .bits64)

                /// Retargets every call site of `scale(_:)` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$scale.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_scale, to: _staticcallAddress_scale(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_scale, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_scale)
                }

                /// Gives the key back a state read from `state`, exactly.
                func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_scale, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_scale, targeting: _staticcallAddress_scale(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `scale(_:)` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_scale)
                }

                /// Makes every call site load `value` instead of calling anything (a constant that no single
                /// 5-byte instruction loads stays a call to the trampoline, which returns it): the analogue
                /// of DEFINE_STATIC_CALL_RET0, generalised.
                func update(returning value: Int) {
                    registerIfNeeded()
                    StaticCallRuntime.setConstant(_staticcallStorage_scale, bits: UInt64(truncatingIfNeeded: value), width: .bits64)
                }
            }

            /// The key of `scale(_:)`: `update`, `target`, `reset`, `update(returning:)`.
            var $scale: _staticcallKey_scale {
                _staticcallKey_scale()
            }
            """
        }
    }

    @Test func voidFunctionWithInoutCanBeDisabled() {
        assertMacro {
            """
            @StaticCall
            func onPacket(_ counter: inout Int, label: String) { counter += 1 }
            """
        } expansion: {
            """
            func onPacket(_ counter: inout Int, label: String) {
                _staticcallTrampoline_onPacket(&counter, label)
            }

            /// The trampoline of `onPacket(_:label:)`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            @_silgen_name("__dtrace_staticcall_onPacket_d610314417b53bca")
            @inline(never)
            func _staticcallTrampoline_onPacket(_ a0: inout Int, _ a1: String) {
                #if arch(x86_64)
                return _staticcallKey_onPacket.entry(&a0, a1)
                #else
                typealias Function = @convention(thin) (inout Int, String) -> Void
                let w = _staticcallStorage_onPacket.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!(&a0, a1)
                }
                return _staticcallSlowPath_onPacket(&a0, a1)
                #endif
            }

            /// The slow path of `onPacket(_:label:)`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_onPacket_d610314417b53bca_slow")
            @inline(never)
            func _staticcallSlowPath_onPacket(_ a0: inout Int, _ a1: String) {
                typealias Function = @convention(thin) (inout Int, String) -> Void
                switch _staticcallStorage_onPacket.dispatch(_staticcallStorage_onPacket.word, register: _staticcallRegister_onPacket) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!(&a0, a1)
                case let .constant(c):
                    _ = c
                    preconditionFailure("onPacket(_:label:) has no constant state")
                case .disabled:
                    return
                }
            }

            /// The original body of `onPacket(_:label:)`: its default target.
            func _staticcallDefault_onPacket(_ counter: inout Int, label: String) {
                counter += 1
            }

            let _staticcallStorage_onPacket = StaticCallStorage()

            @inline(never) func _staticcallAddress_onPacket(_ f: @convention(thin) (inout Int, String) -> Void) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_onPacket: @convention(c) () -> Void = {
                _staticcallRegister_onPacket()
            }
            #endif

            @inline(never)
            func _staticcallRegister_onPacket() {
                StaticCallRuntime.register(
                    _staticcallStorage_onPacket, name: "onPacket(_:label:)",
                    trampolineThunk: _staticcallKey_onPacket.trampolineAddress(),
                    defaultTarget: _staticcallAddress_onPacket({ a0, a1 in
                            _staticcallDefault_onPacket(&a0, label: a1)
                        }),
                    capabilities: StaticCallCapabilities(canDisable: true, constantWidth: nil),
                    entry: &_staticcallKey_onPacket.entry,
                    slowPath: _staticcallAddress_onPacket({ a0, a1 in
                            _staticcallSlowPath_onPacket(&a0, a1)
                        }))
            }

            /// The key of `onPacket(_:label:)`, reached as `$onPacket`.
            struct _staticcallKey_onPacket: StaticCallKeyProtocol {
                /// The function type a target must have: `(inout Int, String) -> Void`.
                typealias Function = @convention(thin) (inout Int, String) -> Void

                init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = { a0, a1 in
                    _staticcallSlowPath_onPacket(&a0, a1)
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_onPacket) {
                        _staticcallRegister_onPacket()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "onPacket(_:label:)"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_onPacket)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_onPacket({ a0, a1 in
                            _staticcallTrampoline_onPacket(&a0, a1)
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: true, constantWidth: nil)

                /// Retargets every call site of `onPacket(_:label:)` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$onPacket.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_onPacket, to: _staticcallAddress_onPacket(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_onPacket, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_onPacket)
                }

                /// Gives the key back a state read from `state`, exactly.
                func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_onPacket, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_onPacket, targeting: _staticcallAddress_onPacket(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `onPacket(_:label:)` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_onPacket)
                }

                /// Turns every call site into a 5-byte NOP (tail sites return at once): the analogue of
                /// DEFINE_STATIC_CALL_NULL with static_call_cond(). Arguments are still evaluated.
                func disable() {
                    registerIfNeeded()
                    StaticCallRuntime.disable(_staticcallStorage_onPacket)
                }

                /// False while the key is disabled.
                var isEnabled: Bool {
                    if case .disabled? = StaticCallRuntime.state(_staticcallStorage_onPacket) {
                        return false
                    }
                    return true
                }
            }

            /// The key of `onPacket(_:label:)`: `update`, `target`, `reset`, `disable`, `isEnabled`.
            var $onPacket: _staticcallKey_onPacket {
                _staticcallKey_onPacket()
            }
            """
        }
    }

    @Test func publicBoolFunctionGetsAPublicKeyAndConstants() {
        assertMacro {
            """
            @StaticCall
            public func tracing() -> Bool { false }
            """
        } expansion: {
            """
            public func tracing() -> Bool {
                _staticcallTrampoline_tracing()
            }

            /// The trampoline of `tracing()`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            @_silgen_name("__dtrace_staticcall_tracing_6ec2a8ef7d985389")
            @inline(never)
            @usableFromInline func _staticcallTrampoline_tracing() -> Bool {
                #if arch(x86_64)
                return _staticcallKey_tracing.entry()
                #else
                typealias Function = @convention(thin) () -> Bool
                let w = _staticcallStorage_tracing.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                return _staticcallSlowPath_tracing()
                #endif
            }

            /// The slow path of `tracing()`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_tracing_6ec2a8ef7d985389_slow")
            @inline(never)
            func _staticcallSlowPath_tracing() -> Bool {
                typealias Function = @convention(thin) () -> Bool
                switch _staticcallStorage_tracing.dispatch(_staticcallStorage_tracing.word, register: _staticcallRegister_tracing) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c):
                    _ = c
                    return c & 1 != 0
                case .disabled:
                    preconditionFailure("tracing() cannot be disabled")
                }
            }

            /// The original body of `tracing()`: its default target.
            func _staticcallDefault_tracing() -> Bool {
                false
            }

            let _staticcallStorage_tracing = StaticCallStorage()

            @inline(never) func _staticcallAddress_tracing(_ f: @convention(thin) () -> Bool) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_tracing: @convention(c) () -> Void = {
                _staticcallRegister_tracing()
            }
            #endif

            @inline(never)
            func _staticcallRegister_tracing() {
                StaticCallRuntime.register(
                    _staticcallStorage_tracing, name: "tracing()",
                    trampolineThunk: _staticcallKey_tracing.trampolineAddress(),
                    defaultTarget: _staticcallAddress_tracing({
                            _staticcallDefault_tracing()
                        }),
                    capabilities: StaticCallCapabilities(canDisable: false, constantWidth: .bits8),
                    entry: &_staticcallKey_tracing.entry,
                    slowPath: _staticcallAddress_tracing({
                            _staticcallSlowPath_tracing()
                        }))
            }

            /// The key of `tracing()`, reached as `$tracing`.
            public struct _staticcallKey_tracing: StaticCallKeyProtocol {
                /// The function type a target must have: `() -> Bool`.
                public typealias Function = @convention(thin) () -> Bool

                public init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = {
                    _staticcallSlowPath_tracing()
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_tracing) {
                        _staticcallRegister_tracing()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                public var name: String {
                    "tracing()"
                }

                /// Identifies the key within the process (the address of its storage).
                public var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_tracing)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_tracing({
                            _staticcallTrampoline_tracing()
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: .bits8)

                /// Retargets every call site of `tracing()` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$tracing.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                public func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_tracing, to: _staticcallAddress_tracing(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                public func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                public var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_tracing, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                public var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_tracing)
                }

                /// Gives the key back a state read from `state`, exactly.
                public func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_tracing, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                public func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_tracing, targeting: _staticcallAddress_tracing(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `tracing()` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                public func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                public func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                public func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_tracing)
                }

                /// Makes every call site load `value` instead of calling anything (a constant that no single
                /// 5-byte instruction loads stays a call to the trampoline, which returns it): the analogue
                /// of DEFINE_STATIC_CALL_RET0, generalised.
                public func update(returning value: Bool) {
                    registerIfNeeded()
                    StaticCallRuntime.setConstant(_staticcallStorage_tracing, bits: value ? 1 : 0, width: .bits8)
                }
            }

            /// The key of `tracing()`: `update`, `target`, `reset`, `update(returning:)`.
            public var $tracing: _staticcallKey_tracing {
                _staticcallKey_tracing()
            }
            """
        }
    }

    @Test func typedThrowsFunctionHasNeitherDisableNorConstants() {
        assertMacro {
            """
            @StaticCall
            func parse(_ text: borrowing String) throws(ParseError) -> Int { 0 }
            """
        } expansion: {
            """
            func parse(_ text: borrowing String) throws(ParseError) -> Int {
                try _staticcallTrampoline_parse(text)
            }

            /// The trampoline of `parse(_:)`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            @_silgen_name("__dtrace_staticcall_parse_fa51e9e8f3c96683")
            @inline(never)
            func _staticcallTrampoline_parse(_ a0: borrowing String) throws(ParseError) -> Int {
                #if arch(x86_64)
                return try _staticcallKey_parse.entry(a0)
                #else
                typealias Function = @convention(thin) (borrowing String) throws(ParseError) -> Int
                let w = _staticcallStorage_parse.word
                if StaticCallStorage.isDirectTarget(w) {
                    return try unsafeBitCast(w, to: Function?.self)!(a0)
                }
                return try _staticcallSlowPath_parse(a0)
                #endif
            }

            /// The slow path of `parse(_:)`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_parse_fa51e9e8f3c96683_slow")
            @inline(never)
            func _staticcallSlowPath_parse(_ a0: borrowing String) throws(ParseError) -> Int {
                typealias Function = @convention(thin) (borrowing String) throws(ParseError) -> Int
                switch _staticcallStorage_parse.dispatch(_staticcallStorage_parse.word, register: _staticcallRegister_parse) {
                case let .call(p):
                    return try unsafeBitCast(p, to: Function?.self)!(a0)
                case let .constant(c):
                    _ = c
                    preconditionFailure("parse(_:) has no constant state")
                case .disabled:
                    preconditionFailure("parse(_:) cannot be disabled")
                }
            }

            /// The original body of `parse(_:)`: its default target.
            func _staticcallDefault_parse(_ text: borrowing String) throws(ParseError) -> Int {
                0
            }

            let _staticcallStorage_parse = StaticCallStorage()

            @inline(never) func _staticcallAddress_parse(_ f: @convention(thin) (borrowing String) throws(ParseError) -> Int) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_parse: @convention(c) () -> Void = {
                _staticcallRegister_parse()
            }
            #endif

            @inline(never)
            func _staticcallRegister_parse() {
                StaticCallRuntime.register(
                    _staticcallStorage_parse, name: "parse(_:)",
                    trampolineThunk: _staticcallKey_parse.trampolineAddress(),
                    defaultTarget: _staticcallAddress_parse({ (a0) throws(ParseError) -> Int in
                            try _staticcallDefault_parse(a0)
                        }),
                    capabilities: StaticCallCapabilities(canDisable: false, constantWidth: nil),
                    entry: &_staticcallKey_parse.entry,
                    slowPath: _staticcallAddress_parse({ (a0) throws(ParseError) -> Int in
                            try _staticcallSlowPath_parse(a0)
                        }))
            }

            /// The key of `parse(_:)`, reached as `$parse`.
            struct _staticcallKey_parse: StaticCallKeyProtocol {
                /// The function type a target must have: `(borrowing String) throws(ParseError) -> Int`.
                typealias Function = @convention(thin) (borrowing String) throws(ParseError) -> Int

                init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = { (a0) throws(ParseError) -> Int in
                    try _staticcallSlowPath_parse(a0)
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_parse) {
                        _staticcallRegister_parse()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "parse(_:)"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_parse)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_parse({ (a0) throws(ParseError) -> Int in
                            try _staticcallTrampoline_parse(a0)
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: nil)

                /// Retargets every call site of `parse(_:)` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$parse.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_parse, to: _staticcallAddress_parse(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_parse, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_parse)
                }

                /// Gives the key back a state read from `state`, exactly.
                func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_parse, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_parse, targeting: _staticcallAddress_parse(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `parse(_:)` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_parse)
                }
            }

            /// The key of `parse(_:)`: `update`, `target`, `reset`.
            var $parse: _staticcallKey_parse {
                _staticcallKey_parse()
            }
            """
        }
    }

    @Test func staticMethodGetsStaticPeers() {
        assertMacro {
            """
            enum Codec {
                @StaticCall
                static func encode(_ value: Int) -> UInt8 { UInt8(truncatingIfNeeded: value) }
            }
            """
        } expansion: {
            """
            enum Codec {
                static func encode(_ value: Int) -> UInt8 {
                    _staticcallTrampoline_encode(value)
                }

                /// The trampoline of `Codec.encode(_:)`: every call site calls this, and the runtime patches
                /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
                /// alone (a call to such a symbol is a patchpoint to that pass). It loads the key's word
                /// and jumps to the target it holds, or to the slow path: indirect mode's whole cost.
                @_silgen_name("__dtrace_staticcall_Codec_encode_76a4e2ca0c14290c")
                @inline(never)
                static func _staticcallTrampoline_encode(_ a0: Int) -> UInt8 {
                    typealias Function = @convention(thin) (Int) -> UInt8
                    let w = _staticcallStorage_encode.word
                    if StaticCallStorage.isDirectTarget(w) {
                        return unsafeBitCast(w, to: Function?.self)!(a0)
                    }
                    return Codec._staticcallSlowPath_encode(a0)
                }

                /// The slow path of `Codec.encode(_:)`'s trampoline: registration at the first call, constants,
                /// disabled, counted calls.
                @_silgen_name("__dtrace_staticcall_Codec_encode_76a4e2ca0c14290c_slow")
                @inline(never)
                static func _staticcallSlowPath_encode(_ a0: Int) -> UInt8 {
                    typealias Function = @convention(thin) (Int) -> UInt8
                    switch _staticcallStorage_encode.dispatch(_staticcallStorage_encode.word, register: _staticcallRegister_encode) {
                    case let .call(p):
                        return unsafeBitCast(p, to: Function?.self)!(a0)
                    case let .constant(c):
                        _ = c
                        return UInt8(truncatingIfNeeded: c)
                    case .disabled:
                        preconditionFailure("Codec.encode(_:) cannot be disabled")
                    }
                }

                /// The original body of `Codec.encode(_:)`: its default target.
                static func _staticcallDefault_encode(_ value: Int) -> UInt8 {
                    UInt8(truncatingIfNeeded: value)
                }

                static let _staticcallStorage_encode = StaticCallStorage()

                @inline(never) static func _staticcallAddress_encode(_ f: @convention(thin) (Int) -> UInt8) -> UInt {
                    unsafeBitCast(f, to: UInt.self)
                }

                #if compiler(>=6.3) && os(Linux)
                @section("staticcall_keys") @used
                private static let _staticcallRecord_encode: @convention(c) () -> Void = {
                    Codec._staticcallRegister_encode()
                }
                #endif

                @inline(never)
                static func _staticcallRegister_encode() {
                    StaticCallRuntime.register(
                        _staticcallStorage_encode, name: "Codec.encode(_:)",
                        trampolineThunk: Codec._staticcallKey_encode.trampolineAddress(),
                        defaultTarget: _staticcallAddress_encode({ a0 in
                                Codec._staticcallDefault_encode(a0)
                            }),
                        capabilities: StaticCallCapabilities(canDisable: false, constantWidth: .bits8))
                }

                /// The key of `Codec.encode(_:)`, reached as `$encode`.
                struct _staticcallKey_encode: StaticCallKeyProtocol {
                    /// The function type a target must have: `(Int) -> UInt8`.
                    typealias Function = @convention(thin) (Int) -> UInt8

                    init() {
                    }

                    private func registerIfNeeded() {
                        if !StaticCallRuntime.isRegistered(_staticcallStorage_encode) {
                            _staticcallRegister_encode()
                        }
                    }

                    /// The key's name, as `StaticCalls.report()` shows it.
                    var name: String {
                        "Codec.encode(_:)"
                    }

                    /// Identifies the key within the process (the address of its storage).
                    var _storageAddress: UInt {
                        StaticCallRuntime.identity(_staticcallStorage_encode)
                    }

                    /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                    fileprivate static func trampolineAddress() -> UInt {
                        _staticcallAddress_encode({ a0 in
                                Codec._staticcallTrampoline_encode(a0)
                            })
                    }

                    private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: .bits8)

                    /// Retargets every call site of `Codec.encode(_:)` at `target`: the analogue of the kernel's
                    /// static_call_update(). Pass a non-capturing closure: `$encode.update { other($0) }`. A
                    /// function read from `target` gives back the state it was read in (disabled, a constant).
                    func update(_ target: Function) {
                        registerIfNeeded()
                        StaticCallRuntime.update(_staticcallStorage_encode, to: _staticcallAddress_encode(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                    }

                    /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                    /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                    // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                    @_disfavoredOverload
                    func update(to target: Function) {
                        update(target)
                    }

                    /// The current target as a function value, in every state: the analogue of static_call_query().
                    /// While the key is disabled it is a function that does nothing, while it returns a constant a
                    /// function that returns it; `update(to:)` with either gives that state back.
                    var target: Function {
                        registerIfNeeded()
                        return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_encode, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                    }

                    /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                    var state: StaticCallState {
                        StaticCallRuntime.callState(_staticcallStorage_encode)
                    }

                    /// Gives the key back a state read from `state`, exactly.
                    func restore(_ state: StaticCallState) {
                        registerIfNeeded()
                        StaticCallRuntime.restore(_staticcallStorage_encode, state)
                    }

                    /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                    func state(targeting target: Function) -> StaticCallState {
                        StaticCallRuntime.state(_staticcallStorage_encode, targeting: _staticcallAddress_encode(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                    }

                    /// Runs `body` with every call of `Codec.encode(_:)` going to `target`, then gives the key back
                    /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                    /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                    /// the override is in effect at once and gone when `body` returns.
                    @discardableResult
                    func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                        let saved = state
                        StaticCallRuntime.applyingAtOnce {
                            update(target)
                        }
                        defer {
                            StaticCallRuntime.applyingAtOnce {
                                restore(saved)
                            }
                        }
                        return try body()
                    }

                    /// `withTarget(_:_:)` for an asynchronous `body`.
                    @discardableResult
                    func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                     _ body: () async throws -> R) async rethrows -> R {
                        let saved = state
                        StaticCallRuntime.applyingAtOnce {
                            update(target)
                        }
                        defer {
                            StaticCallRuntime.applyingAtOnce {
                                restore(saved)
                            }
                        }
                        return try await body()
                    }

                    /// Back to the original body: the default target.
                    func reset() {
                        registerIfNeeded()
                        StaticCallRuntime.reset(_staticcallStorage_encode)
                    }

                    /// Makes every call site load `value` instead of calling anything (a constant that no single
                    /// 5-byte instruction loads stays a call to the trampoline, which returns it): the analogue
                    /// of DEFINE_STATIC_CALL_RET0, generalised.
                    func update(returning value: UInt8) {
                        registerIfNeeded()
                        StaticCallRuntime.setConstant(_staticcallStorage_encode, bits: UInt64(truncatingIfNeeded: value), width: .bits8)
                    }
                }

                /// The key of `Codec.encode(_:)`: `update`, `target`, `reset`, `update(returning:)`.
                static var $encode: _staticcallKey_encode {
                    _staticcallKey_encode()
                }
            }
            """
        }
    }

    @Test func updatableNarrowsOnlyTheKey() {
        assertMacro {
            """
            @StaticCall(updatable: .internal)
            public func allocate(_ size: Int) -> UnsafeMutableRawPointer? { malloc(size) }
            """
        } expansion: {
            """
            public func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
                _staticcallTrampoline_allocate(size)
            }

            /// The trampoline of `allocate(_:)`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            @_silgen_name("__dtrace_staticcall_allocate_5373d527376b32c0")
            @inline(never)
            @usableFromInline func _staticcallTrampoline_allocate(_ a0: Int) -> UnsafeMutableRawPointer? {
                #if arch(x86_64)
                return _staticcallKey_allocate.entry(a0)
                #else
                typealias Function = @convention(thin) (Int) -> UnsafeMutableRawPointer?
                let w = _staticcallStorage_allocate.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!(a0)
                }
                return _staticcallSlowPath_allocate(a0)
                #endif
            }

            /// The slow path of `allocate(_:)`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_allocate_5373d527376b32c0_slow")
            @inline(never)
            func _staticcallSlowPath_allocate(_ a0: Int) -> UnsafeMutableRawPointer? {
                typealias Function = @convention(thin) (Int) -> UnsafeMutableRawPointer?
                switch _staticcallStorage_allocate.dispatch(_staticcallStorage_allocate.word, register: _staticcallRegister_allocate) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!(a0)
                case let .constant(c):
                    _ = c
                    preconditionFailure("allocate(_:) has no constant state")
                case .disabled:
                    preconditionFailure("allocate(_:) cannot be disabled")
                }
            }

            /// The original body of `allocate(_:)`: its default target.
            func _staticcallDefault_allocate(_ size: Int) -> UnsafeMutableRawPointer? {
                malloc(size)
            }

            let _staticcallStorage_allocate = StaticCallStorage()

            @inline(never) func _staticcallAddress_allocate(_ f: @convention(thin) (Int) -> UnsafeMutableRawPointer?) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_allocate: @convention(c) () -> Void = {
                _staticcallRegister_allocate()
            }
            #endif

            @inline(never)
            func _staticcallRegister_allocate() {
                StaticCallRuntime.register(
                    _staticcallStorage_allocate, name: "allocate(_:)",
                    trampolineThunk: _staticcallKey_allocate.trampolineAddress(),
                    defaultTarget: _staticcallAddress_allocate({ a0 in
                            _staticcallDefault_allocate(a0)
                        }),
                    capabilities: StaticCallCapabilities(canDisable: false, constantWidth: nil),
                    entry: &_staticcallKey_allocate.entry,
                    slowPath: _staticcallAddress_allocate({ a0 in
                            _staticcallSlowPath_allocate(a0)
                        }))
            }

            /// The key of `allocate(_:)`, reached as `$allocate`.
            internal struct _staticcallKey_allocate: StaticCallKeyProtocol {
                /// The function type a target must have: `(Int) -> UnsafeMutableRawPointer?`.
                internal typealias Function = @convention(thin) (Int) -> UnsafeMutableRawPointer?

                internal init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = { a0 in
                    _staticcallSlowPath_allocate(a0)
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_allocate) {
                        _staticcallRegister_allocate()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                internal var name: String {
                    "allocate(_:)"
                }

                /// Identifies the key within the process (the address of its storage).
                internal var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_allocate)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_allocate({ a0 in
                            _staticcallTrampoline_allocate(a0)
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: nil)

                /// Retargets every call site of `allocate(_:)` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$allocate.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                internal func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_allocate, to: _staticcallAddress_allocate(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                internal func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                internal var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_allocate, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                internal var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_allocate)
                }

                /// Gives the key back a state read from `state`, exactly.
                internal func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_allocate, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                internal func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_allocate, targeting: _staticcallAddress_allocate(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `allocate(_:)` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                internal func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                internal func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                internal func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_allocate)
                }
            }

            /// The key of `allocate(_:)`: `update`, `target`, `reset`.
            internal var $allocate: _staticcallKey_allocate {
                _staticcallKey_allocate()
            }
            """
        }
    }

    /// A trampoline taking an existential is kept unoptimized: -O's existential specializer would give
    /// its call sites a copy with another signature (seen in the macro integration program: `area(_:)`
    /// stayed indirect, no site found).
    @Test func existentialParameterKeepsTheTrampolineUnoptimized() {
        assertMacro {
            """
            @StaticCall
            func area(_ s: any Shape) -> Double { s.area }
            """
        } expansion: {
            """
            func area(_ s: any Shape) -> Double {
                _staticcallTrampoline_area(s)
            }

            /// The trampoline of `area(_:)`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            /// Kept unoptimized (`@_optimize(none)`, at some cost in indirect mode): the existential specializer
            /// would give its call sites a copy with another signature, which no site could be patched from.
            @_optimize(none)
            @_silgen_name("__dtrace_staticcall_area_fdcac1406ed512dd")
            @inline(never)
            func _staticcallTrampoline_area(_ a0: any Shape) -> Double {
                #if arch(x86_64)
                return _staticcallKey_area.entry(a0)
                #else
                typealias Function = @convention(thin) (any Shape) -> Double
                let w = _staticcallStorage_area.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!(a0)
                }
                return _staticcallSlowPath_area(a0)
                #endif
            }

            /// The slow path of `area(_:)`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_area_fdcac1406ed512dd_slow")
            @inline(never)
            func _staticcallSlowPath_area(_ a0: any Shape) -> Double {
                typealias Function = @convention(thin) (any Shape) -> Double
                switch _staticcallStorage_area.dispatch(_staticcallStorage_area.word, register: _staticcallRegister_area) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!(a0)
                case let .constant(c):
                    _ = c
                    preconditionFailure("area(_:) has no constant state")
                case .disabled:
                    preconditionFailure("area(_:) cannot be disabled")
                }
            }

            /// The original body of `area(_:)`: its default target.
            func _staticcallDefault_area(_ s: any Shape) -> Double {
                s.area
            }

            let _staticcallStorage_area = StaticCallStorage()

            @inline(never) func _staticcallAddress_area(_ f: @convention(thin) (any Shape) -> Double) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_area: @convention(c) () -> Void = {
                _staticcallRegister_area()
            }
            #endif

            @inline(never)
            func _staticcallRegister_area() {
                StaticCallRuntime.register(
                    _staticcallStorage_area, name: "area(_:)",
                    trampolineThunk: _staticcallKey_area.trampolineAddress(),
                    defaultTarget: _staticcallAddress_area({ a0 in
                            _staticcallDefault_area(a0)
                        }),
                    capabilities: StaticCallCapabilities(canDisable: false, constantWidth: nil),
                    entry: &_staticcallKey_area.entry,
                    slowPath: _staticcallAddress_area({ a0 in
                            _staticcallSlowPath_area(a0)
                        }))
            }

            /// The key of `area(_:)`, reached as `$area`.
            struct _staticcallKey_area: StaticCallKeyProtocol {
                /// The function type a target must have: `(any Shape) -> Double`.
                typealias Function = @convention(thin) (any Shape) -> Double

                init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = { a0 in
                    _staticcallSlowPath_area(a0)
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_area) {
                        _staticcallRegister_area()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "area(_:)"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_area)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_area({ a0 in
                            _staticcallTrampoline_area(a0)
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: nil)

                /// Retargets every call site of `area(_:)` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$area.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_area, to: _staticcallAddress_area(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_area, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_area)
                }

                /// Gives the key back a state read from `state`, exactly.
                func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_area, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_area, targeting: _staticcallAddress_area(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `area(_:)` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_area)
                }
            }

            /// The key of `area(_:)`: `update`, `target`, `reset`.
            var $area: _staticcallKey_area {
                _staticcallKey_area()
            }
            """
        }
    }

    @Test func genericFunction() {
        assertMacro {
            """
            @StaticCall
            func identity<T>(_ x: T) -> T { x }
            """
        } diagnostics: {
            """
            @StaticCall
            func identity<T>(_ x: T) -> T { x }
                         ┬──
                         ╰─ 🛑 @StaticCall cannot be applied to generic function 'identity': a patched call site calls one concrete function
            """
        }
    }

    @Test func asyncFunctionWithFixIt() {
        assertMacro {
            """
            @StaticCall
            func fetch() async -> Int { 1 }
            """
        } diagnostics: {
            """
            @StaticCall
            func fetch() async -> Int { 1 }
                         ┬────
                         ╰─ 🛑 @StaticCall cannot be applied to async function 'fetch': an async call is not a single call instruction that can be patched
                            ✏️ remove 'async'
            """
        } fixes: {
            """
            @StaticCall
            func fetch() -> Int { 1 }
            """
        } expansion: {
            """
            func fetch() -> Int {
                _staticcallTrampoline_fetch()
            }

            /// The trampoline of `fetch()`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            @_silgen_name("__dtrace_staticcall_fetch_da0c818cb4bb1484")
            @inline(never)
            func _staticcallTrampoline_fetch() -> Int {
                #if arch(x86_64)
                return _staticcallKey_fetch.entry()
                #else
                typealias Function = @convention(thin) () -> Int
                let w = _staticcallStorage_fetch.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                return _staticcallSlowPath_fetch()
                #endif
            }

            /// The slow path of `fetch()`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_fetch_da0c818cb4bb1484_slow")
            @inline(never)
            func _staticcallSlowPath_fetch() -> Int {
                typealias Function = @convention(thin) () -> Int
                switch _staticcallStorage_fetch.dispatch(_staticcallStorage_fetch.word, register: _staticcallRegister_fetch) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c):
                    _ = c
                    return Int(truncatingIfNeeded: c)
                case .disabled:
                    preconditionFailure("fetch() cannot be disabled")
                }
            }

            /// The original body of `fetch()`: its default target.
            func _staticcallDefault_fetch() -> Int {
                1
            }

            let _staticcallStorage_fetch = StaticCallStorage()

            @inline(never) func _staticcallAddress_fetch(_ f: @convention(thin) () -> Int) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_fetch: @convention(c) () -> Void = {
                _staticcallRegister_fetch()
            }
            #endif

            @inline(never)
            func _staticcallRegister_fetch() {
                StaticCallRuntime.register(
                    _staticcallStorage_fetch, name: "fetch()",
                    trampolineThunk: _staticcallKey_fetch.trampolineAddress(),
                    defaultTarget: _staticcallAddress_fetch({
                            _staticcallDefault_fetch()
                        }),
                    capabilities: StaticCallCapabilities(canDisable: false, constantWidth: .bits64),
                    entry: &_staticcallKey_fetch.entry,
                    slowPath: _staticcallAddress_fetch({
                            _staticcallSlowPath_fetch()
                        }))
            }

            /// The key of `fetch()`, reached as `$fetch`.
            struct _staticcallKey_fetch: StaticCallKeyProtocol {
                /// The function type a target must have: `() -> Int`.
                typealias Function = @convention(thin) () -> Int

                init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = {
                    _staticcallSlowPath_fetch()
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_fetch) {
                        _staticcallRegister_fetch()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "fetch()"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_fetch)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_fetch({
                            _staticcallTrampoline_fetch()
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: .bits64)

                /// Retargets every call site of `fetch()` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$fetch.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_fetch, to: _staticcallAddress_fetch(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_fetch, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_fetch)
                }

                /// Gives the key back a state read from `state`, exactly.
                func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_fetch, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_fetch, targeting: _staticcallAddress_fetch(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `fetch()` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_fetch)
                }

                /// Makes every call site load `value` instead of calling anything (a constant that no single
                /// 5-byte instruction loads stays a call to the trampoline, which returns it): the analogue
                /// of DEFINE_STATIC_CALL_RET0, generalised.
                func update(returning value: Int) {
                    registerIfNeeded()
                    StaticCallRuntime.setConstant(_staticcallStorage_fetch, bits: UInt64(truncatingIfNeeded: value), width: .bits64)
                }
            }

            /// The key of `fetch()`: `update`, `target`, `reset`, `update(returning:)`.
            var $fetch: _staticcallKey_fetch {
                _staticcallKey_fetch()
            }
            """
        }
    }

    @Test func instanceMethodWithFixIt() {
        assertMacro {
            """
            struct Pipeline {
                @StaticCall
                func stage(_ x: Int) -> Int { x }
            }
            """
        } diagnostics: {
            """
            struct Pipeline {
                @StaticCall
                func stage(_ x: Int) -> Int { x }
                     ┬────
                     ╰─ 🛑 @StaticCall cannot be applied to instance method 'stage' of 'Pipeline': only global functions and static methods have one key for every call
                        ✏️ make it a static method
            }
            """
        } fixes: {
            """
            struct Pipeline {
                @StaticCall
                static func stage(_ x: Int) -> Int { x }
            }
            """
        } expansion: {
            """
            struct Pipeline {
                static func stage(_ x: Int) -> Int {
                    _staticcallTrampoline_stage(x)
                }

                /// The trampoline of `stage(_:)`: every call site calls this, and the runtime patches
                /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
                /// alone (a call to such a symbol is a patchpoint to that pass). It loads the key's word
                /// and jumps to the target it holds, or to the slow path: indirect mode's whole cost.
                @_silgen_name("__dtrace_staticcall_stage_135421d3dd868d50")
                @inline(never)
                static func _staticcallTrampoline_stage(_ a0: Int) -> Int {
                    typealias Function = @convention(thin) (Int) -> Int
                    let w = _staticcallStorage_stage.word
                    if StaticCallStorage.isDirectTarget(w) {
                        return unsafeBitCast(w, to: Function?.self)!(a0)
                    }
                    return Self._staticcallSlowPath_stage(a0)
                }

                /// The slow path of `stage(_:)`'s trampoline: registration at the first call, constants,
                /// disabled, counted calls.
                @_silgen_name("__dtrace_staticcall_stage_135421d3dd868d50_slow")
                @inline(never)
                static func _staticcallSlowPath_stage(_ a0: Int) -> Int {
                    typealias Function = @convention(thin) (Int) -> Int
                    switch _staticcallStorage_stage.dispatch(_staticcallStorage_stage.word, register: _staticcallRegister_stage) {
                    case let .call(p):
                        return unsafeBitCast(p, to: Function?.self)!(a0)
                    case let .constant(c):
                        _ = c
                        return Int(truncatingIfNeeded: c)
                    case .disabled:
                        preconditionFailure("stage(_:) cannot be disabled")
                    }
                }

                /// The original body of `stage(_:)`: its default target.
                static func _staticcallDefault_stage(_ x: Int) -> Int {
                    x
                }

                static let _staticcallStorage_stage = StaticCallStorage()

                @inline(never) static func _staticcallAddress_stage(_ f: @convention(thin) (Int) -> Int) -> UInt {
                    unsafeBitCast(f, to: UInt.self)
                }

                #if compiler(>=6.3) && os(Linux)
                @section("staticcall_keys") @used
                private static let _staticcallRecord_stage: @convention(c) () -> Void = {
                    Self._staticcallRegister_stage()
                }
                #endif

                @inline(never)
                static func _staticcallRegister_stage() {
                    StaticCallRuntime.register(
                        _staticcallStorage_stage, name: "stage(_:)",
                        trampolineThunk: Self._staticcallKey_stage.trampolineAddress(),
                        defaultTarget: _staticcallAddress_stage({ a0 in
                                Self._staticcallDefault_stage(a0)
                            }),
                        capabilities: StaticCallCapabilities(canDisable: false, constantWidth: .bits64))
                }

                /// The key of `stage(_:)`, reached as `$stage`.
                struct _staticcallKey_stage: StaticCallKeyProtocol {
                    /// The function type a target must have: `(Int) -> Int`.
                    typealias Function = @convention(thin) (Int) -> Int

                    init() {
                    }

                    private func registerIfNeeded() {
                        if !StaticCallRuntime.isRegistered(_staticcallStorage_stage) {
                            _staticcallRegister_stage()
                        }
                    }

                    /// The key's name, as `StaticCalls.report()` shows it.
                    var name: String {
                        "stage(_:)"
                    }

                    /// Identifies the key within the process (the address of its storage).
                    var _storageAddress: UInt {
                        StaticCallRuntime.identity(_staticcallStorage_stage)
                    }

                    /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                    fileprivate static func trampolineAddress() -> UInt {
                        _staticcallAddress_stage({ a0 in
                                Self._staticcallTrampoline_stage(a0)
                            })
                    }

                    private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: .bits64)

                    /// Retargets every call site of `stage(_:)` at `target`: the analogue of the kernel's
                    /// static_call_update(). Pass a non-capturing closure: `$stage.update { other($0) }`. A
                    /// function read from `target` gives back the state it was read in (disabled, a constant).
                    func update(_ target: Function) {
                        registerIfNeeded()
                        StaticCallRuntime.update(_staticcallStorage_stage, to: _staticcallAddress_stage(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                    }

                    /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                    /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                    // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                    @_disfavoredOverload
                    func update(to target: Function) {
                        update(target)
                    }

                    /// The current target as a function value, in every state: the analogue of static_call_query().
                    /// While the key is disabled it is a function that does nothing, while it returns a constant a
                    /// function that returns it; `update(to:)` with either gives that state back.
                    var target: Function {
                        registerIfNeeded()
                        return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_stage, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                    }

                    /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                    var state: StaticCallState {
                        StaticCallRuntime.callState(_staticcallStorage_stage)
                    }

                    /// Gives the key back a state read from `state`, exactly.
                    func restore(_ state: StaticCallState) {
                        registerIfNeeded()
                        StaticCallRuntime.restore(_staticcallStorage_stage, state)
                    }

                    /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                    func state(targeting target: Function) -> StaticCallState {
                        StaticCallRuntime.state(_staticcallStorage_stage, targeting: _staticcallAddress_stage(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                    }

                    /// Runs `body` with every call of `stage(_:)` going to `target`, then gives the key back
                    /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                    /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                    /// the override is in effect at once and gone when `body` returns.
                    @discardableResult
                    func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                        let saved = state
                        StaticCallRuntime.applyingAtOnce {
                            update(target)
                        }
                        defer {
                            StaticCallRuntime.applyingAtOnce {
                                restore(saved)
                            }
                        }
                        return try body()
                    }

                    /// `withTarget(_:_:)` for an asynchronous `body`.
                    @discardableResult
                    func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                     _ body: () async throws -> R) async rethrows -> R {
                        let saved = state
                        StaticCallRuntime.applyingAtOnce {
                            update(target)
                        }
                        defer {
                            StaticCallRuntime.applyingAtOnce {
                                restore(saved)
                            }
                        }
                        return try await body()
                    }

                    /// Back to the original body: the default target.
                    func reset() {
                        registerIfNeeded()
                        StaticCallRuntime.reset(_staticcallStorage_stage)
                    }

                    /// Makes every call site load `value` instead of calling anything (a constant that no single
                    /// 5-byte instruction loads stays a call to the trampoline, which returns it): the analogue
                    /// of DEFINE_STATIC_CALL_RET0, generalised.
                    func update(returning value: Int) {
                        registerIfNeeded()
                        StaticCallRuntime.setConstant(_staticcallStorage_stage, bits: UInt64(truncatingIfNeeded: value), width: .bits64)
                    }
                }

                /// The key of `stage(_:)`: `update`, `target`, `reset`, `update(returning:)`.
                static var $stage: _staticcallKey_stage {
                    _staticcallKey_stage()
                }
            }
            """
        }
    }

    @Test func opaqueResultWithFixIt() {
        assertMacro {
            """
            @StaticCall
            func makeSequence() -> some Sequence { [1, 2] }
            """
        } diagnostics: {
            """
            @StaticCall
            func makeSequence() -> some Sequence { [1, 2] }
                                   ┬────────────
                                   ╰─ 🛑 @StaticCall cannot be applied to 'makeSequence', which returns an opaque type: every target must return the same concrete type
                                      ✏️ return an existential ('any') instead
            """
        } fixes: {
            """
            @StaticCall
            func makeSequence() -> any Sequence { [1, 2] }
            """
        } expansion: {
            """
            func makeSequence() -> any Sequence {
                _staticcallTrampoline_makeSequence()
            }

            /// The trampoline of `makeSequence()`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). On x86-64, one load and
            /// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost.
            @_silgen_name("__dtrace_staticcall_makeSequence_5b1fd0bc07a5b5d1")
            @inline(never)
            func _staticcallTrampoline_makeSequence() -> any Sequence {
                #if arch(x86_64)
                return _staticcallKey_makeSequence.entry()
                #else
                typealias Function = @convention(thin) () -> any Sequence
                let w = _staticcallStorage_makeSequence.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                return _staticcallSlowPath_makeSequence()
                #endif
            }

            /// The slow path of `makeSequence()`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("__dtrace_staticcall_makeSequence_5b1fd0bc07a5b5d1_slow")
            @inline(never)
            func _staticcallSlowPath_makeSequence() -> any Sequence {
                typealias Function = @convention(thin) () -> any Sequence
                switch _staticcallStorage_makeSequence.dispatch(_staticcallStorage_makeSequence.word, register: _staticcallRegister_makeSequence) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c):
                    _ = c
                    preconditionFailure("makeSequence() has no constant state")
                case .disabled:
                    preconditionFailure("makeSequence() cannot be disabled")
                }
            }

            /// The original body of `makeSequence()`: its default target.
            func _staticcallDefault_makeSequence() -> any Sequence {
                [1, 2]
            }

            let _staticcallStorage_makeSequence = StaticCallStorage()

            @inline(never) func _staticcallAddress_makeSequence(_ f: @convention(thin) () -> any Sequence) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _staticcallRecord_makeSequence: @convention(c) () -> Void = {
                _staticcallRegister_makeSequence()
            }
            #endif

            @inline(never)
            func _staticcallRegister_makeSequence() {
                StaticCallRuntime.register(
                    _staticcallStorage_makeSequence, name: "makeSequence()",
                    trampolineThunk: _staticcallKey_makeSequence.trampolineAddress(),
                    defaultTarget: _staticcallAddress_makeSequence({
                            _staticcallDefault_makeSequence()
                        }),
                    capabilities: StaticCallCapabilities(canDisable: false, constantWidth: nil),
                    entry: &_staticcallKey_makeSequence.entry,
                    slowPath: _staticcallAddress_makeSequence({
                            _staticcallSlowPath_makeSequence()
                        }))
            }

            /// The key of `makeSequence()`, reached as `$makeSequence`.
            struct _staticcallKey_makeSequence: StaticCallKeyProtocol {
                /// The function type a target must have: `() -> any Sequence`.
                typealias Function = @convention(thin) () -> any Sequence

                init() {
                }

                /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
                /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
                /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
                /// `key.func`. A static stored property of a thin function type initialised with a closure literal
                /// is the one kind of global that Swift initialises statically to a function's address (no
                /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
                /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
                /// one load or the runtime's store, and a dynamic check would cost more than the jump.
                @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = {
                    _staticcallSlowPath_makeSequence()
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_staticcallStorage_makeSequence) {
                        _staticcallRegister_makeSequence()
                    }
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "makeSequence()"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_staticcallStorage_makeSequence)
                }

                /// The thunk the key hands out for its trampoline (registered as such, so never a target).
                fileprivate static func trampolineAddress() -> UInt {
                    _staticcallAddress_makeSequence({
                            _staticcallTrampoline_makeSequence()
                        })
                }

                private static let capabilities = StaticCallCapabilities(canDisable: false, constantWidth: nil)

                /// Retargets every call site of `makeSequence()` at `target`: the analogue of the kernel's
                /// static_call_update(). Pass a non-capturing closure: `$makeSequence.update { other($0) }`. A
                /// function read from `target` gives back the state it was read in (disabled, a constant).
                func update(_ target: Function) {
                    registerIfNeeded()
                    StaticCallRuntime.update(_staticcallStorage_makeSequence, to: _staticcallAddress_makeSequence(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
                /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
                // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
                @_disfavoredOverload
                func update(to target: Function) {
                    update(target)
                }

                /// The current target as a function value, in every state: the analogue of static_call_query().
                /// While the key is disabled it is a function that does nothing, while it returns a constant a
                /// function that returns it; `update(to:)` with either gives that state back.
                var target: Function {
                    registerIfNeeded()
                    return unsafeBitCast(StaticCallRuntime.currentFunction(_staticcallStorage_makeSequence, trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
                }

                /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
                var state: StaticCallState {
                    StaticCallRuntime.callState(_staticcallStorage_makeSequence)
                }

                /// Gives the key back a state read from `state`, exactly.
                func restore(_ state: StaticCallState) {
                    registerIfNeeded()
                    StaticCallRuntime.restore(_staticcallStorage_makeSequence, state)
                }

                /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
                func state(targeting target: Function) -> StaticCallState {
                    StaticCallRuntime.state(_staticcallStorage_makeSequence, targeting: _staticcallAddress_makeSequence(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
                }

                /// Runs `body` with every call of `makeSequence()` going to `target`, then gives the key back
                /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
                /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
                /// the override is in effect at once and gone when `body` returns.
                @discardableResult
                func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withTarget(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                                 _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        update(target)
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// Back to the original body: the default target.
                func reset() {
                    registerIfNeeded()
                    StaticCallRuntime.reset(_staticcallStorage_makeSequence)
                }
            }

            /// The key of `makeSequence()`: `update`, `target`, `reset`.
            var $makeSequence: _staticcallKey_makeSequence {
                _staticcallKey_makeSequence()
            }
            """
        }
    }

    @Test func notAFunction() {
        assertMacro {
            """
            @StaticCall
            var hook = 1
            """
        } diagnostics: {
            """
            @StaticCall
            ┬──────────
            ╰─ 🛑 @StaticCall can only be attached to a global function or a static method
            var hook = 1
            """
        }
    }

    @Test func variadicParameter() {
        assertMacro {
            """
            @StaticCall
            func sum(_ xs: Int...) -> Int { xs.reduce(0, +) }
            """
        } diagnostics: {
            """
            @StaticCall
            func sum(_ xs: Int...) -> Int { xs.reduce(0, +) }
                     ┬───────────
                     ╰─ 🛑 @StaticCall cannot be applied to 'sum', which has a variadic parameter; take an array instead
            """
        }
    }

    @Test func methodOfAGenericType() {
        assertMacro {
            """
            struct Box<T> {
                @StaticCall
                static func make() -> Int { 0 }
            }
            """
        } diagnostics: {
            """
            struct Box<T> {
                @StaticCall
                static func make() -> Int { 0 }
                            ┬───
                            ╰─ 🛑 @StaticCall cannot be applied to 'make' in generic type 'Box': its key needs static storage, which generic types cannot have
            }
            """
        }
    }

    @Test func unnamedParameter() {
        assertMacro {
            """
            @StaticCall
            func ignore(_: Int) {}
            """
        } diagnostics: {
            """
            @StaticCall
            func ignore(_: Int) {}
                        ┬─────
                        ╰─ 🛑 @StaticCall needs every parameter of 'ignore' to have a name, so that the forwarder can pass it on
            """
        }
    }
}
