// Case group "log" (#16): a trace statement in a loop that does real work, through swift-log's Logger and
// through StaticLogger, off and on, against the same loop without the statement (what swift-log's
// MaxLogLevel traits compile a statement below their level to: nothing). And the packet loop of
// apple/swift-log#377: a trace statement per packet.
import CBenchmarkCases
import Logging
import StaticCallLogging

/// A handler that writes nothing: the rows measure the statement's gate and call, not an output.
struct NullLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { logSink &+= Int(event.line) }
}

/// swift-log as #377 measures it: the handler's level (`.info`) turns trace statements off.
let plainLogger = Logger(label: "bench") { _ in NullLogHandler(logLevel: .info) }
/// The same handler behind StaticLogger: the ceiling (`StaticLogLevels.minimumLevel`, `.info`) turns
/// trace statements off before the Logger is touched.
let staticLogger = StaticLogger(Logger(label: "bench") { _ in NullLogHandler(logLevel: .info) })

@_silgen_name("staticbench_log_none")
@inline(never)
public func logNone(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= cstaticbench_work(i) }
    return s
}

@_silgen_name("staticbench_log_plain_off")
@inline(never)
public func logPlainOff(_ n: Int) -> Int {
    let logger = plainLogger // as a handler holds its logger: a stored value, not a lazy global
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        logger.trace("work", metadata: ["i": "\(i)"])
    }
    return s
}

@_silgen_name("staticbench_log_static_off")
@inline(never)
public func logStaticOff(_ n: Int) -> Int {
    let logger = staticLogger
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        logger.trace("work", metadata: ["i": "\(i)"])
    }
    return s
}

@_silgen_name("staticbench_log_plain_on")
@inline(never)
public func logPlainOn(_ n: Int) -> Int {
    let logger = plainLogger // as a handler holds its logger: a stored value, not a lazy global
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        logger.info("work")
    }
    return s
}

@_silgen_name("staticbench_log_static_on")
@inline(never)
public func logStaticOn(_ n: Int) -> Int {
    let logger = staticLogger
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        logger.info("work")
    }
    return s
}

// MARK: The task-local logger (swift-log's Logger.current, bound by withLogger).

@_silgen_name("staticbench_log_current_plain_off")
@inline(never)
public func logCurrentPlainOff(_ n: Int) -> Int {
    withLogger(plainLogger) { _ in
        var s = 0
        for i in 0..<n {
            s &+= cstaticbench_work(i)
            Logger.current.trace("work", metadata: ["i": "\(i)"])
        }
        return s
    }
}

@_silgen_name("staticbench_log_current_static_off")
@inline(never)
public func logCurrentStaticOff(_ n: Int) -> Int {
    withLogger(plainLogger) { _ in
        var s = 0
        for i in 0..<n {
            s &+= cstaticbench_work(i)
            StaticLogger.current.trace("work", metadata: ["i": "\(i)"])
        }
        return s
    }
}

// MARK: The packet loop of apple/swift-log#377: a trace statement per packet.

@_silgen_name("staticbench_logpackets_none")
@inline(never)
public func logPacketsNone(_ n: Int) -> Int {
    let store = packetStore
    var acc = 0
    for k in 0..<n {
        let p = store[k & 4095]
        let (length, _) = parseHeader(p)
        acc &+= Int(scalarChecksum(p)) &+ length
    }
    return acc
}

@_silgen_name("staticbench_logpackets_plain")
@inline(never)
public func logPacketsPlain(_ n: Int) -> Int {
    let store = packetStore, logger = plainLogger
    var acc = 0
    for k in 0..<n {
        let p = store[k & 4095]
        let (length, ports) = parseHeader(p)
        logger.trace("packet", metadata: ["length": "\(length)", "ports": "\(ports)"])
        acc &+= Int(scalarChecksum(p)) &+ length
    }
    return acc
}

@_silgen_name("staticbench_logpackets_static")
@inline(never)
public func logPacketsStatic(_ n: Int) -> Int {
    let store = packetStore, logger = staticLogger
    var acc = 0
    for k in 0..<n {
        let p = store[k & 4095]
        let (length, ports) = parseHeader(p)
        logger.trace("packet", metadata: ["length": "\(length)", "ports": "\(ports)"])
        acc &+= Int(scalarChecksum(p)) &+ length
    }
    return acc
}
