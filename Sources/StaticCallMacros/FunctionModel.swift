import SwiftSyntax
import SwiftSyntaxMacros

/// What the expansion needs to know about the function `@StaticCall` is attached to.
struct FunctionModel {
    struct Parameter {
        var label: String?      // nil for `_`
        var name: String        // the name inside the body
        var type: String        // as written, with `inout`/`borrowing`/`consuming`
        var isInout: Bool
    }

    var name: String
    var parameters: [Parameter]
    var throwsClause: String?   // "throws" or "throws(E)"
    var returnType: String?     // nil for Void
    var isStatic: Bool
    var access: String?         // "public", "package", "internal", "fileprivate", "private" or nil
    var enclosingType: String?

    /// "checksum(_:)", or "Codec.encode(_:)" for a static method, as the report names the key: same-named
    /// methods of different types are told apart there and in `staticcall sites`.
    var displayName: String {
        (enclosingType.map { $0 + "." } ?? "") + "\(name)(\(parameters.map { ($0.label ?? "_") + ":" }.joined()))"
    }

    var isVoid: Bool { returnType == nil }
    var isThrowing: Bool { throwsClause != nil }
    var tryPrefix: String { isThrowing ? "try " : "" }
    var staticPrefix: String { isStatic ? "static " : "" }

    /// `@convention(thin) (Int, inout String) throws -> Int`
    var thinType: String {
        "@convention(thin) (\(parameters.map(\.type).joined(separator: ", ")))\(throwsClause.map { " " + $0 } ?? "") -> \(returnType ?? "Void")"
    }

    /// Arguments `a0, &a1` for calling with the trampoline's own parameter names.
    var positionalArguments: String {
        parameters.enumerated().map { i, p in (p.isInout ? "&" : "") + "a\(i)" }.joined(separator: ", ")
    }

    /// Arguments `bytes, &count` forwarding the original function's parameters.
    var forwardedArguments: String {
        parameters.map { ($0.isInout ? "&" : "") + $0.name }.joined(separator: ", ")
    }

    /// Arguments `from: a0, &a1` for calling the default body, which keeps the original labels.
    var labelledArguments: String {
        parameters.enumerated().map { i, p in (p.label.map { $0 + ": " } ?? "") + (p.isInout ? "&" : "") + "a\(i)" }.joined(separator: ", ")
    }

    /// `a0, a1 in` (or nothing for no parameters), for closures of the thin type. A typed-throws closure
    /// spells out its effects, because closures infer an untyped `throws`.
    var closureHead: String {
        let names = parameters.indices.map { "a\($0)" }.joined(separator: ", ")
        if let clause = throwsClause, clause.contains("(") {
            return "(\(names)) \(clause) -> \(returnType ?? "Void") in "
        }
        return parameters.isEmpty ? "" : names + " in "
    }

    /// The result width when `update(returning:)` is allowed.
    var constantWidth: String? {
        guard !isThrowing, let r = returnType else { return nil }
        switch r {
        case "Bool", "Int8", "UInt8": return ".bits8"
        case "Int16", "UInt16": return ".bits16"
        case "Int32", "UInt32": return ".bits32"
        case "Int", "UInt", "Int64", "UInt64": return ".bits64"
        default: return nil
        }
    }

    var canDisable: Bool { isVoid && !isThrowing }

    /// Peer names: every one is `prefix + name`, as the macro's `names:` declares.
    func peer(_ kind: String) -> String { "_staticcall\(kind)_\(name)" }
}

extension FunctionModel {
    static func accessModifier(of modifiers: DeclModifierListSyntax) -> String? {
        for m in modifiers {
            switch m.name.tokenKind {
            case .keyword(.public): return "public"
            case .keyword(.package): return "package"
            case .keyword(.internal): return "internal"
            case .keyword(.fileprivate): return "fileprivate"
            case .keyword(.private): return "private"
            default: continue
            }
        }
        return nil
    }

    static func enclosingTypeName(_ context: some MacroExpansionContext) -> (name: String, isGeneric: Bool)? {
        guard let first = context.lexicalContext.first else { return nil }
        if let s = first.as(StructDeclSyntax.self) { return (s.name.text, s.genericParameterClause != nil) }
        if let c = first.as(ClassDeclSyntax.self) { return (c.name.text, c.genericParameterClause != nil) }
        if let e = first.as(EnumDeclSyntax.self) { return (e.name.text, e.genericParameterClause != nil) }
        if let a = first.as(ActorDeclSyntax.self) { return (a.name.text, a.genericParameterClause != nil) }
        if let x = first.as(ExtensionDeclSyntax.self) { return (x.extendedType.trimmedDescription, false) }
        return nil
    }
}
