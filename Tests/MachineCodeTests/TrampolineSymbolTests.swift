import MachineCode
import Testing

@Suite("Trampoline symbols: one naming rule for the runtime and `staticcall sites`")
struct TrampolineSymbolTests {
    @Test func onlyTrampolinesCountNotSlowPathsOrTheDispatchFunction() {
        #expect(TrampolineSymbol.isTrampoline("__dtrace_staticcall_checksum_83266af3f981d9fc"))
        #expect(TrampolineSymbol.isTrampoline("__dtrace_staticcall_key_tracing_1a2b3c4d5e6f7081"))
        #expect(TrampolineSymbol.isTrampoline("__dtrace_staticcall_IntegrationMain_enabled"))
        #expect(!TrampolineSymbol.isTrampoline("__dtrace_staticcall_checksum_83266af3f981d9fc_slow"))
        #expect(!TrampolineSymbol.isTrampoline("__dtrace_staticcall_dispatch"))
        #expect(!TrampolineSymbol.isTrampoline("$s8MacroLib8checksumys6UInt32VSWF"))
    }

    @Test func aSymbolBelongsOnlyToTheKeyItNames() {
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_checksum_83266af3f981d9fc", canBelongTo: "checksum(_:)"))
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_Codec_encode_0123456789abcdef", canBelongTo: "Codec.encode(_:)"))
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_key_verbose_0123456789abcdef", canBelongTo: "Logging.verbose"))
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_IntegrationMain_enabled", canBelongTo: "enabled()"))
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_checksum_83266af3f981d9fc", canBelongTo: "crc(_:)"))
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_checksum_83266af3f981d9fc_slow", canBelongTo: "checksum(_:)"))
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_mychecksum_83266af3f981d9fc", canBelongTo: "checksum(_:)"))
    }

    @Test func theTrampolineAmongAThunksTargetsIsTheOneNamedForTheKeyNeverAGuess() {
        let symbols: [UInt64: String] = [
            0x100: "__tsan_func_entry", 0x200: "__dtrace_staticcall_checksum_83266af3f981d9fc",
            0x300: "__dtrace_staticcall_checksum_83266af3f981d9fc_slow", 0x400: "__dtrace_staticcall_crc_0123456789abcdef",
            0x500: "__dtrace_staticcall_checksum_fedcba9876543210",
        ]
        let lookup: (UInt64) -> String? = { symbols[$0] }
        #expect(TrampolineSymbol.trampoline(of: "checksum(_:)", among: [0x100, 0x200, 0x300], symbolAt: lookup) == 0x200)
        #expect(TrampolineSymbol.trampoline(of: "checksum(_:)", among: [0x100, 0x400], symbolAt: lookup) == nil)
        // Two same-named trampolines (two files) among the targets: ambiguous, so none.
        #expect(TrampolineSymbol.trampoline(of: "checksum(_:)", among: [0x200, 0x500], symbolAt: lookup) == nil)
    }
}
