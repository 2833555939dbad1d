// What every call case ends up calling: small enough that the dispatch is what differs between cases,
// `@inline(never)` so that even the direct call stays a call.

/// The callee of every call case.
@inline(never)
public func work(_ x: Int) -> Int { x &* 3 &+ 1 }

/// A second target of the same type, for updates.
@inline(never)
public func otherWork(_ x: Int) -> Int { x &* 5 &+ 1 }

/// Keeps a value alive without letting the optimizer see what is done with it.
@inline(never)
public func blackHole(_ x: Int) { withExtendedLifetime(x) {} }
