// Keys that the package's trait tests override (Tests/StaticCallTests/StateTests.swift). In another
// module, as in a real project: a key declared by a macro in the test module itself is not visible to a
// trait in a `@Test` attribute of that module (one macro's arguments do not see another's global peers).
import StaticCall

@StaticCall
public func traitOther(_ x: Int) -> Int { x }

@StaticCall
public func traitHook(_ counter: inout Int) { counter += 1 }

@StaticCall
public func traitLimit() -> Int { 64 }

@StaticKey
public var traitFlag = false

@StaticCall
public func traitRestored() -> Int { 64 }
