// With MaxLogLevelInfo set on StaticCall by this package, trace and debug statements are compiled out
// of StaticLogger and of swift-log's Logger alike; info statements stay.
import Logging
import StaticCallLogging
import Synchronization

final class Counts: Sendable { let events = Mutex<[String]>([]) }
struct Recording: LogHandler {
    let counts: Counts
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { nil } set {} }
    func log(event: LogEvent) { counts.events.withLock { $0.append("\(event.level)") } }
}
let counts = Counts()
let plain = Logger(label: "c") { _ in Recording(counts: counts) }
let logger = StaticLogger(plain)
StaticLogLevels.minimumLevel = .trace
logger.trace("t"); logger.debug("d"); logger.info("i")
plain.trace("t"); plain.debug("d"); plain.info("i")
let seen = counts.events.withLock { $0 }
print(seen)
precondition(seen == ["info", "info"], "with MaxLogLevelInfo set on StaticCall as a dependency, trace and debug must be compiled out of StaticLogger and Logger")
print("ok")
