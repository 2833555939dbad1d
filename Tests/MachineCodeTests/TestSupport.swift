import Foundation
import MachineCode

/// Runs a program and returns its standard output (standard error is discarded).
func run(_ executable: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return data
}

/// Paths of the Swift runtime libraries this test process has mapped (real compiler output).
func loadedToolchainLibraries(named names: [String]) -> [String] {
    // procfs reports size 0, so read to end rather than by size.
    guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else { return [] }
    let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    var found: [String: String] = [:]
    for line in maps.split(separator: "\n") {
        guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init) else { continue }
        for name in names where path.hasSuffix("/" + name) { found[name] = path }
    }
    return names.compactMap { found[$0] }
}

/// Calls `body` with the whole file's bytes.
func withFileBytes<R>(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try data.withUnsafeBytes { try body($0) }
}

func bytes(_ hex: String) -> [UInt8] {
    hex.split(separator: " ").map { UInt8($0, radix: 16)! }
}

func decodeLength(_ hex: String) -> Int? {
    bytes(hex).withUnsafeBytes { X86.decode($0, at: 0).instruction?.length }
}
