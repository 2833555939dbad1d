// The same packet loop five times, each with a different dispatch mechanism for the same three things:
// the checksum implementation, a tracing hook that is off, and a log check that is off.
import StaticCall

// 1. Static calls and a static key.
@StaticCall
func demoChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { scalarChecksum(bytes) }

@StaticCall
func demoTrace(_ length: Int) { traceSink &+= length }

@StaticKey
var demoVerbose = false

nonisolated(unsafe) var traceSink = 0
nonisolated(unsafe) var logSink = 0

@inline(never) func logPacket(_ length: Int) { logSink &+= length }

@inline(never)
func packetLength(_ p: UnsafeRawBufferPointer) -> Int { Int(p[0]) | Int(p[1]) << 8 }

@inline(never)
public func runStaticCalls(_ packets: Packets) -> UInt32 {
    var acc: UInt32 = 0
    for i in 0..<packets.count {
        let p = packets[i]
        let length = packetLength(p)
        acc &+= demoChecksum(p)
        demoTrace(length)
        if demoVerbose { logPacket(length) }
    }
    return acc
}

// 2. Closure variables and a global Bool.
nonisolated(unsafe) var checksumClosure: (UnsafeRawBufferPointer) -> UInt32 = { scalarChecksum($0) }
nonisolated(unsafe) var traceClosure: ((Int) -> Void)? = nil
nonisolated(unsafe) var verboseFlag = false

@inline(never)
func runClosures(_ packets: Packets) -> UInt32 {
    var acc: UInt32 = 0
    for i in 0..<packets.count {
        let p = packets[i]
        let length = packetLength(p)
        acc &+= checksumClosure(p)
        traceClosure?(length)
        if verboseFlag { logPacket(length) }
    }
    return acc
}

// 3. Protocol existentials.
protocol Checksummer { func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 }
protocol Tracer { func trace(_ length: Int) }
struct ScalarChecksummer: Checksummer { func checksum(_ b: UnsafeRawBufferPointer) -> UInt32 { scalarChecksum(b) } }
struct WordChecksummer: Checksummer { func checksum(_ b: UnsafeRawBufferPointer) -> UInt32 { wordChecksum(b) } }
struct NoOpTracer: Tracer { func trace(_ length: Int) {} }
nonisolated(unsafe) var checksummer: any Checksummer = ScalarChecksummer()
nonisolated(unsafe) var tracer: any Tracer = NoOpTracer()

@inline(never)
func runExistentials(_ packets: Packets) -> UInt32 {
    var acc: UInt32 = 0
    for i in 0..<packets.count {
        let p = packets[i]
        let length = packetLength(p)
        acc &+= checksummer.checksum(p)
        tracer.trace(length)
        if verboseFlag { logPacket(length) }
    }
    return acc
}

// 4. `dynamic` functions (replaceable with @_dynamicReplacement(for:)).
nonisolated(unsafe) var dynamicUsesWord = false
dynamic func dynamicChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    dynamicUsesWord ? wordChecksum(bytes) : scalarChecksum(bytes)
}
dynamic func dynamicTrace(_ length: Int) {}

@inline(never)
func runDynamicReplacement(_ packets: Packets) -> UInt32 {
    var acc: UInt32 = 0
    for i in 0..<packets.count {
        let p = packets[i]
        let length = packetLength(p)
        acc &+= dynamicChecksum(p)
        dynamicTrace(length)
        if verboseFlag { logPacket(length) }
    }
    return acc
}

// 5. C function pointers.
typealias ChecksumPointer = @convention(c) (UnsafeRawPointer?, Int) -> UInt32
typealias TracePointer = @convention(c) (Int) -> Void
nonisolated(unsafe) var checksumPointer: ChecksumPointer = { scalarChecksum(UnsafeRawBufferPointer(start: $0, count: $1)) }
nonisolated(unsafe) var tracePointer: TracePointer? = nil

@inline(never)
func runFunctionPointers(_ packets: Packets) -> UInt32 {
    var acc: UInt32 = 0
    for i in 0..<packets.count {
        let p = packets[i]
        let length = packetLength(p)
        acc &+= checksumPointer(p.baseAddress, p.count)
        tracePointer?(length)
        if verboseFlag { logPacket(length) }
    }
    return acc
}

/// Points every mechanism at the selected implementation, as a program would at start-up.
public func selectImplementation(word: Bool) {
    if word {
        $demoChecksum.update { wordChecksum($0) }
        checksumClosure = { wordChecksum($0) }
        checksummer = WordChecksummer()
        checksumPointer = { wordChecksum(UnsafeRawBufferPointer(start: $0, count: $1)) }
    } else {
        $demoChecksum.reset()
    }
    dynamicUsesWord = word
    $demoTrace.disable()
    demoVerbose = false
}

/// Packets laid out back to back: a 2-byte length, then the payload.
public struct Packets {
    let storage: UnsafeMutableRawBufferPointer
    let offsets: [Int]
    let lengths: [Int]

    public init(count: Int, seed: UInt64 = 0x5eed) {
        var rng = seed
        func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
        var lengths: [Int] = []
        var offsets: [Int] = []
        var total = 0
        for _ in 0..<count {
            let n = 64 + Int(next() % 192)
            offsets.append(total)
            lengths.append(n)
            total += n
        }
        storage = .allocate(byteCount: total, alignment: 16)
        for (o, n) in zip(offsets, lengths) {
            storage[o] = UInt8(n & 0xff)
            storage[o + 1] = UInt8(n >> 8)
            for k in 2..<n { storage[o + k] = UInt8(truncatingIfNeeded: next()) }
        }
        self.offsets = offsets
        self.lengths = lengths
    }

    public var count: Int { offsets.count }
    subscript(i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[offsets[i]..<(offsets[i] + lengths[i])]) }
}
