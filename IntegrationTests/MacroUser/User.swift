// A second library that calls the first one's key.
import MacroLib

@inline(never)
public func checksumInSecondLibrary(_ bytes: UnsafeRawBufferPointer) -> UInt32 { checksum(bytes) &+ 2 }
