import Foundation
import StaticCallTestSupport
import Testing

/// Misuse of the macros, checked with the real compiler (not only expansion snapshots): each snippet is
/// type-checked by `swiftc` against this build's StaticCall module and macro plugin, and the first error
/// the user would see must be the macro's own message.
@Suite("Macro misuse: the first error is the macro's own, from the real compiler")
struct MacroMisuseCompilerTests {
    struct Misuse: CustomTestStringConvertible, Sendable {
        var source: String
        var firstError: String
        var testDescription: String { source }
    }

    static let misuses: [Misuse] = [
        Misuse(source: "@StaticKey var level = 3", firstError: "@StaticKey 'level' must be initialised with the literal 'false' or 'true'"),
        Misuse(source: "@StaticKey var level: Int = 0", firstError: "@StaticKey 'level' must be a Bool, not 'Int'"),
        Misuse(source: "@StaticKey let flag = false", firstError: "@StaticKey 'flag' must be a 'var'"),
        Misuse(source: "@StaticKey var flag: Bool", firstError: "@StaticKey 'flag' needs an initial value"),
        Misuse(source: "@StaticKey func flag() -> Bool { false }", firstError: "@StaticKey can only be attached to a single global or static 'var'"),
        Misuse(source: "struct S { @StaticKey var flag = false }", firstError: "@StaticKey cannot be applied to instance property 'flag' of 'S'"),
        Misuse(source: "@StaticCall func f<T>(_ x: T) {}", firstError: "@StaticCall cannot be applied to generic function 'f'"),
        Misuse(source: "@StaticCall func f() async {}", firstError: "@StaticCall cannot be applied to async function 'f'"),
        Misuse(source: "struct S { @StaticCall func m() {} }", firstError: "@StaticCall cannot be applied to instance method 'm' of 'S'"),
        Misuse(source: "@StaticCall func f(_ xs: Int...) {}", firstError: "@StaticCall cannot be applied to 'f', which has a variadic parameter"),
        Misuse(source: "@StaticCall func f()", firstError: "@StaticCall function 'f' needs a body"),
        Misuse(source: "@StaticCall struct S {}", firstError: "@StaticCall can only be attached to a global function or a static method"),
        // The one exception: the compiler checks that a body macro is attached to a function before it
        // expands anything, so its own message comes first (an accessor role to get in earlier is refused
        // on functions). It names the problem.
        Misuse(source: "@StaticCall var hook = 3", firstError: "'body' macro cannot be attached to var ('hook')"),
    ]

    @Test(arguments: misuses)
    func firstErrorIsTheMacros(_ misuse: Misuse) throws {
        let bin = IntegrationBinary.binDirectory
        let plugin = bin + "/StaticCallMacros-tool"
        let moduleMap = bin + "/CStaticCall.build/module.modulemap"
        for path in [plugin, moduleMap, bin + "/Modules/StaticCall.swiftmodule"] {
            try #require(FileManager.default.fileExists(atPath: path), "not built beside the tests: \(path)")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("staticcall-misuse-\(getpid())-\(UUID().uuidString).swift")
        try ("import StaticCall\n" + misuse.source + "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = runProcess("/usr/bin/env", [
            "swiftc", "-typecheck", "-swift-version", "6", "-I", bin + "/Modules", "-Xcc", "-fmodule-map-file=" + moduleMap,
            "-load-plugin-executable", plugin + "#StaticCallMacros", file.path,
        ], environment: [:])
        #expect(result.status != 0, "the misuse compiled:\n\(result.output)")
        let first = result.output.split(separator: "\n").first { $0.contains("error:") && !$0.hasPrefix(" ") }
        #expect(first?.contains(misuse.firstError) == true, "first error: \(first ?? "none")\n\(result.output.prefix(3000))")
    }
}
