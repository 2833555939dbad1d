#if canImport(Glibc)
import Glibc
#endif

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median<T: Comparable>(_ xs: [T]) -> T { xs.sorted()[xs.count / 2] }

func percentile<T: Comparable>(_ xs: [T], _ p: Double) -> T {
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count) * p))]
}

/// `x` with `digits` decimals.
func fixed(_ x: Double, _ digits: Int = 2) -> String {
    let scale = pow(10.0, Double(digits))
    let r = (x * scale).rounded() / scale
    var text = "\(r)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        text += "." + String(repeating: "0", count: digits)
    }
    return text
}

/// Writes `message` to standard error (fd 2: Swift 6 does not let us name C's `stderr`).
func printError(_ message: String) {
    var text = message
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
