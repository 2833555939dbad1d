import ArgumentParser

@main
struct StaticCallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staticcall",
        abstract: "Static calls and static keys for Swift: patch call sites in the running process.",
        // Paragraphs are one line each (`\` joins the source lines): the tool wraps them to the terminal.
        discussion: """
        Exit codes: 0 success; 1 a check failed or a file cannot be analysed; 2 `sites --check` found \
        a site that would not be patched; 64 bad usage.

        Environment: STATICCALL_MODE=indirect caps the mode, STATICCALL_LOG=debug logs each patch \
        decision, STATICCALL_STATS=1 counts slow-path calls.
        """,
        subcommands: [Demo.self, Sites.self, Report.self, Selftest.self],
        defaultSubcommand: Demo.self
    )
}
