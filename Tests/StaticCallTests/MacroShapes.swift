import StaticCall

// Every signature shape the macro must accept: the real compiler checks each expansion.

@StaticCall
func macroScale(_ x: Int) -> Int { x &* 3 }

@StaticCall
func macroHook(_ counter: inout Int) { counter += 1 }

@StaticCall
public func macroFlag() -> Bool { false }

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
