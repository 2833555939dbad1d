// `swift package staticcall-check`: the analogue of the kernel's objtool failing the build when a static
// call site cannot be handled. It builds the package's products (release by default: what ships) and
// runs `staticcall sites --check` on each executable and dynamic library, so that a team can keep
// "every site of every key is patched" true in CI.
import Foundation
import PackagePlugin

@main
struct StaticCallCheck: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var arguments = ArgumentExtractor(arguments)
        let configurationName = arguments.extractOption(named: "configuration").last ?? "release"
        let names = arguments.extractOption(named: "product")
        if arguments.remainingArguments.contains(where: { $0 == "--help" || $0 == "-h" }) {
            print(Self.usage)
            return
        }
        guard arguments.remainingArguments.isEmpty else {
            throw CheckError("unexpected arguments \(arguments.remainingArguments); \(Self.usage)")
        }
        let configuration: PackageManager.BuildConfiguration
        switch configurationName {
        case "release": configuration = .release
        case "debug": configuration = .debug
        default: throw CheckError("--configuration must be release or debug, not '\(configurationName)'")
        }
        let products: [String]
        if names.isEmpty {
            products = context.package.products.compactMap { product in
                if product is ExecutableProduct { return product.name }
                if let library = product as? LibraryProduct, library.kind == .dynamic { return product.name }
                return nil
            }
            guard !products.isEmpty else { throw CheckError("the package has no executable or dynamic library product; name one with --product") }
        } else {
            products = names
        }
        #if !(os(Linux) && arch(x86_64))
        // Call sites are patched, and analysed, in x86-64 ELF binaries only: elsewhere there is nothing
        // to check (every key runs in indirect mode there).
        print("staticcall-check: nothing to check on this platform: sites are patched on x86-64 Linux only")
        return
        #else
        let tool = try context.tool(named: "staticcall")
        var failures: [String] = []
        for product in products {
            let result = try packageManager.build(.product(product), parameters: .init(configuration: configuration, logging: .concise))
            guard result.succeeded else {
                throw CheckError("building \(product) (\(configurationName)) failed:\n\(result.logText)")
            }
            let binaries = result.builtArtifacts.filter { $0.kind == .executable || $0.kind == .dynamicLibrary }
            guard !binaries.isEmpty else { throw CheckError("\(product) built no executable or dynamic library to check") }
            for artifact in binaries {
                let (status, output) = try run(tool.url, ["sites", "--check", artifact.url.path])
                switch status {
                case 0: print("staticcall-check: \(artifact.url.lastPathComponent): every site patchable")
                case 2:
                    for line in output.split(separator: "\n") where line.contains(": site 0x") {
                        Diagnostics.error(String(line))
                    }
                    failures.append(artifact.url.lastPathComponent)
                default:
                    Diagnostics.error("staticcall sites could not analyse \(artifact.url.path): \(output)")
                    failures.append(artifact.url.lastPathComponent)
                }
            }
        }
        if !failures.isEmpty {
            throw CheckError("\(failures.count) binar\(failures.count == 1 ? "y has" : "ies have") sites that would not be patched: \(failures.joined(separator: ", "))")
        }
        #endif
    }

    /// Runs `executable`, returning its exit status and its standard error (where --check reports).
    private func run(_ executable: URL, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        // A tool killed by a signal is a failure to analyse, whatever the signal's number.
        guard process.terminationReason == .exit else { return (-1, "killed by signal \(process.terminationStatus)\n\(output)") }
        return (process.terminationStatus, output)
    }

    static let usage = """
        usage: swift package staticcall-check [--configuration release|debug] [--product NAME ...]
          Builds each product (default: every executable and dynamic library product, in release) and
          fails, with each site and its reason, when a static call site would not be patched.
        """
}

struct CheckError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
