// The keys of the coverage table (COVERAGE.md), compiled once per code shape: the same source is the
// library target CoverageKeys<Shape> of IntegrationTests/Images/Package.swift, each with its own flags.
// Every kind of key a project declares, and call sites of each inside the declaring module.
import StaticCall

/// A plain function key: call sites in loops and tail positions, targets, constants.
@StaticCall public func scale(_ x: Int) -> Int { x &* 3 }

/// Same-named static methods in two types: two keys, told apart by their type.
public enum Codec {
    @StaticCall public static func encode(_ x: Int) -> Int { x &+ 1 }
}
public enum Legacy {
    @StaticCall public static func encode(_ x: Int) -> Int { x &+ 2 }
}

/// A name whose last word the generated names repeat (`…Key_resolveAddress.trampolineAddress()`): the
/// mangled name of its registration thunk compresses the word, and `staticcall sites` must still know it.
@StaticCall public func resolveAddress(_ x: Int) -> Int { x &+ 5 }

/// A hook: a `Void` function that can be disabled (its sites become NOPs).
@StaticCall public func hook(_ x: Int) { hookTotal &+= x }
nonisolated(unsafe) public var hookTotal = 0

/// Static keys, off and on by default.
@StaticKey public var verbose = false
@StaticKey public var fastPath = true

// Call sites in the declaring module.

@inline(never) public func scaleSum(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= scale(i) }
    return s
}

@inline(never) public func scaleTail(_ x: Int) -> Int { scale(x) }

@inline(never) public func resolveTwice(_ x: Int) -> Int { resolveAddress(resolveAddress(x)) }

@inline(never) public func encodeBoth(_ x: Int) -> Int { Codec.encode(x) &* 100 &+ Legacy.encode(x) }

@inline(never) public func hookEach(_ n: Int) {
    for i in 1...n { hook(i) }
}

@inline(never) public func flagCount(_ n: Int) -> Int {
    var c = 0
    for _ in 0..<n {
        if verbose { c &+= 1 }
        if fastPath { c &+= 10 }
    }
    return c
}

// Code other modules inline: its call sites are compiled into the caller's module.

@inlinable public func scaleInlinable(_ x: Int) -> Int { scale(x) &+ 1 }

@inlinable public func verboseInlinable() -> Bool { verbose }
