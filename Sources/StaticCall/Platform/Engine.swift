/// Whether this build has the patching engine (site discovery, text writers, the INT3 protocol): x86-64
/// Linux with glibc. Every other platform, and a build with the package trait ForcePortable (which
/// defines `STATICCALL_FORCE_PORTABLE` so that this branch is compiled and tested on Linux too), has the
/// portable implementation: indirect mode, same semantics. The sources' `#if` conditions spell out the
/// same test; the C shim's is `CSTATICCALL_ENGINE` (Engine.h).
enum Engine {
    #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
    static let isBuilt = true
    #else
    static let isBuilt = false
    #endif
}
