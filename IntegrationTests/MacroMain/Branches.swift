// A static key read by `if`/`else` in a loop: the shape whose call site the runtime turns into one `jmp`
// to the side the key's value takes (MachineCode's SiteBranch), skipping the `test` and `jcc` after it,
// the kernel's static_branch_unlikely(). Two threads read it while the main thread flips it.
#if canImport(Glibc)
import Glibc
#endif
import StaticCall
import Synchronization

@StaticKey var branchFlag = false

/// Flips started and finished, for the readers' check: a read between two equal counts saw a settled key.
let flipsStarted = Atomic<Int>(0)
let flipsFinished = Atomic<Int>(0)

@inline(never) func countSide(_ counter: UnsafeMutablePointer<Int>) { counter.pointee &+= 1 }

final class BranchReader: @unchecked Sendable {
    var thread = pthread_t()
    let stop: UnsafePointer<Atomic<Bool>>
    var wrong = 0
    let reads = Atomic<Int>(0)
    /// Reads made while no flip ran, each checked.
    let checked = Atomic<Int>(0)
    init(stop: UnsafePointer<Atomic<Bool>>) { self.stop = stop }

    func start() {
        pthread_create(&thread, nil, { ctx in
            Unmanaged<BranchReader>.fromOpaque(ctx!).takeUnretainedValue().run()
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    func run() {
        let trueReads = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        trueReads.initialize(to: 0)
        var falseReads = 0
        var n = 0
        while !stop.pointee.load(ordering: .relaxed) {
            let finished = flipsFinished.load(ordering: .acquiring)
            let falseBefore = falseReads
            // Not symmetric on purpose: with the same call on both sides the optimizer hoists the
            // argument's move between the key's call and its `test`, and there is no branch to patch.
            if branchFlag { countSide(trueReads) } else { falseReads &+= 1 }
            let started = flipsStarted.load(ordering: .acquiring)
            if started == finished {
                // No flip ran during the read: the key was what `finished` flips from false left it.
                checked.add(1, ordering: .relaxed)
                if (falseReads == falseBefore) != (finished % 2 == 1) { wrong += 1 }
            }
            n += 1
            reads.store(n, ordering: .relaxed)
            if n & 0x3ff == 0 { sched_yield() }
        }
        trueReads.deallocate()
    }
    func join() { pthread_join(thread, nil) }
}

/// Flips `branchFlag` `rounds` times (more until each reader has read meanwhile, at most 10 s) while two
/// threads read it; checks every settled read, and that the sites take the branch form where the
/// engine patches (the first byte of some site is `jmp`'s E9 while the key is false and while it is true).
func flipBranchFlagUnderReaders(rounds: Int) {
    let stop = UnsafeMutablePointer<Atomic<Bool>>.allocate(capacity: 1)
    stop.initialize(to: Atomic(false))
    branchFlag = false
    var jumpsWhile: [Bool: Bool] = [:]
    /// Whether a call site of the key (one followed by `test $1,%al` or `test %al,%al`; the getter's tail
    /// site is a jump in every state) holds a `jmp`.
    func sitesHoldJumps() -> Bool {
        (StaticCalls.report()["branchFlag"]?.patchedSites ?? []).contains { address in
            let bytes = UnsafePointer<UInt8>(bitPattern: address)!
            return bytes[0] == 0xe9 && ((bytes[5] == 0xa8 && bytes[6] == 0x01) || (bytes[5] == 0x84 && bytes[6] == 0xc0))
        }
    }
    jumpsWhile[false] = sitesHoldJumps()
    let readers = [BranchReader(stop: stop), BranchReader(stop: stop)]
    readers.forEach { $0.start() }
    while readers.contains(where: { $0.reads.load(ordering: .relaxed) == 0 }) { sched_yield() }
    let readsBefore = readers.map { $0.reads.load(ordering: .relaxed) }
    let readsSince = { zip(readers, readsBefore).map { $0.reads.load(ordering: .relaxed) - $1 } }
    let begun = monotonicSeconds()
    var n = 0
    while n < rounds || (readsSince().contains(0) && monotonicSeconds() - begun < 10) {
        flipsStarted.store(n + 1, ordering: .releasing)
        branchFlag = n % 2 == 0
        flipsFinished.store(n + 1, ordering: .releasing)
        if n == 0 { jumpsWhile[true] = sitesHoldJumps() }
        n += 1
        // Every 100 flips, let each reader make a read no flip overlaps (at most 1 s), so that there are
        // settled reads to check even when the readers share the CPUs with this thread.
        if n % 100 == 0 {
            let before = readers.map { $0.checked.load(ordering: .relaxed) }
            let waited = monotonicSeconds()
            while zip(readers, before).contains(where: { $0.checked.load(ordering: .relaxed) == $1 }) && monotonicSeconds() - waited < 1 { sched_yield() }
        }
    }
    let during = readsSince()
    stop.pointee.store(true, ordering: .relaxed)
    readers.forEach { $0.join() }
    branchFlag = false
    check(during.allSatisfy { $0 > 0 }, "both threads read branchFlag while it flipped (\(during) reads)")
    let settled = readers.map { $0.checked.load(ordering: .relaxed) }
    check(readers.allSatisfy { $0.wrong == 0 } && settled.allSatisfy { $0 >= n / 100 },
          "zero wrong reads of branchFlag under \(n) flips (\(readers.map(\.wrong)) wrong of \(settled) settled reads)")
    #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
    let instrumented = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_func_entry") != nil
    if StaticCalls.mode == .inline && !instrumented {
        check(jumpsWhile[false] == true && jumpsWhile[true] == true,
              "a branchFlag site is one jmp to the side its value takes, false and true (\(jumpsWhile))")
    }
    #endif
}
