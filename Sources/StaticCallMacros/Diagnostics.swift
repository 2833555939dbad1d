import SwiftDiagnostics

/// Every misuse of `@StaticCall`, each naming the macro and saying why.
enum StaticCallDiagnostic: DiagnosticMessage {
    case notAFunction
    case noBody(String)
    case generic(String)
    case genericType(String, String)
    case async(String)
    case opaqueResult(String)
    case instanceMethod(String, String)
    case local(String)
    case variadic(String)
    case unnamedParameter(String)

    var message: String {
        switch self {
        case .notAFunction:
            return "@StaticCall can only be attached to a global function or a static method"
        case let .noBody(f):
            return "@StaticCall function '\(f)' needs a body: the body is the default target"
        case let .generic(f):
            return "@StaticCall cannot be applied to generic function '\(f)': a patched call site calls one concrete function"
        case let .genericType(f, t):
            return "@StaticCall cannot be applied to '\(f)' in generic type '\(t)': its key needs static storage, which generic types cannot have"
        case let .async(f):
            return "@StaticCall cannot be applied to async function '\(f)': an async call is not a single call instruction that can be patched"
        case let .opaqueResult(f):
            return "@StaticCall cannot be applied to '\(f)', which returns an opaque type: every target must return the same concrete type"
        case let .instanceMethod(f, t):
            return "@StaticCall cannot be applied to instance method '\(f)' of '\(t)': only global functions and static methods have one key for every call"
        case let .local(f):
            return "@StaticCall cannot be applied to local function '\(f)': only global functions and static methods can be static calls"
        case let .variadic(f):
            return "@StaticCall cannot be applied to '\(f)', which has a variadic parameter; take an array instead"
        case let .unnamedParameter(f):
            return "@StaticCall needs every parameter of '\(f)' to have a name, so that the forwarder can pass it on"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "StaticCall", id: "\(self)".prefix { $0 != "(" }.description) }
    var severity: DiagnosticSeverity { .error }
}

enum StaticCallFixIt: FixItMessage {
    case removeAsync
    case useAny
    case makeStatic

    var message: String {
        switch self {
        case .removeAsync: return "remove 'async'"
        case .useAny: return "return an existential ('any') instead"
        case .makeStatic: return "make it a static method"
        }
    }

    var fixItID: MessageID { MessageID(domain: "StaticCall", id: "\(self)") }
}
