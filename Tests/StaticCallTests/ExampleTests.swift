import Foundation
@testable import StaticCall
import StaticCallTestSupport
import Testing

/// The programs of Examples/ run as a user runs them (`swift run example-…`), in each mode, and check
/// their own results; here they must exit 0 and say what the runtime did.
@Suite("Examples: each program runs and checks itself, in each mode")
struct ExampleTests {
    struct Run: CustomTestStringConvertible, Sendable {
        var program: String
        var indirect: Bool
        /// Lines the program prints when it works: in inline mode with the engine, the patched sites too.
        var expected: [String]
        var testDescription: String { "\(program)\(indirect ? " (STATICCALL_MODE=indirect)" : "")" }
    }

    static let runs: [Run] = [false, true].flatMap { indirect -> [Run] in
        let inline = Engine.isBuilt && !indirect
        return [
            Run(program: "example-cpu-dispatch", indirect: indirect,
                expected: ["newlines in 64 buffers", inline ? "inline mode" : "indirect mode"]),
            Run(program: "example-tracing-hook", indirect: indirect,
                expected: ["tracing on: 200 events, first request.start=0, last request.end=",
                           "  request 7: the sum of 1...8 is 36",
                           "tracing off again: 202 events in all",
                           inline ? "trace points are NOPs (inline mode)" : "trace points are NOPs (indirect mode)"]),
        ]
    }

    @Test(arguments: runs)
    func exampleRunsAndChecksItself(_ run: Run) async throws {
        let binary = try IntegrationBinary.build(run.program).get()
        let result = await runProgram(binary, [], environment: run.indirect ? ["STATICCALL_MODE": "indirect"] : [:], timeout: 300)
        #expect(result.status == 0 && !result.signaled && !result.timedOut,
                "\(run.testDescription): exit \(result.status)\(result.signaled ? " (signal)" : "")\n\(result.output.suffix(4000))")
        for line in run.expected {
            #expect(result.output.contains(line), "\(run.testDescription): no \"\(line)\" in\n\(result.output.suffix(4000))")
        }
        // With the engine in inline mode, every site the runtime found is patched ("N of N", N > 0);
        // in indirect mode, none is.
        let counts = result.output.matches(of: /(\d+) of (\d+) (call sites patched|trace points are NOPs)/)
            .map { (Int($0.output.1)!, Int($0.output.2)!) }
        #expect(!counts.isEmpty, "\(run.testDescription): no site counts in\n\(result.output)")
        for (patched, found) in counts {
            if Engine.isBuilt && !run.indirect {
                #expect(found > 0 && patched == found, "\(run.testDescription):\n\(result.output)")
            } else {
                #expect(patched == 0, "\(run.testDescription):\n\(result.output)")
            }
        }
    }
}
