import BenchmarkCases

/// Replaces `dynamicWork` at load time, so that the call case goes through a real replacement.
@_dynamicReplacement(for: dynamicWork(_:)) // the mechanism under measurement
public func replacedDynamicWork(_ x: Int) -> Int { work(x) }
