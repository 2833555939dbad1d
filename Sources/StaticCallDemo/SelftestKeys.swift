// The selftest's keys and call sites, compiled with -O like the demo's loops (this module), so that the
// call and tail sites the selftest patches exist even in a debug build of the tool. `selftestValue(_:)` returns Int (call and constant states);
// `selftestHook(_:)` returns Void (call and NOP states).
import StaticCall

@StaticCall
public func selftestValue(_ x: Int) -> Int { x &+ 1 }

@StaticCall
public func selftestHook(_ counter: UnsafeMutablePointer<Int>) { counter.pointee &+= 1 }

// Call sites: an ordinary call and a tail call for each key.
@inline(never) public func callValue(_ x: Int) -> Int { selftestValue(x) &+ 1000 }
@inline(never) public func tailValue(_ x: Int) -> Int { selftestValue(x) }
@inline(never) public func callHook(_ c: UnsafeMutablePointer<Int>) { selftestHook(c); c.pointee &+= 100 }
@inline(never) public func tailHook(_ c: UnsafeMutablePointer<Int>) { selftestHook(c) }

public func valueTimes2(_ x: Int) -> Int { x &* 2 }
public func valueTimes3(_ x: Int) -> Int { x &* 3 }
public func hookAdds10(_ c: UnsafeMutablePointer<Int>) { c.pointee &+= 10 }
