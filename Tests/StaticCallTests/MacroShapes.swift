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
