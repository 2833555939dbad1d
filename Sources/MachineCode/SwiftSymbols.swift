/// Swift symbol names, read as the Swift runtime reads them.
public enum SwiftSymbols {
    /// The demangled form of a Swift symbol (`$s…`), or nil for any other name. Mangled names compress
    /// repeated words (`_staticcallKey_` becomes `01_A12Key_` in a module named `staticcall_…`), so only
    /// the demangled form can be searched for an identifier.
    public static func demangle(_ symbol: String) -> String? {
        guard symbol.hasPrefix("$s") || symbol.hasPrefix("_$s") else { return nil }
        let capacity = 4096 // longer names come back truncated, which is enough to read their context
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var size = capacity
        let demangled = symbol.withCString { name in
            _swiftDemangle(name, strlenOf(name), buffer, &size, 0)
        }
        guard let demangled else { return nil }
        buffer[capacity - 1] = 0
        return String(cString: demangled)
    }

    private static func strlenOf(_ s: UnsafePointer<CChar>) -> Int {
        var n = 0
        while s[n] != 0 { n += 1 }
        return n
    }
}

// The runtime's demangler has no Swift API; this is its exported C entry point (present in every Swift
// process). Given a buffer, it writes there (truncating) and allocates nothing.
@_silgen_name("swift_demangle")
private func _swiftDemangle(_ mangledName: UnsafePointer<CChar>?, _ length: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
                            _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32) -> UnsafeMutablePointer<CChar>?
