// A library that defines keys with the macros, as the API contract writes them (README.md, "The API in
// thirty seconds").
import StaticCall

@StaticCall
public func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { scalarChecksum(bytes) }

public func scalarChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var s: UInt32 = 0
    for b in bytes { s = s &* 31 &+ UInt32(b) }
    return s
}

@inline(never)
public func wideChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { scalarChecksum(bytes) ^ 0xffff_ffff }

@StaticKey
public var tracingEnabled = false

/// A call site inside the defining module.
@inline(never)
public func checksumInLibrary(_ bytes: UnsafeRawBufferPointer) -> UInt32 { checksum(bytes) &+ 1 }
