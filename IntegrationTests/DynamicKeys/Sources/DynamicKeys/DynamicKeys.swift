// A key in a `.dynamic` library product (StaticCallTestDynamicKeys), used by an executable of another
// package (IntegrationTests/Images): the library carries its own copy of StaticCall.
import StaticCall

@StaticCall public func dynScale(_ x: Int) -> Int { x &* 3 }
@StaticKey public var dynFlag = false

/// A call site inside the library.
@inline(never) public func dynScaleInLibrary(_ x: Int) -> Int { dynScale(x) }
/// Inlined into the executable: there, a call to the library's function through the PLT.
@inlinable public func dynScaleInlined(_ x: Int) -> Int { dynScale(x) &+ 1 }
@inline(never) public func dynFlagInLibrary() -> Bool { dynFlag }

@inline(never) func times5(_ x: Int) -> Int { x &* 5 }
/// Updates from the library's own code (through its copy of StaticCall).
public func updateFromLibrary() { $dynScale.update { times5($0) } }
public func dynFlagEnable() { $dynFlag.enable() }
/// The report as the library's copy of StaticCall sees it.
public func libraryReport() -> StaticCallReport { StaticCalls.report() }
