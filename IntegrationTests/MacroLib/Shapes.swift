// Every signature shape @StaticCall must accept, compiled in debug (swift test) and release (the
// integration program): the real compiler checks each expansion.
import StaticCall

// More than four words: ARCHITECTURE.md, LoadableByAddress compiler crash.
public struct Large: Equatable, Sendable {
    public var a: Int, b: Double, c: String, d: [Int], e: Int
    public init(a: Int, b: Double, c: String, d: [Int], e: Int) { self.a = a; self.b = b; self.c = c; self.d = d; self.e = e }
}
public final class Node: @unchecked Sendable { public var value: Int; public init(_ v: Int) { value = v } }
public protocol Shape { var area: Double { get } }
public struct Square: Shape { public var side: Double; public init(side: Double) { self.side = side }; public var area: Double { side * side } }
public struct ShapeError: Error, Equatable { public init() {} }

@StaticCall public func noArguments() -> Int { 0 }
@StaticCall public func labelled(from a: Int, to b: Int) -> Int { b - a }
@StaticCall public func defaulted(_ x: Int, scale: Int = 2) -> Int { x * scale }
@StaticCall public func tenArguments(_ a: Int, _ b: Int, _ c: Int, _ d: Int, _ e: Int, _ f: Int, _ g: Int, _ h: Int, _ i: Int, _ j: Int) -> Int {
    a + b + c + d + e + f + g + h + i + j
}
@StaticCall public func twelveArguments(_ a: Int, _ b: Int, _ c: Int, _ d: Int, _ e: Int, _ f: Int, _ g: Int, _ h: Int,
                                        _ i: Int, _ j: Int, _ k: Int, _ l: Int) -> Int { a + b + c + d + e + f + g + h + i + j + k + l }
@StaticCall public func increment(_ x: inout Int) { x += 1 }
@StaticCall public func borrowLarge(_ x: borrowing Large) -> Int { x.a }
@StaticCall public func consumeLarge(_ x: consuming Large) -> Large { x.e += 1; return x }
@StaticCall public func growLarge(_ x: Large, by n: Int) -> Large { var y = x; y.a += n; return y }
/// The same signature as growLarge: two trampolines that differ only in the key they read (with a result
/// copied through a temporary, each is above LLVM's function-merging threshold), whose sites must still
/// be each key's own (SitesTests: every site patchable).
@StaticCall public func shrinkLarge(_ x: Large, by n: Int) -> Large { var y = x; y.a -= n; return y }
@StaticCall public func mayThrow(_ x: Int) throws -> Int { if x < 0 { throw ShapeError() }; return x }
@StaticCall public func typedThrow(_ x: Int) throws(ShapeError) -> Int { if x < 0 { throw ShapeError() }; return x }
@StaticCall @discardableResult public func discardable(_ x: Int) -> Int { x }
@StaticCall public func nodeValue(_ n: Node) -> Int { n.value }
@StaticCall public func area(_ s: any Shape) -> Double { s.area }
@StaticCall public func applyTwice(_ f: (Int) -> Int, _ x: Int) -> Int { f(f(x)) }
@StaticCall public func greet(_ name: String) -> String { "hello " + name }
@StaticCall public func half(_ x: Double) -> Double { x / 2 }
@StaticCall public func firstOf(_ xs: [Int]) -> Int? { xs.first }
@StaticCall package func packageLevel(_ x: Int) -> Int { x }
@StaticCall func internalLevel(_ x: Int) -> Int { x }
@StaticCall private func privateLevel(_ x: Int) -> Int { x }
@StaticCall fileprivate func fileprivateLevel(_ x: Int) -> Int { x }
@StaticCall(updatable: .internal) public func exportedTrampoline(_ x: Int) -> Int { x + 1 }
@StaticCall public func narrow8(_ x: Int) -> Int8 { Int8(truncatingIfNeeded: x) }
@StaticCall public func narrowU16(_ x: Int) -> UInt16 { UInt16(truncatingIfNeeded: x) }
@StaticCall public func narrow32(_ x: Int) -> Int32 { Int32(truncatingIfNeeded: x) }
@StaticCall public func wideU64(_ x: Int) -> UInt64 { UInt64(bitPattern: Int64(x)) }

public enum Shapes {
    @StaticCall public static func staticMethod(_ x: Int) -> Int { x * 7 }
    @StaticKey public static var staticKey = true
}

/// Calls every shape once and says which gave a wrong answer (empty when all are right).
@inline(never)
public func exerciseShapes() -> [String] {
    var wrong: [String] = []
    func expect(_ ok: Bool, _ what: String) { if !ok { wrong.append(what) } }
    let large = Large(a: 1, b: 2, c: "c", d: [1], e: 5)
    var n = 1
    increment(&n)
    expect(noArguments() == 0, "noArguments")
    expect(labelled(from: 2, to: 5) == 3, "labelled")
    expect(defaulted(3) == 6 && defaulted(3, scale: 3) == 9, "defaulted")
    expect(tenArguments(1, 2, 3, 4, 5, 6, 7, 8, 9, 10) == 55, "tenArguments")
    expect(twelveArguments(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) == 78, "twelveArguments")
    expect(n == 2, "inout")
    expect(borrowLarge(large) == 1 && consumeLarge(large).e == 6 && growLarge(large, by: 2).a == 3, "large")
    expect(shrinkLarge(large, by: 2).a == -1, "large, a second key of the same signature")
    expect((try? mayThrow(1)) == 1 && (try? mayThrow(-1)) == nil, "throws")
    do { _ = try typedThrow(-1); wrong.append("typed throws") } catch { expect(error == ShapeError(), "typed throws") }
    discardable(1)
    expect(nodeValue(Node(4)) == 4 && area(Square(side: 3)) == 9, "class, existential")
    expect(applyTwice({ $0 + 1 }, 1) == 3 && greet("x") == "hello x" && half(3) == 1.5 && firstOf([4]) == 4, "closure, String, Double, Optional")
    expect(packageLevel(1) + internalLevel(1) + privateLevel(1) + fileprivateLevel(1) + exportedTrampoline(1) == 6, "access levels")
    expect(narrow8(300) == 44 && narrowU16(70000) == 4464 && narrow32(-1) == -1 && wideU64(-1) == .max, "integer widths")
    expect(Shapes.staticMethod(2) == 14 && Shapes.staticKey, "static members")
    return wrong
}

/// Retargets and constant-loads through the shapes' keys.
@inline(never)
public func retargetShapes() -> [String] {
    var wrong: [String] = []
    func expect(_ ok: Bool, _ what: String) { if !ok { wrong.append(what) } }
    $growLarge.update { x, n in var y = x; y.e = n; return y }
    expect(growLarge(Large(a: 1, b: 2, c: "c", d: [1], e: 5), by: 9).e == 9, "large retargeted")
    $growLarge.reset()
    $typedThrow.update { x throws(ShapeError) in x * 2 }
    expect((try? typedThrow(4)) == 8, "typed throws retargeted")
    $typedThrow.reset()
    // The trampoline jumps through the key's entry: the target itself while the word holds a plain one
    // (no counting), the slow path otherwise; unpatched sites and indirect mode run exactly this.
    func entryFollowsWord() -> Bool {
        let entry = unsafeBitCast(_staticcallKey_increment.entry, to: UInt.self), word = _staticcallStorage_increment.word
        return StaticCallStorage.isDirectTarget(word) ? entry == word : entry != word
    }
    $increment.update { $0 += 2 }
    expect(entryFollowsWord(), "the trampoline's entry holds a plain target")
    $increment.disable()
    expect(entryFollowsWord(), "the trampoline's entry is the slow path while disabled")
    var n = 0
    increment(&n)
    _staticcallKey_increment.entry(&n)
    expect(n == 0, "inout disabled")
    $increment.reset()
    expect(entryFollowsWord(), "the trampoline's entry holds the default target")
    $narrow8.update(returning: -1)
    $narrowU16.update(returning: .max)
    $narrow32.update(returning: .min)
    $wideU64.update(returning: 1 << 40)
    expect(narrow8(0) == -1 && narrowU16(0) == .max && narrow32(0) == .min && wideU64(0) == 1 << 40, "width constants")
    $narrow8.reset(); $narrowU16.reset(); $narrow32.reset(); $wideU64.reset()
    $exportedTrampoline.update { $0 + 100 }
    expect(exportedTrampoline(1) == 101, "updatable: .internal updated inside the module")
    $exportedTrampoline.reset()
    Shapes.$staticMethod.update { $0 * 9 }
    expect(Shapes.staticMethod(2) == 18, "static method retargeted")
    Shapes.$staticMethod.reset()
    return wrong
}
