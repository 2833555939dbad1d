import SwiftCompilerPlugin
import SwiftSyntaxMacros

@main
struct StaticCallMacrosPlugin: CompilerPlugin {
    let providingMacros: [Macro.Type] = [StaticCallMacro.self, StaticKeyMacro.self]
}
