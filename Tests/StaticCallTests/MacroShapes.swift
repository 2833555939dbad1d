import StaticCall

// Every signature shape the macro must accept: the real compiler checks each expansion.

@StaticCall
func macroScale(_ x: Int) -> Int { x &* 3 }

@StaticCall
func macroHook(_ counter: inout Int) { counter += 1 }

@StaticCall
public func macroFlag() -> Bool { false }

/// More than four words: the LoadableByAddress shapes (ARCHITECTURE.md, Toolchain constraints), here in a
/// debug build (the macro program's are -O), through the trampoline's entry.
struct MacroLarge: Equatable { var i: Int; var d: Double; var s: String; var xs: [Int]; var e: Int }

@StaticCall
func macroGrow(_ x: MacroLarge, by n: Int) -> MacroLarge { var y = x; y.e += n; return y }

@StaticKey
var macroTracing = false

@StaticKey
public var macroLogging = true

// Static members, in Swift 6 mode: the generated closures must not capture the metatype.
enum MacroCodec {
    @StaticCall
    static func encode(_ x: Int) -> UInt8 { UInt8(truncatingIfNeeded: x) }

    @StaticKey
    static var verbose = false
}

// A method of the same name and signature in another type: its own key, told apart by its type.
enum MacroOtherCodec {
    @StaticCall
    static func encode(_ x: Int) -> UInt8 { UInt8(truncatingIfNeeded: x &+ 1) }

    @StaticKey
    static var verbose = true
}

// Assigned before it is ever read or updated: the setter must register the key.
@StaticKey
var macroAssignedFirst = false
