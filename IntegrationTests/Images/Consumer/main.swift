// A key declared in a `.dynamic` library product (libStaticCallTestDynamicKeys.so, with its own copy of
// StaticCall), called from this executable of another package (through the PLT, and through code inlined
// from the library), while this executable's own copy of StaticCall serves its own key. One runtime must
// serve both: one report lists every key with all its sites, updates from either side reach every site.
#if canImport(Glibc)
import Glibc
#endif
import DynamicKeys
import StaticCall
import Synchronization

nonisolated(unsafe) var passed = 0
nonisolated(unsafe) var failed = 0
func check(_ condition: Bool, _ what: String) {
    if condition { passed += 1; print("PASS: \(what)") } else { failed += 1; print("FAIL: \(what)") }
}

@StaticCall func exeScale(_ x: Int) -> Int { x &* 2 }
@inline(never) func exeScaleInExecutable(_ x: Int) -> Int { exeScale(x) }
@inline(never) func times7(_ x: Int) -> Int { x &* 7 }
@inline(never) func times11(_ x: Int) -> Int { x &* 11 }

final class Box: Sendable {
    let stop = Atomic<Bool>(false)
    let wrong = Atomic<Int>(0)
    let calls = Atomic<Int>(0)
}

// Everything runs in a nonisolated function: in Swift 6 mode, a closure written in top-level code is
// main-actor isolated, and `$key.update { f($0) }` there makes a target that traps (an isolation check)
// when another thread calls it.
func run() {
    check(dynScale(2) == 6 && dynScaleInLibrary(2) == 6 && dynScaleInlined(2) == 7, "the library's key at its default, from both images")
    check(exeScaleInExecutable(2) == 4, "the executable's own key at its default")
    try? StaticCalls.patchAll()

    let fromExecutable = StaticCalls.report()
    let fromLibrary = libraryReport()
    check(fromExecutable["dynScale(_:)"] != nil && fromExecutable["exeScale(_:)"] != nil,
          "the executable's report lists the library's key and its own")
    check(fromLibrary["dynScale(_:)"] != nil && fromLibrary["exeScale(_:)"] != nil,
          "the library's report lists them too: one runtime serves both copies")
    if let key = fromExecutable["dynScale(_:)"] {
        check(key.sitesFound > 0 && key.sitesFound == fromLibrary["dynScale(_:)"]?.sitesFound, "one list of the library key's sites (\(key.sitesFound))")
        if StaticCalls.mode == .inline {
            check(key.sitesPatched == key.sitesFound, "the library key's sites are patched (\(key.sitesPatched)/\(key.sitesFound))")
        }
    }

    // Updated from this executable to a function of this executable: out of rel32 reach of the library's
    // sites, so they call it through stubs.
    $dynScale.update { times7($0) }
    check(dynScale(2) == 14 && dynScaleInLibrary(2) == 14 && dynScaleInlined(2) == 15, "updated from the executable: every call site of both images")
    if StaticCalls.mode == .inline {
        let key = StaticCalls.report()["dynScale(_:)"]
        check(key.map { $0.sitesFound > 0 && $0.sitesPatched == $0.sitesFound } == true,
              "every library site reaches the executable's function (through stubs) \(key.map { "\($0.sitesPatched)/\($0.sitesFound)" } ?? "")")
    }
    updateFromLibrary() // the library's own code updates its key (times 5)
    check(dynScale(2) == 10 && dynScaleInLibrary(2) == 10 && dynScaleInlined(2) == 11, "updated from the library")
    dynFlagEnable()
    check(dynFlag && dynFlagInLibrary(), "the library's static key enabled from the library, read from both images")
    $exeScale.update { times11($0) }
    check(exeScaleInExecutable(2) == 22, "the executable's own key updated")

    // Two threads call through both images while this one updates.
    let box = Box()
    var threads: [pthread_t] = []
    for _ in 0..<2 {
        var t = pthread_t()
        pthread_create(&t, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue()
            var n = 0
            while !box.stop.load(ordering: .relaxed) {
                let a = dynScaleInLibrary(3), b = dynScaleInlined(3)
                if ![15, 21].contains(a) || ![16, 22].contains(b) { box.wrong.wrappingAdd(1, ordering: .relaxed) }
                box.calls.wrappingAdd(2, ordering: .relaxed)
                // Every 256 rounds, let another thread of this CPU run: one that faulted while a page
                // remap moved the text holds the mapping lock once it is woken, and would otherwise wait
                // behind this loop until the next scheduler tick, with the updater waiting behind it.
                n &+= 1
                if n & 0xff == 0 { sched_yield() }
            }
            return nil
        }, Unmanaged.passUnretained(box).toOpaque())
        threads.append(t)
    }
    // The updates start once the threads are calling, and the calls must go on while they run.
    while box.calls.load(ordering: .relaxed) == 0 { sched_yield() }
    let callsBefore = box.calls.load(ordering: .relaxed)
    // 2000 updates, and more until the threads have called meanwhile (indirect-mode updates can all
    // finish while they wait for a CPU), for at most 10 s.
    var started = timespec(), now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &started)
    var i = 0
    while i < 2000 || box.calls.load(ordering: .relaxed) == callsBefore {
        if i % 2 == 0 { $dynScale.update { times7($0) } } else { updateFromLibrary() }
        i += 1
        clock_gettime(CLOCK_MONOTONIC, &now)
        if now.tv_sec - started.tv_sec > 10 { break }
    }
    let callsDuring = box.calls.load(ordering: .relaxed) - callsBefore
    box.stop.store(true, ordering: .relaxed)
    for t in threads { pthread_join(t, nil) }
    check(callsDuring > 0, "the threads called while the 2000 updates ran (\(callsDuring) calls)")
    check(box.wrong.load(ordering: .relaxed) == 0, "2000 updates from both images while two threads call: \(box.wrong.load(ordering: .relaxed)) wrong results")
}

run()
print("\(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
