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
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_same_00_0123456789abcdef", canBelongTo: "same_00(_:)"))
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_Outer_Inner_run_0123456789abcdef", canBelongTo: "Outer.Inner.run()"))
        // Exact, never a suffix: another type's method, a longer name, a static key of the same name,
        // and a hand-written symbol without the hash are not this key's.
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_Other_encode_0123456789abcdef", canBelongTo: "Codec.encode(_:)"))
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_fast_encode_0123456789abcdef", canBelongTo: "encode(_:)"))
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_key_encode_0123456789abcdef", canBelongTo: "encode(_:)"))
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_encode_0123456789abcdef", canBelongTo: "encode"))
        #expect(!TrampolineSymbol.symbol("__dtrace_staticcall_IntegrationMain_enabled", canBelongTo: "enabled()"))
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_key_down_0123456789abcdef", canBelongTo: "down"))
        // `@StaticCall func key_down()` gets the same form as the static key `down`: both match, and only
        // one of them is ever among a thunk's targets (each hash is the declaration's own).
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_key_down_0123456789abcdef", canBelongTo: "key_down()"))
        #expect(TrampolineSymbol.symbol("__dtrace_staticcall_key_down_0123456789abcdef", canBelongTo: "Keys.down"))
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
        let lookup: (UInt64) -> [String] = { symbols[$0].map { [$0] } ?? [] }
        #expect(TrampolineSymbol.trampoline(of: "checksum(_:)", among: [0x100, 0x200, 0x300], symbolsAt: lookup) == 0x200)
        #expect(TrampolineSymbol.trampoline(of: "checksum(_:)", among: [0x100, 0x400], symbolsAt: lookup) == nil)
        // Two same-named trampolines (two files) among the targets: ambiguous, so none.
        #expect(TrampolineSymbol.trampoline(of: "checksum(_:)", among: [0x200, 0x500], symbolsAt: lookup) == nil)
        // Two keys' trampolines merged at one address: neither key gets it.
        let merged: (UInt64) -> [String] = { $0 == 0x200 ? ["__dtrace_staticcall_checksum_83266af3f981d9fc", "__dtrace_staticcall_crc_0123456789abcdef"] : [] }
        #expect(TrampolineSymbol.trampoline(of: "checksum(_:)", among: [0x200], symbolsAt: merged) == nil)
    }

    /// Names the optimizer gave copies of a trampoline (a bare-protocol parameter, -O).
    @Test func specializedCopiesNameTheTrampolineTheyWereMadeFrom() {
        #expect(TrampolineSymbol.specializedTrampoline("$s45__dtrace_staticcall_bareArea_15bc72c3e2bec48fTf4e_n") == "__dtrace_staticcall_bareArea_15bc72c3e2bec48f")
        #expect(TrampolineSymbol.specializedTrampoline("$s45__dtrace_staticcall_bareArea_15bc72c3e2bec48fTf4e_n8MacroLib6SquareV_Tg5") == "__dtrace_staticcall_bareArea_15bc72c3e2bec48f")
        #expect(TrampolineSymbol.specializedTrampoline("$s50__dtrace_staticcall_bareArea_15bc72c3e2bec48f_slowTf4e_n") == nil) // a slow path's copy
        #expect(TrampolineSymbol.specializedTrampoline("__dtrace_staticcall_bareArea_15bc72c3e2bec48f") == nil)
        #expect(TrampolineSymbol.specializedTrampoline("$s17CoverageKeysOnone5scaleyS2iF") == nil)
        #expect(TrampolineSymbol.specializedTrampoline("$s45__dtrace_staticcall_bareArea_15bc72c3e2bec48f") == nil) // no suffix: not a copy
        #expect(TrampolineSymbol.specializedTrampoline("$s99__dtrace_staticcall_x") == nil) // a length past the end
    }

    /// Names from an -Onone build (IntegrationTests/Images/Coverage): the closures that hand out a
    /// trampoline's address are thunks; the forwarder and the getter that call it are call sites.
    @Test func registrationThunksAreKnownByTheClosuresTheMacrosWrite() {
        #expect(TrampolineSymbol.isRegistrationThunk("$s17CoverageKeysOnone20_staticcallKey_scaleV17trampolineAddress33_EA0ECBD218E084C73EEBFBBE9B6F7570LLSuyFZS2icfU_"))
        #expect(TrampolineSymbol.isRegistrationThunk("$s17CoverageKeysOnone5CodecO21_staticcallKey_encodeV17trampolineAddress33_EA0ECBD218E084C73EEBFBBE9B6F7570LLSuyFZS2icfU_"))
        #expect(TrampolineSymbol.isRegistrationThunk("$s17CoverageKeysOnone26_statickeyRegister_verboseyyFSbycfU_"))
        #expect(!TrampolineSymbol.isRegistrationThunk("$s17CoverageKeysOnone5scaleyS2iF"))
        #expect(!TrampolineSymbol.isRegistrationThunk("$s17CoverageKeysOnone5CodecO6encodeyS2iFZ"))
        #expect(!TrampolineSymbol.isRegistrationThunk("$s17CoverageKeysOnone7verboseSbvg"))
        #expect(!TrampolineSymbol.isRegistrationThunk("__dtrace_staticcall_scale_53b8e04b4ff6a10e"))
        // Mangled names compress repeated words: in a module named `staticcall_…` the key type
        // `_staticcallKey_maxBatch` is `01_A12Key_maxBatch`, `_statickeyRegister_` is `01_A17Register_`
        // (names from the macro integration program, -O).
        #expect(TrampolineSymbol.isRegistrationThunk("$s28staticcall_macro_integration01_A12Key_maxBatchV17trampolineAddress33_2288F32F1C531329EDB14A8A6B5D7731LLSuyFZSiycfU_"))
        #expect(!TrampolineSymbol.isRegistrationThunk("$s28staticcall_macro_integration01_A17Register_maxBatchyyFSiycfU_")) // a @StaticCall's register closure: the record's, not a thunk
        #expect(SwiftSymbols.demangle("$s17CoverageKeysOnone5scaleyS2iF") == "CoverageKeysOnone.scale(Swift.Int) -> Swift.Int")
        #expect(SwiftSymbols.demangle("__dtrace_staticcall_scale_53b8e04b4ff6a10e") == nil)
    }
}
