// Twenty keys with one signature in one file: in -O the optimizer must neither merge their
// trampolines nor move their callers onto a shared clone, so every site is found and patched.
import StaticCall

@StaticCall public func same00(_ x: Int) -> Int { x &+ 0 }
@inline(never) public func callSame00(_ x: Int) -> Int { same00(x) &* 2 }
@StaticCall public func same01(_ x: Int) -> Int { x &+ 1 }
@inline(never) public func callSame01(_ x: Int) -> Int { same01(x) &* 2 }
@StaticCall public func same02(_ x: Int) -> Int { x &+ 2 }
@inline(never) public func callSame02(_ x: Int) -> Int { same02(x) &* 2 }
@StaticCall public func same03(_ x: Int) -> Int { x &+ 3 }
@inline(never) public func callSame03(_ x: Int) -> Int { same03(x) &* 2 }
@StaticCall public func same04(_ x: Int) -> Int { x &+ 4 }
@inline(never) public func callSame04(_ x: Int) -> Int { same04(x) &* 2 }
@StaticCall public func same05(_ x: Int) -> Int { x &+ 5 }
@inline(never) public func callSame05(_ x: Int) -> Int { same05(x) &* 2 }
@StaticCall public func same06(_ x: Int) -> Int { x &+ 6 }
@inline(never) public func callSame06(_ x: Int) -> Int { same06(x) &* 2 }
@StaticCall public func same07(_ x: Int) -> Int { x &+ 7 }
@inline(never) public func callSame07(_ x: Int) -> Int { same07(x) &* 2 }
@StaticCall public func same08(_ x: Int) -> Int { x &+ 8 }
@inline(never) public func callSame08(_ x: Int) -> Int { same08(x) &* 2 }
@StaticCall public func same09(_ x: Int) -> Int { x &+ 9 }
@inline(never) public func callSame09(_ x: Int) -> Int { same09(x) &* 2 }
@StaticCall public func same10(_ x: Int) -> Int { x &+ 10 }
@inline(never) public func callSame10(_ x: Int) -> Int { same10(x) &* 2 }
@StaticCall public func same11(_ x: Int) -> Int { x &+ 11 }
@inline(never) public func callSame11(_ x: Int) -> Int { same11(x) &* 2 }
@StaticCall public func same12(_ x: Int) -> Int { x &+ 12 }
@inline(never) public func callSame12(_ x: Int) -> Int { same12(x) &* 2 }
@StaticCall public func same13(_ x: Int) -> Int { x &+ 13 }
@inline(never) public func callSame13(_ x: Int) -> Int { same13(x) &* 2 }
@StaticCall public func same14(_ x: Int) -> Int { x &+ 14 }
@inline(never) public func callSame14(_ x: Int) -> Int { same14(x) &* 2 }
@StaticCall public func same15(_ x: Int) -> Int { x &+ 15 }
@inline(never) public func callSame15(_ x: Int) -> Int { same15(x) &* 2 }
@StaticCall public func same16(_ x: Int) -> Int { x &+ 16 }
@inline(never) public func callSame16(_ x: Int) -> Int { same16(x) &* 2 }
@StaticCall public func same17(_ x: Int) -> Int { x &+ 17 }
@inline(never) public func callSame17(_ x: Int) -> Int { same17(x) &* 2 }
@StaticCall public func same18(_ x: Int) -> Int { x &+ 18 }
@inline(never) public func callSame18(_ x: Int) -> Int { same18(x) &* 2 }
@StaticCall public func same19(_ x: Int) -> Int { x &+ 19 }
@inline(never) public func callSame19(_ x: Int) -> Int { same19(x) &* 2 }

/// The sum over all twenty callers; each contributes (x + i) * 2 by default.
@inline(never) public func sumOfSames(_ x: Int) -> Int {
    callSame00(x) &+ callSame01(x) &+ callSame02(x) &+ callSame03(x) &+ callSame04(x) &+ callSame05(x) &+ callSame06(x) &+ callSame07(x) &+ callSame08(x) &+ callSame09(x) &+ callSame10(x) &+ callSame11(x) &+ callSame12(x) &+ callSame13(x) &+ callSame14(x) &+ callSame15(x) &+ callSame16(x) &+ callSame17(x) &+ callSame18(x) &+ callSame19(x)
}

/// Retargets key i to return x * 1000 + i, one at a time, checking that only that key changed.
@inline(never) public func retargetEachSame() -> [String] {
    var wrong: [String] = []
    $same00.update { $0 &* 1000 &+ 0 }
    if callSame00(1) != 2 * (1000 + 0) || sumOfSames(1) != 2418 { wrong.append("same00") }
    $same00.reset()
    $same01.update { $0 &* 1000 &+ 1 }
    if callSame01(1) != 2 * (1000 + 1) || sumOfSames(1) != 2418 { wrong.append("same01") }
    $same01.reset()
    $same02.update { $0 &* 1000 &+ 2 }
    if callSame02(1) != 2 * (1000 + 2) || sumOfSames(1) != 2418 { wrong.append("same02") }
    $same02.reset()
    $same03.update { $0 &* 1000 &+ 3 }
    if callSame03(1) != 2 * (1000 + 3) || sumOfSames(1) != 2418 { wrong.append("same03") }
    $same03.reset()
    $same04.update { $0 &* 1000 &+ 4 }
    if callSame04(1) != 2 * (1000 + 4) || sumOfSames(1) != 2418 { wrong.append("same04") }
    $same04.reset()
    $same05.update { $0 &* 1000 &+ 5 }
    if callSame05(1) != 2 * (1000 + 5) || sumOfSames(1) != 2418 { wrong.append("same05") }
    $same05.reset()
    $same06.update { $0 &* 1000 &+ 6 }
    if callSame06(1) != 2 * (1000 + 6) || sumOfSames(1) != 2418 { wrong.append("same06") }
    $same06.reset()
    $same07.update { $0 &* 1000 &+ 7 }
    if callSame07(1) != 2 * (1000 + 7) || sumOfSames(1) != 2418 { wrong.append("same07") }
    $same07.reset()
    $same08.update { $0 &* 1000 &+ 8 }
    if callSame08(1) != 2 * (1000 + 8) || sumOfSames(1) != 2418 { wrong.append("same08") }
    $same08.reset()
    $same09.update { $0 &* 1000 &+ 9 }
    if callSame09(1) != 2 * (1000 + 9) || sumOfSames(1) != 2418 { wrong.append("same09") }
    $same09.reset()
    $same10.update { $0 &* 1000 &+ 10 }
    if callSame10(1) != 2 * (1000 + 10) || sumOfSames(1) != 2418 { wrong.append("same10") }
    $same10.reset()
    $same11.update { $0 &* 1000 &+ 11 }
    if callSame11(1) != 2 * (1000 + 11) || sumOfSames(1) != 2418 { wrong.append("same11") }
    $same11.reset()
    $same12.update { $0 &* 1000 &+ 12 }
    if callSame12(1) != 2 * (1000 + 12) || sumOfSames(1) != 2418 { wrong.append("same12") }
    $same12.reset()
    $same13.update { $0 &* 1000 &+ 13 }
    if callSame13(1) != 2 * (1000 + 13) || sumOfSames(1) != 2418 { wrong.append("same13") }
    $same13.reset()
    $same14.update { $0 &* 1000 &+ 14 }
    if callSame14(1) != 2 * (1000 + 14) || sumOfSames(1) != 2418 { wrong.append("same14") }
    $same14.reset()
    $same15.update { $0 &* 1000 &+ 15 }
    if callSame15(1) != 2 * (1000 + 15) || sumOfSames(1) != 2418 { wrong.append("same15") }
    $same15.reset()
    $same16.update { $0 &* 1000 &+ 16 }
    if callSame16(1) != 2 * (1000 + 16) || sumOfSames(1) != 2418 { wrong.append("same16") }
    $same16.reset()
    $same17.update { $0 &* 1000 &+ 17 }
    if callSame17(1) != 2 * (1000 + 17) || sumOfSames(1) != 2418 { wrong.append("same17") }
    $same17.reset()
    $same18.update { $0 &* 1000 &+ 18 }
    if callSame18(1) != 2 * (1000 + 18) || sumOfSames(1) != 2418 { wrong.append("same18") }
    $same18.reset()
    $same19.update { $0 &* 1000 &+ 19 }
    if callSame19(1) != 2 * (1000 + 19) || sumOfSames(1) != 2418 { wrong.append("same19") }
    $same19.reset()
    return wrong
}
