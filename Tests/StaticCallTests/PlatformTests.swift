import Foundation
@testable import StaticCall
import Testing

@StaticCall func platformLimit() -> Int { 64 }

/// What every platform gets: x86-64 Linux with glibc patches; every other platform (and this one built
/// with the trait ForcePortable) runs the portable implementation, indirect, with the same semantics.
@Suite("Platforms: the portable implementation keeps the semantics", .serialized)
struct PlatformTests {
    #if DEBUG
    /// The runtime is compiled with -O in a debug build too; slow-path counting stays on there.
    @Test func aDebugBuildCountsSlowPathCallsWithoutBeingAsked() {
        #expect(Environment.isDebugConfiguration)
        #expect(Environment.statistics)
    }
    #endif

    @Test func theModeAndItsReasonSayWhichImplementationThisIs() {
        let report = StaticCalls.report()
        if Engine.isBuilt {
            // This test process patches (unless a run caps the mode on purpose).
            let capped = ProcessInfo.processInfo.environment["STATICCALL_MODE"] == "indirect"
            #expect(report.mode == (capped ? .indirect : .inline), "\(report.reason ?? "")")
            #expect(report.reason?.contains("portable") != true, "\(report.reason ?? "")")
        } else {
            #expect(StaticCalls.mode == .indirect && report.mode == .indirect)
            #expect(report.reason?.contains("x86-64 Linux with glibc only; this build is the portable one") == true, "\(report.reason ?? "")")
        }
    }

    /// `$f.target` of a constant key is a function returning the constant, for any value, and restores the
    /// constant state: on every platform (no executable memory is made for it). The portable build
    /// returned the trampoline for every value (executable stub pages were x86-64 Linux only), and
    /// `update(to:)` with it was ignored.
    @Test(arguments: [UInt64(2), 128, 0xFFFF, 1 << 40, UInt64(bitPattern: -7)])
    func theTargetOfAConstantKeyReturnsTheConstantAndRestoresIt(_ value: UInt64) {
        let constant = Int(bitPattern: UInt(value))
        $platformLimit.update(returning: constant)
        let state = $platformLimit.state
        let saved = $platformLimit.target
        #expect(saved() == constant)
        $platformLimit.update(returning: 5)
        $platformLimit.update(to: saved)
        #expect(platformLimit() == constant && $platformLimit.state == state)
        $platformLimit.reset()
        #expect(platformLimit() == 64)
    }
}
