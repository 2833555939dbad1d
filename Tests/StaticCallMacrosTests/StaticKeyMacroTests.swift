import MacroTesting
import StaticCallMacros
import SwiftParser
import SwiftSyntax
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacros
import Testing

@Suite("@StaticKey expansions and diagnostics", .macros(["StaticKey": StaticKeyMacro.self]))
struct StaticKeyMacroTests {
    @Test func falseKey() {
        assertMacro {
            """
            @StaticKey
            public var tracingEnabled = false
            """
        } expansion: {
            """
            public var tracingEnabled {
                @inlinable get {
                    Swift._slowPath(_statickeyTrampoline_tracingEnabled())
                }
                set {
                    if newValue {
                        $tracingEnabled.enable()
                    } else {
                        $tracingEnabled.disable()
                    }
                }
            }

            /// The trampoline every read of `tracingEnabled` calls; the runtime patches those calls into
            /// `mov $0/$1, %eax`, or into a `jmp` past the branch they feed.
            /// Named `__dtrace…` so that LLVM's function merging leaves it and its readers alone.
            /// The fast path only (indirect mode's whole cost): the key's constant.
            @_silgen_name("__dtrace_staticcall_key_tracingEnabled_55ef04236feb377a")
            @inline(never) @usableFromInline
            func _statickeyTrampoline_tracingEnabled() -> Bool {
                if let c = _statickeyStorage_tracingEnabled.constant(ifPlain: _statickeyStorage_tracingEnabled.word) {
                    return c & 1 != 0
                }
                return _statickeySlowPath_tracingEnabled()
            }

            /// The slow path of `tracingEnabled`'s trampoline: registration at the first read, counted reads.
            @_silgen_name("__dtrace_staticcall_key_tracingEnabled_55ef04236feb377a_slow")
            @inline(never)
            func _statickeySlowPath_tracingEnabled() -> Bool {
                typealias Function = @convention(thin) () -> Bool
                let w = _statickeyStorage_tracingEnabled.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                switch _statickeyStorage_tracingEnabled.dispatch(w, register: _statickeyRegister_tracingEnabled) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c):
                    return c & 1 != 0
                case .disabled:
                    preconditionFailure("a static key is never disabled")
                }
            }

            let _statickeyStorage_tracingEnabled = StaticCallStorage()

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _statickeyRecord_tracingEnabled: @convention(c) () -> Void = {
                _statickeyRegister_tracingEnabled()
            }
            #endif

            @inline(never) func _statickeyAddress_tracingEnabled(_ f: @convention(thin) () -> Bool) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            @inline(never)
            func _statickeyRegister_tracingEnabled() {
                StaticCallRuntime.registerStaticKey(
                    _statickeyStorage_tracingEnabled, name: "tracingEnabled",
                    trampolineThunk: _statickeyAddress_tracingEnabled({
                            _statickeyTrampoline_tracingEnabled()
                        }),
                    defaultTarget: _statickeyAddress_tracingEnabled({
                            false
                        }),
                    initialValue: false)
            }

            /// The key of the static key `tracingEnabled`, reached as `$tracingEnabled`.
            public struct _statickeyKey_tracingEnabled: StaticKeyProtocol {
                public init() {
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_statickeyStorage_tracingEnabled) {
                        _statickeyRegister_tracingEnabled()
                    }
                }

                /// static_branch_enable(): every read site loads `true`.
                public func enable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_tracingEnabled, true)
                }

                /// static_branch_disable(): every read site loads `false`.
                public func disable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_tracingEnabled, false)
                }

                /// static_key_slow_inc(): counted enables; the key is true while the count is above zero.
                public func increment() {
                    registerIfNeeded()
                    StaticCallRuntime.incrementStaticKey(_statickeyStorage_tracingEnabled)
                }

                /// static_key_slow_dec(). A decrement at zero (more decrements than increments, or the key
                /// was assigned meanwhile) leaves it at zero, with a note in the report and a warning.
                public func decrement() {
                    registerIfNeeded()
                    StaticCallRuntime.decrementStaticKey(_statickeyStorage_tracingEnabled)
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                public var name: String {
                    "tracingEnabled"
                }

                /// Identifies the key within the process (the address of its storage).
                public var _storageAddress: UInt {
                    StaticCallRuntime.identity(_statickeyStorage_tracingEnabled)
                }

                /// The key's state as a value (its value and counted enables), for `restore(_:)`.
                public var state: StaticKeyState {
                    StaticCallRuntime.staticKeyState(_statickeyStorage_tracingEnabled, initialValue: false)
                }

                /// Gives the key back a state read from `state`, exactly (counted enables included).
                public func restore(_ state: StaticKeyState) {
                    registerIfNeeded()
                    StaticCallRuntime.restoreStaticKey(_statickeyStorage_tracingEnabled, state)
                }

                /// Runs `body` with the key set to `value`, then gives the key back its previous state
                /// exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but process-wide.
                @discardableResult
                public func withValue<R, E: Error>(_ value: Bool, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withValue(_:_:)` for an asynchronous `body`.
                @discardableResult
                public func withValue<R>(_ value: Bool, isolation: isolated (any Actor)? = #isolation,
                                                  _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// static_key_count(): the current count (1 after `enable()`, 0 after `disable()`).
                public var count: Int {
                    registerIfNeeded()
                    return StaticCallRuntime.staticKeyCount(_statickeyStorage_tracingEnabled)
                }
            }

            /// The key of `tracingEnabled`: `enable`, `disable`, `increment`, `decrement`, `count`.
            public var $tracingEnabled: _statickeyKey_tracingEnabled {
                _statickeyKey_tracingEnabled()
            }
            """
        }
    }

    @Test func staticTrueKeyInAType() {
        assertMacro {
            """
            enum Log {
                @StaticKey
                static var verbose = true
            }
            """
        } expansion: {
            """
            enum Log {
                static var verbose {
                    get {
                        Swift._fastPath(_statickeyTrampoline_verbose())
                    }
                    set {
                        if newValue {
                            $verbose.enable()
                        } else {
                            $verbose.disable()
                        }
                    }
                }

                /// The trampoline every read of `verbose` calls; the runtime patches those calls into
                /// `mov $0/$1, %eax`, or into a `jmp` past the branch they feed.
                /// Named `__dtrace…` so that LLVM's function merging leaves it and its readers alone.
                /// The fast path only (indirect mode's whole cost): the key's constant.
                @_silgen_name("__dtrace_staticcall_key_verbose_15fd96cdc20681a7")
                @inline(never)
                static func _statickeyTrampoline_verbose() -> Bool {
                    if let c = _statickeyStorage_verbose.constant(ifPlain: _statickeyStorage_verbose.word) {
                        return c & 1 != 0
                    }
                    return Log._statickeySlowPath_verbose()
                }

                /// The slow path of `verbose`'s trampoline: registration at the first read, counted reads.
                @_silgen_name("__dtrace_staticcall_key_verbose_15fd96cdc20681a7_slow")
                @inline(never)
                static func _statickeySlowPath_verbose() -> Bool {
                    typealias Function = @convention(thin) () -> Bool
                    let w = _statickeyStorage_verbose.word
                    if StaticCallStorage.isDirectTarget(w) {
                        return unsafeBitCast(w, to: Function?.self)!()
                    }
                    switch _statickeyStorage_verbose.dispatch(w, register: _statickeyRegister_verbose) {
                    case let .call(p):
                        return unsafeBitCast(p, to: Function?.self)!()
                    case let .constant(c):
                        return c & 1 != 0
                    case .disabled:
                        preconditionFailure("a static key is never disabled")
                    }
                }

                static let _statickeyStorage_verbose = StaticCallStorage()

                #if compiler(>=6.3) && os(Linux)
                @section("staticcall_keys") @used
                private static let _statickeyRecord_verbose: @convention(c) () -> Void = {
                    Log._statickeyRegister_verbose()
                }
                #endif

                @inline(never) static func _statickeyAddress_verbose(_ f: @convention(thin) () -> Bool) -> UInt {
                    unsafeBitCast(f, to: UInt.self)
                }

                @inline(never)
                static func _statickeyRegister_verbose() {
                    StaticCallRuntime.registerStaticKey(
                        _statickeyStorage_verbose, name: "Log.verbose",
                        trampolineThunk: _statickeyAddress_verbose({
                                Log._statickeyTrampoline_verbose()
                            }),
                        defaultTarget: _statickeyAddress_verbose({
                                true
                            }),
                        initialValue: true)
                }

                /// The key of the static key `verbose`, reached as `$verbose`.
                struct _statickeyKey_verbose: StaticKeyProtocol {
                    init() {
                    }

                    private func registerIfNeeded() {
                        if !StaticCallRuntime.isRegistered(_statickeyStorage_verbose) {
                            _statickeyRegister_verbose()
                        }
                    }

                    /// static_branch_enable(): every read site loads `true`.
                    func enable() {
                        registerIfNeeded()
                        StaticCallRuntime.setStaticKey(_statickeyStorage_verbose, true)
                    }

                    /// static_branch_disable(): every read site loads `false`.
                    func disable() {
                        registerIfNeeded()
                        StaticCallRuntime.setStaticKey(_statickeyStorage_verbose, false)
                    }

                    /// static_key_slow_inc(): counted enables; the key is true while the count is above zero.
                    func increment() {
                        registerIfNeeded()
                        StaticCallRuntime.incrementStaticKey(_statickeyStorage_verbose)
                    }

                    /// static_key_slow_dec(). A decrement at zero (more decrements than increments, or the key
                    /// was assigned meanwhile) leaves it at zero, with a note in the report and a warning.
                    func decrement() {
                        registerIfNeeded()
                        StaticCallRuntime.decrementStaticKey(_statickeyStorage_verbose)
                    }

                    /// The key's name, as `StaticCalls.report()` shows it.
                    var name: String {
                        "Log.verbose"
                    }

                    /// Identifies the key within the process (the address of its storage).
                    var _storageAddress: UInt {
                        StaticCallRuntime.identity(_statickeyStorage_verbose)
                    }

                    /// The key's state as a value (its value and counted enables), for `restore(_:)`.
                    var state: StaticKeyState {
                        StaticCallRuntime.staticKeyState(_statickeyStorage_verbose, initialValue: true)
                    }

                    /// Gives the key back a state read from `state`, exactly (counted enables included).
                    func restore(_ state: StaticKeyState) {
                        registerIfNeeded()
                        StaticCallRuntime.restoreStaticKey(_statickeyStorage_verbose, state)
                    }

                    /// Runs `body` with the key set to `value`, then gives the key back its previous state
                    /// exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but process-wide.
                    @discardableResult
                    func withValue<R, E: Error>(_ value: Bool, _ body: () throws(E) -> R) throws(E) -> R {
                        let saved = state
                        StaticCallRuntime.applyingAtOnce {
                            restore(StaticKeyState(value))
                        }
                        defer {
                            StaticCallRuntime.applyingAtOnce {
                                restore(saved)
                            }
                        }
                        return try body()
                    }

                    /// `withValue(_:_:)` for an asynchronous `body`.
                    @discardableResult
                    func withValue<R>(_ value: Bool, isolation: isolated (any Actor)? = #isolation,
                                                      _ body: () async throws -> R) async rethrows -> R {
                        let saved = state
                        StaticCallRuntime.applyingAtOnce {
                            restore(StaticKeyState(value))
                        }
                        defer {
                            StaticCallRuntime.applyingAtOnce {
                                restore(saved)
                            }
                        }
                        return try await body()
                    }

                    /// static_key_count(): the current count (1 after `enable()`, 0 after `disable()`).
                    var count: Int {
                        registerIfNeeded()
                        return StaticCallRuntime.staticKeyCount(_statickeyStorage_verbose)
                    }
                }

                /// The key of `verbose`: `enable`, `disable`, `increment`, `decrement`, `count`.
                static var $verbose: _statickeyKey_verbose {
                    _statickeyKey_verbose()
                }
            }
            """
        }
    }

    @Test func letWithFixIt() {
        assertMacro {
            """
            @StaticKey
            let flag = false
            """
        } diagnostics: {
            """
            @StaticKey
            let flag = false
            ┬──
            ╰─ 🛑 @StaticKey 'flag' must be a 'var': a static key is changed at run time
               ✏️ replace 'let' with 'var'
            """
        } fixes: {
            """
            @StaticKey
            var flag = false
            """
        } expansion: {
            """
            var flag {
                get {
                    Swift._slowPath(_statickeyTrampoline_flag())
                }
                set {
                    if newValue {
                        $flag.enable()
                    } else {
                        $flag.disable()
                    }
                }
            }

            /// The trampoline every read of `flag` calls; the runtime patches those calls into
            /// `mov $0/$1, %eax`, or into a `jmp` past the branch they feed.
            /// Named `__dtrace…` so that LLVM's function merging leaves it and its readers alone.
            /// The fast path only (indirect mode's whole cost): the key's constant.
            @_silgen_name("__dtrace_staticcall_key_flag_ecb1d541b573fc58")
            @inline(never)
            func _statickeyTrampoline_flag() -> Bool {
                if let c = _statickeyStorage_flag.constant(ifPlain: _statickeyStorage_flag.word) {
                    return c & 1 != 0
                }
                return _statickeySlowPath_flag()
            }

            /// The slow path of `flag`'s trampoline: registration at the first read, counted reads.
            @_silgen_name("__dtrace_staticcall_key_flag_ecb1d541b573fc58_slow")
            @inline(never)
            func _statickeySlowPath_flag() -> Bool {
                typealias Function = @convention(thin) () -> Bool
                let w = _statickeyStorage_flag.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                switch _statickeyStorage_flag.dispatch(w, register: _statickeyRegister_flag) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c):
                    return c & 1 != 0
                case .disabled:
                    preconditionFailure("a static key is never disabled")
                }
            }

            let _statickeyStorage_flag = StaticCallStorage()

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _statickeyRecord_flag: @convention(c) () -> Void = {
                _statickeyRegister_flag()
            }
            #endif

            @inline(never) func _statickeyAddress_flag(_ f: @convention(thin) () -> Bool) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            @inline(never)
            func _statickeyRegister_flag() {
                StaticCallRuntime.registerStaticKey(
                    _statickeyStorage_flag, name: "flag",
                    trampolineThunk: _statickeyAddress_flag({
                            _statickeyTrampoline_flag()
                        }),
                    defaultTarget: _statickeyAddress_flag({
                            false
                        }),
                    initialValue: false)
            }

            /// The key of the static key `flag`, reached as `$flag`.
            struct _statickeyKey_flag: StaticKeyProtocol {
                init() {
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_statickeyStorage_flag) {
                        _statickeyRegister_flag()
                    }
                }

                /// static_branch_enable(): every read site loads `true`.
                func enable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_flag, true)
                }

                /// static_branch_disable(): every read site loads `false`.
                func disable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_flag, false)
                }

                /// static_key_slow_inc(): counted enables; the key is true while the count is above zero.
                func increment() {
                    registerIfNeeded()
                    StaticCallRuntime.incrementStaticKey(_statickeyStorage_flag)
                }

                /// static_key_slow_dec(). A decrement at zero (more decrements than increments, or the key
                /// was assigned meanwhile) leaves it at zero, with a note in the report and a warning.
                func decrement() {
                    registerIfNeeded()
                    StaticCallRuntime.decrementStaticKey(_statickeyStorage_flag)
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "flag"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_statickeyStorage_flag)
                }

                /// The key's state as a value (its value and counted enables), for `restore(_:)`.
                var state: StaticKeyState {
                    StaticCallRuntime.staticKeyState(_statickeyStorage_flag, initialValue: false)
                }

                /// Gives the key back a state read from `state`, exactly (counted enables included).
                func restore(_ state: StaticKeyState) {
                    registerIfNeeded()
                    StaticCallRuntime.restoreStaticKey(_statickeyStorage_flag, state)
                }

                /// Runs `body` with the key set to `value`, then gives the key back its previous state
                /// exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but process-wide.
                @discardableResult
                func withValue<R, E: Error>(_ value: Bool, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withValue(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withValue<R>(_ value: Bool, isolation: isolated (any Actor)? = #isolation,
                                                  _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// static_key_count(): the current count (1 after `enable()`, 0 after `disable()`).
                var count: Int {
                    registerIfNeeded()
                    return StaticCallRuntime.staticKeyCount(_statickeyStorage_flag)
                }
            }

            /// The key of `flag`: `enable`, `disable`, `increment`, `decrement`, `count`.
            var $flag: _statickeyKey_flag {
                _statickeyKey_flag()
            }
            """
        }
    }

    @Test func nonBoolWithFixIt() {
        assertMacro {
            """
            @StaticKey
            var level: Int = 0
            """
        } diagnostics: {
            """
            @StaticKey
            var level: Int = 0
                       ┬──
                       ╰─ 🛑 @StaticKey 'level' must be a Bool, not 'Int': call sites load true or false
                          ✏️ make it a Bool, initially false
            """
        } fixes: {
            """
            @StaticKey
            var level: Bool = false
            """
        } expansion: {
            """
            var level: Bool {
                get {
                    Swift._slowPath(_statickeyTrampoline_level())
                }
                set {
                    if newValue {
                        $level.enable()
                    } else {
                        $level.disable()
                    }
                }
            }

            /// The trampoline every read of `level` calls; the runtime patches those calls into
            /// `mov $0/$1, %eax`, or into a `jmp` past the branch they feed.
            /// Named `__dtrace…` so that LLVM's function merging leaves it and its readers alone.
            /// The fast path only (indirect mode's whole cost): the key's constant.
            @_silgen_name("__dtrace_staticcall_key_level_1e89fc497de8a59e")
            @inline(never)
            func _statickeyTrampoline_level() -> Bool {
                if let c = _statickeyStorage_level.constant(ifPlain: _statickeyStorage_level.word) {
                    return c & 1 != 0
                }
                return _statickeySlowPath_level()
            }

            /// The slow path of `level`'s trampoline: registration at the first read, counted reads.
            @_silgen_name("__dtrace_staticcall_key_level_1e89fc497de8a59e_slow")
            @inline(never)
            func _statickeySlowPath_level() -> Bool {
                typealias Function = @convention(thin) () -> Bool
                let w = _statickeyStorage_level.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                switch _statickeyStorage_level.dispatch(w, register: _statickeyRegister_level) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c):
                    return c & 1 != 0
                case .disabled:
                    preconditionFailure("a static key is never disabled")
                }
            }

            let _statickeyStorage_level = StaticCallStorage()

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _statickeyRecord_level: @convention(c) () -> Void = {
                _statickeyRegister_level()
            }
            #endif

            @inline(never) func _statickeyAddress_level(_ f: @convention(thin) () -> Bool) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            @inline(never)
            func _statickeyRegister_level() {
                StaticCallRuntime.registerStaticKey(
                    _statickeyStorage_level, name: "level",
                    trampolineThunk: _statickeyAddress_level({
                            _statickeyTrampoline_level()
                        }),
                    defaultTarget: _statickeyAddress_level({
                            false
                        }),
                    initialValue: false)
            }

            /// The key of the static key `level`, reached as `$level`.
            struct _statickeyKey_level: StaticKeyProtocol {
                init() {
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_statickeyStorage_level) {
                        _statickeyRegister_level()
                    }
                }

                /// static_branch_enable(): every read site loads `true`.
                func enable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_level, true)
                }

                /// static_branch_disable(): every read site loads `false`.
                func disable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_level, false)
                }

                /// static_key_slow_inc(): counted enables; the key is true while the count is above zero.
                func increment() {
                    registerIfNeeded()
                    StaticCallRuntime.incrementStaticKey(_statickeyStorage_level)
                }

                /// static_key_slow_dec(). A decrement at zero (more decrements than increments, or the key
                /// was assigned meanwhile) leaves it at zero, with a note in the report and a warning.
                func decrement() {
                    registerIfNeeded()
                    StaticCallRuntime.decrementStaticKey(_statickeyStorage_level)
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "level"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_statickeyStorage_level)
                }

                /// The key's state as a value (its value and counted enables), for `restore(_:)`.
                var state: StaticKeyState {
                    StaticCallRuntime.staticKeyState(_statickeyStorage_level, initialValue: false)
                }

                /// Gives the key back a state read from `state`, exactly (counted enables included).
                func restore(_ state: StaticKeyState) {
                    registerIfNeeded()
                    StaticCallRuntime.restoreStaticKey(_statickeyStorage_level, state)
                }

                /// Runs `body` with the key set to `value`, then gives the key back its previous state
                /// exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but process-wide.
                @discardableResult
                func withValue<R, E: Error>(_ value: Bool, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withValue(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withValue<R>(_ value: Bool, isolation: isolated (any Actor)? = #isolation,
                                                  _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// static_key_count(): the current count (1 after `enable()`, 0 after `disable()`).
                var count: Int {
                    registerIfNeeded()
                    return StaticCallRuntime.staticKeyCount(_statickeyStorage_level)
                }
            }

            /// The key of `level`: `enable`, `disable`, `increment`, `decrement`, `count`.
            var $level: _statickeyKey_level {
                _statickeyKey_level()
            }
            """
        }
    }

    @Test func computedProperty() {
        assertMacro {
            """
            @StaticKey
            var flag: Bool { true }
            """
        } diagnostics: {
            """
            @StaticKey
            var flag: Bool { true }
                ┬───
                ╰─ 🛑 @StaticKey cannot be applied to computed property 'flag': the key is the storage
            """
        }
    }

    @Test func missingInitialValueWithFixIt() {
        assertMacro {
            """
            @StaticKey
            var flag: Bool
            """
        } diagnostics: {
            """
            @StaticKey
            var flag: Bool
                ┬───
                ╰─ 🛑 @StaticKey 'flag' needs an initial value, 'false' or 'true' (DEFINE_STATIC_KEY_FALSE/TRUE)
                   ✏️ start disabled ('= false')
            """
        } fixes: {
            """
            @StaticKey
            var flag: Bool = false
            """
        } expansion: {
            """
            var flag: Bool {
                get {
                    Swift._slowPath(_statickeyTrampoline_flag())
                }
                set {
                    if newValue {
                        $flag.enable()
                    } else {
                        $flag.disable()
                    }
                }
            }

            /// The trampoline every read of `flag` calls; the runtime patches those calls into
            /// `mov $0/$1, %eax`, or into a `jmp` past the branch they feed.
            /// Named `__dtrace…` so that LLVM's function merging leaves it and its readers alone.
            /// The fast path only (indirect mode's whole cost): the key's constant.
            @_silgen_name("__dtrace_staticcall_key_flag_ecb1d541b573fc58")
            @inline(never)
            func _statickeyTrampoline_flag() -> Bool {
                if let c = _statickeyStorage_flag.constant(ifPlain: _statickeyStorage_flag.word) {
                    return c & 1 != 0
                }
                return _statickeySlowPath_flag()
            }

            /// The slow path of `flag`'s trampoline: registration at the first read, counted reads.
            @_silgen_name("__dtrace_staticcall_key_flag_ecb1d541b573fc58_slow")
            @inline(never)
            func _statickeySlowPath_flag() -> Bool {
                typealias Function = @convention(thin) () -> Bool
                let w = _statickeyStorage_flag.word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                switch _statickeyStorage_flag.dispatch(w, register: _statickeyRegister_flag) {
                case let .call(p):
                    return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c):
                    return c & 1 != 0
                case .disabled:
                    preconditionFailure("a static key is never disabled")
                }
            }

            let _statickeyStorage_flag = StaticCallStorage()

            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private let _statickeyRecord_flag: @convention(c) () -> Void = {
                _statickeyRegister_flag()
            }
            #endif

            @inline(never) func _statickeyAddress_flag(_ f: @convention(thin) () -> Bool) -> UInt {
                unsafeBitCast(f, to: UInt.self)
            }

            @inline(never)
            func _statickeyRegister_flag() {
                StaticCallRuntime.registerStaticKey(
                    _statickeyStorage_flag, name: "flag",
                    trampolineThunk: _statickeyAddress_flag({
                            _statickeyTrampoline_flag()
                        }),
                    defaultTarget: _statickeyAddress_flag({
                            false
                        }),
                    initialValue: false)
            }

            /// The key of the static key `flag`, reached as `$flag`.
            struct _statickeyKey_flag: StaticKeyProtocol {
                init() {
                }

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(_statickeyStorage_flag) {
                        _statickeyRegister_flag()
                    }
                }

                /// static_branch_enable(): every read site loads `true`.
                func enable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_flag, true)
                }

                /// static_branch_disable(): every read site loads `false`.
                func disable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(_statickeyStorage_flag, false)
                }

                /// static_key_slow_inc(): counted enables; the key is true while the count is above zero.
                func increment() {
                    registerIfNeeded()
                    StaticCallRuntime.incrementStaticKey(_statickeyStorage_flag)
                }

                /// static_key_slow_dec(). A decrement at zero (more decrements than increments, or the key
                /// was assigned meanwhile) leaves it at zero, with a note in the report and a warning.
                func decrement() {
                    registerIfNeeded()
                    StaticCallRuntime.decrementStaticKey(_statickeyStorage_flag)
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                var name: String {
                    "flag"
                }

                /// Identifies the key within the process (the address of its storage).
                var _storageAddress: UInt {
                    StaticCallRuntime.identity(_statickeyStorage_flag)
                }

                /// The key's state as a value (its value and counted enables), for `restore(_:)`.
                var state: StaticKeyState {
                    StaticCallRuntime.staticKeyState(_statickeyStorage_flag, initialValue: false)
                }

                /// Gives the key back a state read from `state`, exactly (counted enables included).
                func restore(_ state: StaticKeyState) {
                    registerIfNeeded()
                    StaticCallRuntime.restoreStaticKey(_statickeyStorage_flag, state)
                }

                /// Runs `body` with the key set to `value`, then gives the key back its previous state
                /// exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but process-wide.
                @discardableResult
                func withValue<R, E: Error>(_ value: Bool, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try body()
                }

                /// `withValue(_:_:)` for an asynchronous `body`.
                @discardableResult
                func withValue<R>(_ value: Bool, isolation: isolated (any Actor)? = #isolation,
                                                  _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce {
                        restore(StaticKeyState(value))
                    }
                    defer {
                        StaticCallRuntime.applyingAtOnce {
                            restore(saved)
                        }
                    }
                    return try await body()
                }

                /// static_key_count(): the current count (1 after `enable()`, 0 after `disable()`).
                var count: Int {
                    registerIfNeeded()
                    return StaticCallRuntime.staticKeyCount(_statickeyStorage_flag)
                }
            }

            /// The key of `flag`: `enable`, `disable`, `increment`, `decrement`, `count`.
            var $flag: _statickeyKey_flag {
                _statickeyKey_flag()
            }
            """
        }
    }

    @Test func notALiteral() {
        assertMacro {
            """
            @StaticKey
            var flag = ProcessInfo.processInfo.arguments.isEmpty
            """
        } diagnostics: {
            """
            @StaticKey
            var flag = ProcessInfo.processInfo.arguments.isEmpty
                       ┬────────────────────────────────────────
                       ╰─ 🛑 @StaticKey 'flag' must be initialised with the literal 'false' or 'true'
            """
        }
    }

    @Test func instanceProperty() {
        assertMacro {
            """
            struct Config {
                @StaticKey
                var flag = false
            }
            """
        } diagnostics: {
            """
            struct Config {
                @StaticKey
                var flag = false
                    ┬───
                    ╰─ 🛑 @StaticKey cannot be applied to instance property 'flag' of 'Config': make it 'static'
            }
            """
        }
    }
}


/// The trampoline symbol of a public key is named in other modules' code (its getter is @inlinable), so
/// it must not change when the declaration moves within its module; an internal key's keeps the file and
/// line (same-named private keys of two files stay apart).
@Suite("@StaticKey trampoline symbols")
struct StaticKeySymbolTests {
    static func symbol(_ source: String, module: String = "Keys", file: String = "Keys.swift") -> String? {
        let tree = Parser.parse(source: source)
        let context = BasicMacroExpansionContext(sourceFiles: [tree: .init(moduleName: module, fullFilePath: "/src/\(module)/\(file)")])
        let expanded = tree.expand(macros: ["StaticKey": StaticKeyMacro.self], in: context).description
        guard let start = expanded.range(of: "@_silgen_name(\"__dtrace_staticcall_key_") else { return nil }
        return String(expanded[start.upperBound...].prefix { $0 != "\"" })
    }

    @Test func aPublicKeysSymbolDependsOnItsModuleTypeAndNameOnly() throws {
        let here = try #require(Self.symbol("@StaticKey public var verbose = false"))
        #expect(Self.symbol("// moved\n\n\n@StaticKey public var verbose = false", file: "Other.swift") == here)
        #expect(Self.symbol("@StaticKey public var verbose = false", module: "Other") != here)
        #expect(Self.symbol("@StaticKey package var verbose = false", file: "Other.swift") == Self.symbol("\n@StaticKey package var verbose = false"))
    }

    @Test func anInternalKeysSymbolKeepsItsFileAndLine() throws {
        let here = try #require(Self.symbol("@StaticKey var verbose = false"))
        #expect(Self.symbol("\n@StaticKey var verbose = false") != here)
        #expect(Self.symbol("@StaticKey var verbose = false", file: "Other.swift") != here)
    }
}
