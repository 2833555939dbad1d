// The selftest's keys and call sites. `selftestValue(_:)` returns Int (call and constant states);
// `selftestHook(_:)` returns Void (call and NOP states).
import StaticCall

@StaticCall
func selftestValue(_ x: Int) -> Int { x &+ 1 }

@StaticCall
func selftestHook(_ counter: UnsafeMutablePointer<Int>) { counter.pointee &+= 1 }

// Call sites: an ordinary call and a tail call for each key.
@inline(never) func callValue(_ x: Int) -> Int { selftestValue(x) &+ 1000 }
@inline(never) func tailValue(_ x: Int) -> Int { selftestValue(x) }
@inline(never) func callHook(_ c: UnsafeMutablePointer<Int>) { selftestHook(c); c.pointee &+= 100 }
@inline(never) func tailHook(_ c: UnsafeMutablePointer<Int>) { selftestHook(c) }

func valueTimes2(_ x: Int) -> Int { x &* 2 }
func valueTimes3(_ x: Int) -> Int { x &* 3 }
func hookAdds10(_ c: UnsafeMutablePointer<Int>) { c.pointee &+= 10 }
