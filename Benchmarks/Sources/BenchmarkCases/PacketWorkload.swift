// Case group 6, "end to end": the analogue of the kernel's PMU-handler measurement. A packet loop
// parses an IPv4/UDP header, checksums the packet through an implementation selected by CPU feature at
// start-up, calls a per-packet tracing hook that is off, and checks a debug-log flag that is off. It is
// written three times with the same work and the same result: with static calls and a static key, with
// closure variables and a Bool, and with existentials and a Bool.
import CBenchmarkCases
import StaticCall

// MARK: The two checksum implementations (RFC 1071, over the whole packet)

/// Sixteen bits at a time.
@inline(never)
public func scalarChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var sum: UInt32 = 0
    var i = 0
    while i + 1 < bytes.count {
        sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
        i += 2
    }
    if i < bytes.count { sum &+= UInt32(bytes[i]) << 8 }
    while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
    return ~sum & 0xffff
}

/// Sixty-four bits at a time, folded (the variant picked when the CPU has AVX2).
@inline(never)
public func wideChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var sum: UInt64 = 0
    var i = 0
    while i + 8 <= bytes.count {
        let w = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let (s, carry) = sum.addingReportingOverflow(w)
        sum = s &+ (carry ? 1 : 0)
        i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 56
    while i < bytes.count {
        tail |= UInt64(bytes[i]) << shift
        shift &-= 8
        i += 1
    }
    let (s, carry) = sum.addingReportingOverflow(tail)
    sum = s &+ (carry ? 1 : 0)
    sum = (sum & 0xffff_ffff) &+ (sum >> 32)
    sum = (sum & 0xffff_ffff) &+ (sum >> 32)
    var s32 = UInt32(truncatingIfNeeded: sum)
    s32 = (s32 & 0xffff) &+ (s32 >> 16)
    s32 = (s32 & 0xffff) &+ (s32 >> 16)
    return ~s32 & 0xffff
}

// MARK: The packets

/// Packets back to back in one buffer: IPv4 header (20 bytes), UDP header (8), payload; 64 to 127
/// bytes each, as small frames are where dispatch matters.
public struct PacketStore: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let offsets: [Int]
    public let lengths: [Int]

    public init(count: Int, seed: UInt64 = 0x5eed) {
        var rng = seed
        func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
        var offsets: [Int] = [], lengths: [Int] = [], total = 0
        for _ in 0..<count {
            let n = 64 + Int(next() % 64)
            offsets.append(total)
            lengths.append(n)
            total += n
        }
        base = .allocate(byteCount: total, alignment: 16)
        for (o, n) in zip(offsets, lengths) {
            let p = base + o
            for k in 0..<n { p.storeBytes(of: UInt8(truncatingIfNeeded: next()), toByteOffset: k, as: UInt8.self) }
            p.storeBytes(of: 0x45, as: UInt8.self) // version 4, IHL 5
            p.storeBytes(of: UInt16(n).bigEndian, toByteOffset: 2, as: UInt16.self) // total length
            p.storeBytes(of: 17, toByteOffset: 9, as: UInt8.self) // UDP
        }
        self.offsets = offsets
        self.lengths = lengths
    }

    @inline(__always)
    public subscript(i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + offsets[i], count: lengths[i])
    }
}

/// 4096 packets, about 390 KB: in L2 on this machine, so the loop measures code, not memory.
public let packetStore = PacketStore(count: 4096)

/// What a loop reads from a header.
@inline(__always)
func parseHeader(_ p: UnsafeRawBufferPointer) -> (length: Int, ports: Int) {
    let ihl = Int(p[0] & 0x0f) * 4
    let length = Int(p[2]) << 8 | Int(p[3])
    let ports = Int(p[ihl]) << 24 | Int(p[ihl + 1]) << 16 | Int(p[ihl + 2]) << 8 | Int(p[ihl + 3])
    return (length, ports)
}

nonisolated(unsafe) var traceSink = 0
nonisolated(unsafe) var logSink = 0

@inline(never)
public func logPacket(_ length: Int, _ ports: Int) { logSink &+= length ^ ports }

// MARK: 1. Static calls and a static key

@StaticCall
public func packetChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { scalarChecksum(bytes) }

@StaticCall
public func tracePacket(_ length: Int, _ ports: Int) { traceSink &+= length ^ ports }

@StaticKey
public var packetDebugLogging = false

@_silgen_name("staticbench_packets_static") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func runPacketsStatic(_ n: Int) -> Int {
    let store = packetStore
    var acc = 0
    for k in 0..<n {
        let p = store[k & 4095]
        let (length, ports) = parseHeader(p)
        acc &+= Int(packetChecksum(p)) &+ length
        tracePacket(length, ports)
        if packetDebugLogging { logPacket(length, ports) }
    }
    return acc
}

// MARK: 2. Closure variables and a Bool

nonisolated(unsafe) var checksumClosure: (UnsafeRawBufferPointer) -> UInt32 = { scalarChecksum($0) }
nonisolated(unsafe) var traceClosure: ((Int, Int) -> Void)? = nil
nonisolated(unsafe) var debugLoggingBool = false

@_silgen_name("staticbench_packets_closures") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func runPacketsClosures(_ n: Int) -> Int {
    let store = packetStore
    var acc = 0
    for k in 0..<n {
        let p = store[k & 4095]
        let (length, ports) = parseHeader(p)
        acc &+= Int(checksumClosure(p)) &+ length
        traceClosure?(length, ports)
        if debugLoggingBool { logPacket(length, ports) }
    }
    return acc
}

// MARK: 3. Existentials and a Bool

public protocol Checksummer { func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 }
public protocol PacketTracer { func trace(_ length: Int, _ ports: Int) }
struct ScalarChecksummer: Checksummer { func checksum(_ b: UnsafeRawBufferPointer) -> UInt32 { scalarChecksum(b) } }
struct WideChecksummer: Checksummer { func checksum(_ b: UnsafeRawBufferPointer) -> UInt32 { wideChecksum(b) } }
struct NoTracer: PacketTracer { func trace(_ length: Int, _ ports: Int) {} }
struct SinkTracer: PacketTracer { func trace(_ length: Int, _ ports: Int) { traceSink &+= length ^ ports } }
nonisolated(unsafe) var checksummer: any Checksummer = ScalarChecksummer()
nonisolated(unsafe) var packetTracer: any PacketTracer = NoTracer()

@_silgen_name("staticbench_packets_existentials") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func runPacketsExistentials(_ n: Int) -> Int {
    let store = packetStore
    var acc = 0
    for k in 0..<n {
        let p = store[k & 4095]
        let (length, ports) = parseHeader(p)
        acc &+= Int(checksummer.checksum(p)) &+ length
        packetTracer.trace(length, ports)
        if debugLoggingBool { logPacket(length, ports) }
    }
    return acc
}

/// Turns per-packet tracing on or off in all three forms.
public func setPacketTracing(_ on: Bool) {
    if on {
        $tracePacket.reset()
        traceClosure = { length, ports in traceSink &+= length ^ ports }
        packetTracer = SinkTracer()
    } else {
        $tracePacket.disable()
        traceClosure = nil
        packetTracer = NoTracer()
    }
}

/// Turns debug logging on or off in all forms.
public func setPacketDebugLogging(_ on: Bool) {
    packetDebugLogging = on
    debugLoggingBool = on
}

/// Selects the checksum by CPU feature in all three forms.
public func selectChecksum() {
    if cstaticbench_cpu_has_avx2() {
        $packetChecksum.update { wideChecksum($0) }
        checksumClosure = { wideChecksum($0) }
        checksummer = WideChecksummer()
    } else {
        $packetChecksum.reset()
        checksumClosure = { scalarChecksum($0) }
        checksummer = ScalarChecksummer()
    }
}
