import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@StaticCall`: the function becomes a forwarder to a generated `@inline(never)` trampoline; its
/// original body becomes the default target; a key `$name` is generated beside it (ARCHITECTURE.md, What
/// the macros generate).
///
/// Two roles, because an attached macro cannot add attributes to its own declaration: the body macro
/// rewrites the body into the forwarder, the peer macro adds the trampoline, the default body, the
/// storage, the registration and the key.
public struct StaticCallMacro: BodyMacro, PeerMacro {
    // MARK: Body: the forwarder

    public static func expansion(
        of node: AttributeSyntax,
        providingBodyFor declaration: some DeclSyntaxProtocol & WithOptionalCodeBlockSyntax,
        in context: some MacroExpansionContext
    ) throws -> [CodeBlockItemSyntax] {
        // Diagnostics come from the peer role; an invalid declaration keeps its body untouched.
        guard let function = declaration.as(FunctionDeclSyntax.self),
              case let .success(model) = analyse(function, node: node, in: context),
              function.body != nil
        else { return Array(declaration.body?.statements ?? []) }
        return ["\(raw: model.tryPrefix)\(raw: model.peer("Trampoline"))(\(raw: model.forwardedArguments))"]
    }

    // MARK: Peers: trampoline, default body, storage, registration, key

    public static func expansion(
        of node: AttributeSyntax,
        providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard let function = declaration.as(FunctionDeclSyntax.self) else {
            context.diagnose(Diagnostic(node: node, message: StaticCallDiagnostic.notAFunction))
            return []
        }
        let model: FunctionModel
        switch analyse(function, node: node, in: context) {
        case let .success(m): model = m
        case let .failure(diagnostic):
            context.diagnose(diagnostic)
            return []
        }
        guard let body = function.body else {
            context.diagnose(Diagnostic(node: Syntax(function.name), message: StaticCallDiagnostic.noBody(model.name)))
            return []
        }
        return makePeers(model, function: function, body: body, node: node, in: context)
    }

    // MARK: Analysis and diagnostics

    static func analyse(_ function: FunctionDeclSyntax, node: AttributeSyntax,
                        in context: some MacroExpansionContext) -> Result<FunctionModel, DiagnosticBox> {
        let name = function.name.text
        if let generics = function.genericParameterClause {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(generics), message: StaticCallDiagnostic.generic(name))))
        }
        if let asyncKeyword = function.signature.effectSpecifiers?.asyncSpecifier {
            let fix = FixIt(message: StaticCallFixIt.removeAsync, changes: [.replace(oldNode: Syntax(asyncKeyword), newNode: Syntax(asyncKeyword.with(\.presence, .missing)))])
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(asyncKeyword), message: StaticCallDiagnostic.async(name), fixIt: fix)))
        }
        if let ret = function.signature.returnClause?.type, ret.is(SomeOrAnyTypeSyntax.self),
           let some = ret.as(SomeOrAnyTypeSyntax.self), some.someOrAnySpecifier.tokenKind == .keyword(.some) {
            let fix = FixIt(message: StaticCallFixIt.useAny, changes: [.replace(oldNode: Syntax(some.someOrAnySpecifier), newNode: Syntax(TokenSyntax.keyword(.any, trailingTrivia: .space)))])
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(ret), message: StaticCallDiagnostic.opaqueResult(name), fixIt: fix)))
        }
        let isStatic = function.modifiers.contains { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }
        let enclosing = FunctionModel.enclosingTypeName(context)
        if enclosing == nil, !context.lexicalContext.isEmpty {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(function.name), message: StaticCallDiagnostic.local(name))))
        }
        if let enclosing, !isStatic {
            var fixed = function
            if function.modifiers.isEmpty {
                // `static` takes the place (and the indentation) of `func`.
                fixed.modifiers.append(DeclModifierSyntax(name: .keyword(.static, leadingTrivia: function.funcKeyword.leadingTrivia, trailingTrivia: .space)))
                fixed.funcKeyword = function.funcKeyword.with(\.leadingTrivia, [])
            } else {
                fixed.modifiers.append(DeclModifierSyntax(name: .keyword(.static, trailingTrivia: .space)))
            }
            let fix = FixIt(message: StaticCallFixIt.makeStatic, changes: [.replace(oldNode: Syntax(function), newNode: Syntax(fixed))])
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(function.name), message: StaticCallDiagnostic.instanceMethod(name, enclosing.name), fixIt: fix)))
        }
        if let enclosing, enclosing.isGeneric {
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(function.name), message: StaticCallDiagnostic.genericType(name, enclosing.name))))
        }
        var parameters: [FunctionModel.Parameter] = []
        for p in function.signature.parameterClause.parameters {
            if p.ellipsis != nil {
                return .failure(DiagnosticBox(Diagnostic(node: Syntax(p), message: StaticCallDiagnostic.variadic(name))))
            }
            let label = p.firstName.tokenKind == .wildcard ? nil : p.firstName.text
            let inner = p.secondName?.text ?? p.firstName.text
            let isInout = p.type.as(AttributedTypeSyntax.self)?.specifiers.contains {
                $0.as(SimpleTypeSpecifierSyntax.self)?.specifier.tokenKind == .keyword(.inout)
            } ?? false
            parameters.append(.init(label: label, name: inner == "_" ? "_" : inner, type: p.type.trimmedDescription, isInout: isInout))
        }
        if parameters.contains(where: { $0.name == "_" }) {
            let p = function.signature.parameterClause.parameters.first { ($0.secondName?.text ?? $0.firstName.text) == "_" }!
            return .failure(DiagnosticBox(Diagnostic(node: Syntax(p), message: StaticCallDiagnostic.unnamedParameter(name))))
        }
        var returnType = function.signature.returnClause?.type.trimmedDescription
        if returnType == "Void" || returnType == "()" { returnType = nil }
        return .success(FunctionModel(
            name: name, parameters: parameters,
            throwsClause: function.signature.effectSpecifiers?.throwsClause?.trimmedDescription,
            returnType: returnType, isStatic: isStatic,
            access: FunctionModel.accessModifier(of: function.modifiers), enclosingType: enclosing?.name))
    }

    /// The narrower access `updatable:` asks for, if any.
    static func updatableAccess(_ node: AttributeSyntax) -> String? {
        guard case let .argumentList(args)? = node.arguments,
              let arg = args.first(where: { $0.label?.text == "updatable" }) else { return nil }
        return arg.expression.as(MemberAccessExprSyntax.self)?.declName.baseName.text
    }

    // MARK: Generation

    static func makePeers(_ m: FunctionModel, function: FunctionDeclSyntax, body: CodeBlockSyntax, node: AttributeSyntax,
                          in context: some MacroExpansionContext) -> [DeclSyntax] {
        let s = m.staticPrefix
        // Peers stay inside the module; only the key is visible at the function's (or `updatable:`'s) level.
        let (peerAccess, keyAccess, memberAccess) = GeneratedNames.access(declaration: m.access, key: updatableAccess(node) ?? m.access)
        // A public forwarder may be inlined into other modules (cross-module optimization), whose call
        // sites then call the trampoline directly, where they can be patched.
        let trampolineAccess = (m.access == "public" || m.access == "package" || m.access == "open") ? "@usableFromInline " : peerAccess
        let trampoline = m.peer("Trampoline"), storage = m.peer("Storage"), register = m.peer("Register")
        let slowPath = m.peer("SlowPath")
        let address = m.peer("Address"), defaultBody = m.peer("Default"), keyType = m.peer("Key")
        let thin = m.thinType
        // Inside a static method an unqualified member is `Self.member`, which a closure would capture
        // (the metatype), and a capturing closure cannot become @convention(thin): qualify it.
        let qualifier = m.isStatic ? (m.enclosingType.map { $0 + "." } ?? "Self.") : ""
        let symbol = "__dtrace_staticcall_\(m.enclosingType.map { $0.replacingDots() + "_" } ?? "")\(m.name)_\(uniqueSuffix(m, function: function, in: context))"
        let params = m.parameters.enumerated().map { "_ a\($0.offset): \($0.element.type)" }.joined(separator: ", ")
        let effects = m.throwsClause.map { " " + $0 } ?? ""
        let result = m.returnType.map { " -> " + $0 } ?? ""
        let args = m.positionalArguments
        let t = m.tryPrefix

        let constantCase: String
        if let r = m.returnType, m.constantWidth != nil {
            constantCase = r == "Bool" ? "return c & 1 != 0" : "return \(r)(truncatingIfNeeded: c)"
        } else {
            constantCase = "preconditionFailure(\"\(m.displayName) has no constant state\")"
        }
        let disabledCase = m.canDisable ? "return" : "preconditionFailure(\"\(m.displayName) cannot be disabled\")"

        // @_optimize(none) on a trampoline taking an existential: otherwise -O's existential specializer
        // gives it a copy taking the opened value, and every call site calls that copy, whose arguments
        // no target of the key's type accepts: no site could be patched (and the registration thunk, now
        // a projection and a jump, no longer leads to the trampoline). Unoptimized, it has one signature.
        let existentialParameter = m.parameters.contains { $0.type.hasPrefix("any ") || $0.type.contains(" any ") || $0.type.contains("(any ") }
        let keepSignature = existentialParameter
            ? "/// Kept unoptimized (`@_optimize(none)`, at some cost in indirect mode): the existential specializer\n/// would give its call sites a copy with another signature, which no site could be patched from.\n@_optimize(none)\n"
            : ""
        // A static method's trampoline keeps the word test: its only other argument, the metatype, would be
        // dead in a trampoline that only loads and jumps, and -O's function signature optimization then
        // gives every call site a copy without it (`…Tf4nd_n`), which no site can be patched from.
        let jumpsThroughEntry = !m.isStatic
        // x86-64 only: its loads are ordered (TSO), so the entry's plain load acts as an acquire and the
        // target sees what was written before the update; elsewhere (arm64) the acquire load of the word.
        let wordTest = """
            typealias Function = \(thin)
            let w = \(storage).word
            if StaticCallStorage.isDirectTarget(w) {
                return \(t)unsafeBitCast(w, to: Function?.self)!(\(args))
            }
            return \(t)\(qualifier)\(slowPath)(\(args))
            """
        let trampolineBody = jumpsThroughEntry
            ? "#if arch(x86_64)\nreturn \(t)\(keyType).entry(\(args))\n#else\n\(wordTest)\n#endif"
            : wordTest
        var decls: [DeclSyntax] = []
        decls.append("""
            /// The trampoline of `\(raw: m.displayName)`: every call site calls this, and the runtime patches
            /// those sites. Its symbol starts with `__dtrace` so that LLVM's function merging leaves its callers
            /// alone (a call to such a symbol is a patchpoint to that pass). \(raw: jumpsThroughEntry ? "On x86-64, one load and\n/// one jump through the key's `entry` (the target, or the slow path): indirect mode's whole cost." : "It loads the key's word\n/// and jumps to the target it holds, or to the slow path: indirect mode's whole cost.")
            \(raw: keepSignature)@_silgen_name("\(raw: symbol)")
            @inline(never)
            \(raw: trampolineAccess)\(raw: s)func \(raw: trampoline)(\(raw: params))\(raw: effects)\(raw: result) {
                \(raw: trampolineBody)
            }
            """)
        decls.append("""
            /// The slow path of `\(raw: m.displayName)`'s trampoline: registration at the first call, constants,
            /// disabled, counted calls.
            @_silgen_name("\(raw: symbol)_slow")
            @inline(never)
            \(raw: peerAccess)\(raw: s)func \(raw: slowPath)(\(raw: params))\(raw: effects)\(raw: result) {
                typealias Function = \(raw: thin)
                switch \(raw: storage).dispatch(\(raw: storage).word, register: \(raw: register)) {
                case let .call(p):
                    return \(raw: t)unsafeBitCast(p, to: Function?.self)!(\(raw: args))
                case let .constant(c):
                    _ = c
                    \(raw: constantCase)
                case .disabled:
                    \(raw: disabledCase)
                }
            }
            """)
        var original = function
        original.attributes = function.attributes.filter {
            guard case let .attribute(a) = $0 else { return true }
            return a.attributeName.trimmedDescription != "StaticCall"
        }
        original.name = .identifier(defaultBody)
        original.modifiers = function.modifiers.filter {
            ![.keyword(.public), .keyword(.package), .keyword(.internal), .keyword(.open)].contains($0.name.tokenKind)
        }
        original.body = body
        original.leadingTrivia = []
        decls.append("/// The original body of `\(raw: m.displayName)`: its default target.\n\(original.trimmed)")
        decls.append("\(raw: peerAccess)\(raw: s)let \(raw: storage) = StaticCallStorage()")
        decls.append("@inline(never) \(raw: peerAccess)\(raw: s)func \(raw: address)(_ f: \(raw: thin)) -> UInt { unsafeBitCast(f, to: UInt.self) }")
        let capabilities = "StaticCallCapabilities(canDisable: \(m.canDisable), constantWidth: \(m.constantWidth ?? "nil"))"
        // A registration record in the image's `staticcall_keys` section: StaticCalls.patchAll() registers
        // every key up front through these (the kernel's __start_static_call_sites).
        let record = m.peer("Record")
        decls.append("""
            #if compiler(>=6.3) && os(Linux)
            @section("staticcall_keys") @used
            private \(raw: s)let \(raw: record): @convention(c) () -> Void = { \(raw: qualifier)\(raw: register)() }
            #endif
            """)
        decls.append("""
            @inline(never)
            \(raw: peerAccess)\(raw: s)func \(raw: register)() {
                StaticCallRuntime.register(
                    \(raw: storage), name: "\(raw: m.displayName)",
                    trampolineThunk: \(raw: qualifier)\(raw: keyType).trampolineAddress(),
                    defaultTarget: \(raw: address)({ \(raw: m.closureHead)\(raw: t)\(raw: qualifier)\(raw: defaultBody)(\(raw: m.labelledArguments)) }),
                    capabilities: \(raw: capabilities)\(raw: jumpsThroughEntry ? ",\n        entry: &\(keyType).entry,\n        slowPath: \(address)({ \(m.closureHead)\(t)\(slowPath)(\(args)) })" : ""))
            }
            """)

        let entryMember = jumpsThroughEntry ? """

            /// Where the trampoline jumps: the target while the key holds a plain one, else the slow path. The
            /// runtime writes it (an atomic store, through the address `register` hands over) after the key's
            /// word; the trampoline loads it and jumps, as the kernel's generic static_call() calls through
            /// `key.func`. A static stored property of a thin function type initialised with a closure literal
            /// is the one kind of global that Swift initialises statically to a function's address (no
            /// `swift_once` in -O; a first use in -Onone initialises it), and unlike a top-level `var` it is
            /// set before any code runs in a `main.swift` as well. `@exclusivity(unchecked)`: every access is
            /// one load or the runtime's store, and a dynamic check would cost more than the jump.
            @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = { \(m.closureHead)\(t)\(slowPath)(\(args)) }

            """ : ""
        var members: [String] = []
        members.append("""
            /// The function type a target must have: `\(m.thinType.dropFirst("@convention(thin) ".count))`.
            \(memberAccess)typealias Function = \(thin)

            \(memberAccess)init() {}
            \(entryMember)
            private func registerIfNeeded() {
                if !StaticCallRuntime.isRegistered(\(storage)) { \(register)() }
            }

            /// The key's name, as `StaticCalls.report()` shows it.
            \(memberAccess)var name: String { "\(m.displayName)" }

            /// Identifies the key within the process (the address of its storage).
            \(memberAccess)var _storageAddress: UInt { StaticCallRuntime.identity(\(storage)) }

            /// The thunk the key hands out for its trampoline (registered as such, so never a target).
            fileprivate static func trampolineAddress() -> UInt {
                \(address)({ \(m.closureHead)\(t)\(qualifier)\(trampoline)(\(args)) })
            }

            private static let capabilities = \(capabilities)

            /// Retargets every call site of `\(m.displayName)` at `target`: the analogue of the kernel's
            /// static_call_update(). Pass a non-capturing closure: `$\(m.name).update { other($0) }`. A
            /// function read from `target` gives back the state it was read in (disabled, a constant).
            \(memberAccess)func update(_ target: Function) {
                registerIfNeeded()
                StaticCallRuntime.update(\(storage), to: \(address)(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
            }

            /// The same as `update(_:)`, naming a function. In Swift 6 language mode the compiler cannot yet
            /// convert a named function to `@convention(thin)`; write `update { f($0) }` there.
            // Disfavoured so that a trailing closure, which ignores labels, picks `update(_:)`.
            @_disfavoredOverload
            \(memberAccess)func update(to target: Function) {
                update(target)
            }

            /// The current target as a function value, in every state: the analogue of static_call_query().
            /// While the key is disabled it is a function that does nothing, while it returns a constant a
            /// function that returns it; `update(to:)` with either gives that state back.
            \(memberAccess)var target: Function {
                registerIfNeeded()
                return unsafeBitCast(StaticCallRuntime.currentFunction(\(storage), trampolineThunk: Self.trampolineAddress()), to: Function?.self)!
            }

            /// The key's state as a value (default body, a target, disabled, a constant), for `restore(_:)`.
            \(memberAccess)var state: StaticCallState { StaticCallRuntime.callState(\(storage)) }

            /// Gives the key back a state read from `state`, exactly.
            \(memberAccess)func restore(_ state: StaticCallState) {
                registerIfNeeded()
                StaticCallRuntime.restore(\(storage), state)
            }

            /// The state `update(target)` would give the key (for overrides applied later, as by a test trait).
            \(memberAccess)func state(targeting target: Function) -> StaticCallState {
                StaticCallRuntime.state(\(storage), targeting: \(address)(target), trampolineThunk: Self.trampolineAddress(), capabilities: Self.capabilities)
            }

            /// Runs `body` with every call of `\(m.displayName)` going to `target`, then gives the key back
            /// its previous state exactly, when `body` returns or throws. Like `TaskLocal.withValue`, but
            /// process-wide: every thread sees the override while it lasts. Inside `StaticCalls.batch` too,
            /// the override is in effect at once and gone when `body` returns.
            @discardableResult
            \(memberAccess)func withTarget<R, E: Error>(_ target: Function, _ body: () throws(E) -> R) throws(E) -> R {
                let saved = state
                StaticCallRuntime.applyingAtOnce { update(target) }
                defer { StaticCallRuntime.applyingAtOnce { restore(saved) } }
                return try body()
            }

            /// `withTarget(_:_:)` for an asynchronous `body`.
            @discardableResult
            \(memberAccess)func withTarget<R>(_ target: Function, isolation: isolated (any Actor)? = #isolation,
                                             _ body: () async throws -> R) async rethrows -> R {
                let saved = state
                StaticCallRuntime.applyingAtOnce { update(target) }
                defer { StaticCallRuntime.applyingAtOnce { restore(saved) } }
                return try await body()
            }

            /// Back to the original body: the default target.
            \(memberAccess)func reset() {
                registerIfNeeded()
                StaticCallRuntime.reset(\(storage))
            }
            """)
        if m.canDisable {
            members.append("""
                /// Turns every call site into a 5-byte NOP (tail sites return at once): the analogue of
                /// DEFINE_STATIC_CALL_NULL with static_call_cond(). Arguments are still evaluated.
                \(memberAccess)func disable() {
                    registerIfNeeded()
                    StaticCallRuntime.disable(\(storage))
                }

                /// False while the key is disabled.
                \(memberAccess)var isEnabled: Bool {
                    if case .disabled? = StaticCallRuntime.state(\(storage)) { return false }
                    return true
                }
                """)
        }
        if let width = m.constantWidth, let r = m.returnType {
            let bits = r == "Bool" ? "value ? 1 : 0" : "UInt64(truncatingIfNeeded: value)"
            members.append("""
                /// Makes every call site load `value` instead of calling anything (a constant that no single
                /// 5-byte instruction loads stays a call to the trampoline, which returns it): the analogue
                /// of DEFINE_STATIC_CALL_RET0, generalised.
                \(memberAccess)func update(returning value: \(r)) {
                    registerIfNeeded()
                    StaticCallRuntime.setConstant(\(storage), bits: \(bits), width: \(width))
                }
                """)
        }
        decls.append("""
            /// The key of `\(raw: m.displayName)`, reached as `$\(raw: m.name)`.
            \(raw: keyAccess)struct \(raw: keyType): StaticCallKeyProtocol {
            \(raw: members.joined(separator: "\n\n"))
            }
            """)
        decls.append("""
            /// The key of `\(raw: m.displayName)`: `update`, `target`, `reset`\(raw: m.canDisable ? ", `disable`, `isEnabled`" : "")\(raw: m.constantWidth != nil ? ", `update(returning:)`" : "").
            \(raw: keyAccess)\(raw: s)var $\(raw: m.name): \(raw: keyType) { \(raw: keyType)() }
            """)
        return decls
    }

    /// A stable suffix that keeps trampoline symbols of same-named functions in different files apart.
    static func uniqueSuffix(_ m: FunctionModel, function: FunctionDeclSyntax, in context: some MacroExpansionContext) -> String {
        GeneratedNames.uniqueSuffix(m.displayName + function.signature.trimmedDescription, of: function, in: context)
    }
}

private extension String {
    func replacingDots() -> String { String(map { $0.isLetter || $0.isNumber ? $0 : "_" }) }
}

/// A diagnostic, boxed so that it can travel in a `Result`.
struct DiagnosticBox: Error {
    let diagnostic: Diagnostic
    init(_ d: Diagnostic) { diagnostic = d }
}

extension MacroExpansionContext {
    func diagnose(_ box: DiagnosticBox) { diagnose(box.diagnostic) }
}
