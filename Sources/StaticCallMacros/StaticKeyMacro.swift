import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@StaticKey var name = false|true`: reads become a call whose sites are patched into immediate loads
/// (the kernel's static keys / jump labels). The accessor role turns the variable into `get`/`set`; the
/// peer role adds the trampoline, its storage, the registration and the key `$name`.
public struct StaticKeyMacro: AccessorMacro, PeerMacro {
    struct Model {
        var name: String
        var initial: Bool
        var isStatic: Bool
        var access: String?
        var enclosingType: String?
        func peer(_ kind: String) -> String { "_statickey\(kind)_\(name)" }
        /// Whether other modules read the key (its getter is then @inlinable, its trampoline @usableFromInline).
        var readableElsewhere: Bool { access == "public" || access == "package" }
        /// "Logging.verbose" for a static key in a type, "verbose" for a global one, as the report names it.
        var displayName: String { enclosingType.map { $0 + "." + name } ?? name }
    }

    static func analyse(_ declaration: some DeclSyntaxProtocol, in context: some MacroExpansionContext) -> Result<Model, DiagnosticBox> {
        guard let variable = declaration.as(VariableDeclSyntax.self), let binding = variable.bindings.first,
              variable.bindings.count == 1, let pattern = binding.pattern.as(IdentifierPatternSyntax.self) else {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(declaration), message: StaticKeyDiagnostic.notAVariable)))
        }
        let name = pattern.identifier.text
        if variable.bindingSpecifier.tokenKind == .keyword(.let) {
            let fix = FixIt(message: StaticKeyFixIt.useVar, changes: [.replace(oldNode: Syntax(variable.bindingSpecifier),
                                                                            newNode: Syntax(variable.bindingSpecifier.with(\.tokenKind, .keyword(.var))))])
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(variable.bindingSpecifier), message: StaticKeyDiagnostic.isLet(name), fixIt: fix)))
        }
        if binding.accessorBlock != nil {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(pattern), message: StaticKeyDiagnostic.computed(name))))
        }
        if let type = binding.typeAnnotation?.type, type.trimmedDescription != "Bool" {
            var fixed = binding.with(\.typeAnnotation, binding.typeAnnotation?.with(\.type, TypeSyntax("Bool").with(\.leadingTrivia, type.leadingTrivia).with(\.trailingTrivia, type.trailingTrivia)))
            if let initializer = binding.initializer {
                fixed.initializer = initializer.with(\.value, ExprSyntax("false").with(\.leadingTrivia, initializer.value.leadingTrivia).with(\.trailingTrivia, initializer.value.trailingTrivia))
            }
            let fix = FixIt(message: StaticKeyFixIt.useBool, changes: [.replace(oldNode: Syntax(binding), newNode: Syntax(fixed))])
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(type), message: StaticKeyDiagnostic.notBool(name, type.trimmedDescription), fixIt: fix)))
        }
        guard let value = binding.initializer?.value else {
            let fix = FixIt(message: StaticKeyFixIt.addFalse, changes: [.replace(oldNode: Syntax(binding),
                newNode: Syntax(binding.with(\.initializer, InitializerClauseSyntax(equal: .equalToken(leadingTrivia: .space, trailingTrivia: .space), value: ExprSyntax("false")))))])
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(pattern), message: StaticKeyDiagnostic.noInitializer(name), fixIt: fix)))
        }
        guard let literal = value.as(BooleanLiteralExprSyntax.self) else {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(value), message: StaticKeyDiagnostic.notBoolLiteral(name))))
        }
        let isStatic = variable.modifiers.contains { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }
        let enclosing = FunctionModel.enclosingTypeName(context)
        if enclosing == nil, !context.lexicalContext.isEmpty {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(pattern), message: StaticKeyDiagnostic.local(name))))
        }
        if let enclosing, !isStatic {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(pattern), message: StaticKeyDiagnostic.instanceProperty(name, enclosing.name))))
        }
        if let enclosing, enclosing.isGeneric {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(pattern), message: StaticKeyDiagnostic.genericType(name, enclosing.name))))
        }
        return .success(Model(name: name, initial: literal.literal.tokenKind == .keyword(.true), isStatic: isStatic,
                              access: FunctionModel.accessModifier(of: variable.modifiers), enclosingType: enclosing?.name))
    }

    public static func expansion(of node: AttributeSyntax, providingAccessorsOf declaration: some DeclSyntaxProtocol,
                                 in context: some MacroExpansionContext) throws -> [AccessorDeclSyntax] {
        let m: Model
        switch analyse(declaration, in: context) {
        case let .success(model): m = model
        case let .failure(box):
            // The compiler expands this role first: diagnosing here makes the macro's message (and its
            // fix-it) the first error the user sees. The placeholder accessors keep the compiler from adding
            // "did not produce a non-observing accessor" on top; the error stops the build before they run.
            context.diagnose(box.diagnostic)
            guard let variable = declaration.as(VariableDeclSyntax.self), variable.bindingSpecifier.tokenKind == .keyword(.var),
                  variable.bindings.count == 1, variable.bindings.first?.accessorBlock == nil else { return [] }
            return ["get { fatalError() }", "set {}"]
        }
        return [
            // The kernel's static_branch_unlikely()/likely(), chosen by the default value: the optimizer
            // lays the default path out as the fall-through, so the key in its default state takes no
            // branch (measured: a default-true key read while true, 27 -> 26 instructions per iteration,
            // the plain Bool's count; Benchmarks, "flag, true"). _slowPath/_fastPath: the standard
            // library's branch-weight hints; underscored, and the only way Swift spells one. Qualified:
            // a declaration of the user's with the same name would shadow it.
            //
            // A public (or package) key's getter is @inlinable: read from another module it is inlined
            // there, so that each read is a call site of its own in that module, patched to a jump or a
            // load, instead of a call of one getter holding the only site (measured, #16).
            "\(raw: m.readableElsewhere ? "@inlinable " : "")get { Swift.\(raw: m.initial ? "_fastPath" : "_slowPath")(\(raw: m.peer("Trampoline"))()) }",
            "set { if newValue { $\(raw: m.name).enable() } else { $\(raw: m.name).disable() } }",
        ]
    }

    public static func expansion(of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
                                 in context: some MacroExpansionContext) throws -> [DeclSyntax] {
        let m: Model
        switch analyse(declaration, in: context) {
        case let .success(model): m = model
        case let .failure(box):
            // A variable's misuse is diagnosed by the accessor role (first); the compiler does not expand
            // that role on other declarations.
            if !declaration.is(VariableDeclSyntax.self) { context.diagnose(box.diagnostic) }
            return []
        }
        let s = m.isStatic ? "static " : ""
        // Qualified inside types: an unqualified static member in a closure would capture the metatype.
        let q = m.isStatic ? (m.enclosingType.map { $0 + "." } ?? "Self.") : ""
        let (peerAccess, keyAccess, memberAccess) = GeneratedNames.access(declaration: m.access, key: m.access)
        let trampoline = m.peer("Trampoline"), storage = m.peer("Storage"), register = m.peer("Register")
        let address = m.peer("Address"), keyType = m.peer("Key"), slowPath = m.peer("SlowPath")
        // A key other modules read names its trampoline in their code (its getter is @inlinable): the
        // symbol depends on the module, the type and the name only, so that moving the declaration
        // within its file or module keeps it.
        let suffix = m.readableElsewhere
            ? GeneratedNames.moduleSuffix(m.name + (m.enclosingType ?? ""), of: declaration, in: context)
            : GeneratedNames.uniqueSuffix(m.name + (m.enclosingType ?? ""), of: declaration, in: context)
        let symbol = "__dtrace_staticcall_key_\(m.name)_\(suffix)"
        return [
            """
            /// The trampoline every read of `\(raw: m.name)` calls; the runtime patches those calls into
            /// `mov $0/$1, %eax`, or into a `jmp` past the branch they feed.
            /// Named `__dtrace…` so that LLVM's function merging leaves it and its readers alone.
            /// The fast path only (indirect mode's whole cost): the key's constant.
            @_silgen_name("\(raw: symbol)")
            @inline(never)\(raw: m.readableElsewhere ? " @usableFromInline" : "")
            \(raw: peerAccess)\(raw: s)func \(raw: trampoline)() -> Bool {
                if let c = \(raw: storage).constant(ifPlain: \(raw: storage).word) { return c & 1 != 0 }
                return \(raw: q)\(raw: slowPath)()
            }
            """,
            """
            /// The slow path of `\(raw: m.name)`'s trampoline: registration at the first read, counted reads.
            @_silgen_name("\(raw: symbol)_slow")
            @inline(never)
            \(raw: peerAccess)\(raw: s)func \(raw: slowPath)() -> Bool {
                typealias Function = @convention(thin) () -> Bool
                let w = \(raw: storage).word
                if StaticCallStorage.isDirectTarget(w) {
                    return unsafeBitCast(w, to: Function?.self)!()
                }
                switch \(raw: storage).dispatch(w, register: \(raw: register)) {
                case let .call(p): return unsafeBitCast(p, to: Function?.self)!()
                case let .constant(c): return c & 1 != 0
                case .disabled: preconditionFailure("a static key is never disabled")
                }
            }
            """,
            "\(raw: peerAccess)\(raw: s)let \(raw: storage) = StaticCallStorage()",
            // A registration record in the image's `staticcall_keys` section (see @StaticCall).
            """
            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private \(raw: s)let \(raw: m.peer("Record")): @convention(c) () -> Void = { \(raw: q)\(raw: register)() }
            #endif
            """,
            "@inline(never) \(raw: peerAccess)\(raw: s)func \(raw: address)(_ f: @convention(thin) () -> Bool) -> UInt { unsafeBitCast(f, to: UInt.self) }",
            """
            @inline(never)
            \(raw: peerAccess)\(raw: s)func \(raw: register)() {
                StaticCallRuntime.registerStaticKey(
                    \(raw: storage), name: "\(raw: m.displayName)",
                    trampolineThunk: \(raw: address)({ \(raw: q)\(raw: trampoline)() }),
                    defaultTarget: \(raw: address)({ \(raw: m.initial ? "true" : "false") }),
                    initialValue: \(raw: m.initial ? "true" : "false"))
            }
            """,
            """
            /// The key of the static key `\(raw: m.name)`, reached as `$\(raw: m.name)`.
            \(raw: keyAccess)struct \(raw: keyType): StaticKeyProtocol {
                \(raw: memberAccess)init() {}

                private func registerIfNeeded() {
                    if !StaticCallRuntime.isRegistered(\(raw: storage)) { \(raw: register)() }
                }

                /// static_branch_enable(): every read site loads `true`.
                \(raw: memberAccess)func enable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(\(raw: storage), true)
                }

                /// static_branch_disable(): every read site loads `false`.
                \(raw: memberAccess)func disable() {
                    registerIfNeeded()
                    StaticCallRuntime.setStaticKey(\(raw: storage), false)
                }

                /// static_key_slow_inc(): counted enables; the key is true while the count is above zero.
                \(raw: memberAccess)func increment() {
                    registerIfNeeded()
                    StaticCallRuntime.incrementStaticKey(\(raw: storage))
                }

                /// static_key_slow_dec(). A decrement at zero (more decrements than increments, or the key
                /// was assigned meanwhile) leaves it at zero, with a note in the report and a warning.
                \(raw: memberAccess)func decrement() {
                    registerIfNeeded()
                    StaticCallRuntime.decrementStaticKey(\(raw: storage))
                }

                /// The key's name, as `StaticCalls.report()` shows it.
                \(raw: memberAccess)var name: String { "\(raw: m.displayName)" }

                /// Identifies the key within the process (the address of its storage).
                \(raw: memberAccess)var _storageAddress: UInt { StaticCallRuntime.identity(\(raw: storage)) }

                /// The key's state as a value (its value and counted enables), for `restore(_:)`.
                \(raw: memberAccess)var state: StaticKeyState {
                    StaticCallRuntime.staticKeyState(\(raw: storage), initialValue: \(raw: m.initial ? "true" : "false"))
                }

                /// Gives the key back a state read from `state`, exactly (counted enables included).
                \(raw: memberAccess)func restore(_ state: StaticKeyState) {
                    registerIfNeeded()
                    StaticCallRuntime.restoreStaticKey(\(raw: storage), state)
                }

                /// Runs `body` with the key set to `value`, then gives the key back its previous state
                /// exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but process-wide.
                @discardableResult
                \(raw: memberAccess)func withValue<R, E: Error>(_ value: Bool, _ body: () throws(E) -> R) throws(E) -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce { restore(StaticKeyState(value)) }
                    defer { StaticCallRuntime.applyingAtOnce { restore(saved) } }
                    return try body()
                }

                /// `withValue(_:_:)` for an asynchronous `body`.
                @discardableResult
                \(raw: memberAccess)func withValue<R>(_ value: Bool, isolation: isolated (any Actor)? = #isolation,
                                                  _ body: () async throws -> R) async rethrows -> R {
                    let saved = state
                    StaticCallRuntime.applyingAtOnce { restore(StaticKeyState(value)) }
                    defer { StaticCallRuntime.applyingAtOnce { restore(saved) } }
                    return try await body()
                }

                /// static_key_count(): the current count (1 after `enable()`, 0 after `disable()`).
                \(raw: memberAccess)var count: Int {
                    registerIfNeeded()
                    return StaticCallRuntime.staticKeyCount(\(raw: storage))
                }
            }
            """,
            """
            /// The key of `\(raw: m.name)`: `enable`, `disable`, `increment`, `decrement`, `count`.
            \(raw: keyAccess)\(raw: s)var $\(raw: m.name): \(raw: keyType) { \(raw: keyType)() }
            """,
        ]
    }
}

enum StaticKeyDiagnostic: DiagnosticMessage {
    case notAVariable
    case isLet(String)
    case computed(String)
    case notBool(String, String)
    case noInitializer(String)
    case notBoolLiteral(String)
    case local(String)
    case instanceProperty(String, String)
    case genericType(String, String)

    var message: String {
        switch self {
        case .notAVariable: return "@StaticKey can only be attached to a single global or static 'var' of type Bool"
        case let .isLet(n): return "@StaticKey '\(n)' must be a 'var': a static key is changed at run time"
        case let .computed(n): return "@StaticKey cannot be applied to computed property '\(n)': the key is the storage"
        case let .notBool(n, t): return "@StaticKey '\(n)' must be a Bool, not '\(t)': call sites load true or false"
        case let .noInitializer(n): return "@StaticKey '\(n)' needs an initial value, 'false' or 'true' (DEFINE_STATIC_KEY_FALSE/TRUE)"
        case let .notBoolLiteral(n): return "@StaticKey '\(n)' must be initialised with the literal 'false' or 'true'"
        case let .local(n): return "@StaticKey cannot be applied to local variable '\(n)'"
        case let .instanceProperty(n, t): return "@StaticKey cannot be applied to instance property '\(n)' of '\(t)': make it 'static'"
        case let .genericType(n, t): return "@StaticKey cannot be applied to '\(n)' in generic type '\(t)', which cannot have static storage"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "StaticKey", id: "\(self)".prefix { $0 != "(" }.description) }
    var severity: DiagnosticSeverity { .error }
}

enum StaticKeyFixIt: FixItMessage {
    case useVar, useBool, addFalse
    var message: String {
        switch self {
        case .useVar: return "replace 'let' with 'var'"
        case .useBool: return "make it a Bool, initially false"
        case .addFalse: return "start disabled ('= false')"
        }
    }
    var fixItID: MessageID { MessageID(domain: "StaticKey", id: "\(self)") }
}
