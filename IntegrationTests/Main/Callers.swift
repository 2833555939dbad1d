// Call sites in a second file: a loop, a tail position, a conditional.
import IntegrationSupport

@inline(never) func sumOfScales(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= scale(i) }
    return s
}

@inline(never) func scaleTail(_ x: Int) -> Int { scale(x) }

@inline(never) func hookTail(_ x: Int) { hook(x) }

@inline(never) func countEnabled(_ n: Int) -> Int {
    var c = 0
    for _ in 0..<n where enabled() { c += 1 }
    return c
}

@inline(never) func mixFromMain(_ a: Int) -> Int { mix(a, 3) &+ 1 }

// Twins of sumOfScales and scaleTail that differ only in the key they call: function merging must not
// fold them into one body that takes the trampoline as a parameter.
@inline(never) func sumOfOffsets(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= offset(i) }
    return s
}

@inline(never) func offsetTail(_ x: Int) -> Int { offset(x) }
