import MachineCode
import Testing

@Suite("procfs parsers")
struct ProcFilesTests {
    @Test func mapsLineGivesRangeProtectionFileAndOffset() throws {
        let r = try #require(MappedRegion(line: "7f2a1c021000-7f2a1c0a3000 r-xp 00021000 fe:01 1234567                    /usr/lib/x86_64-linux-gnu/libc.so.6"))
        #expect(r.start == 0x7f2a1c021000 && r.end == 0x7f2a1c0a3000)
        #expect(r.readable && !r.writable && r.executable && r.isPrivate)
        #expect(r.offset == 0x21000 && r.deviceMajor == 0xfe && r.deviceMinor == 1 && r.inode == 1234567)
        #expect(r.path == "/usr/lib/x86_64-linux-gnu/libc.so.6")
        #expect(r.contains(0x7f2a1c021000) && !r.contains(0x7f2a1c0a3000))
    }

    @Test func mapsLineKeepsSpacesAndDeletedMarkInPaths() throws {
        let r = try #require(MappedRegion(line: "1000-2000 r-xp 00000000 08:02 99 /tmp/my dir/app (deleted)"))
        #expect(r.path == "/tmp/my dir/app (deleted)")
        let anonymous = try #require(MappedRegion(line: "1000-2000 rw-s 00000000 00:00 0 "))
        #expect(anonymous.path.isEmpty && !anonymous.isPrivate && anonymous.inode == 0)
    }

    @Test func malformedMapsLinesAreRejected() {
        for line in ["", "zz-1000 r-xp 0 fe:00 1 /x", "2000-1000 r-xp 0 fe:00 1 /x", "1000-2000 r-x 0 fe:00 1 /x",
                     "1000-2000 r-xp 0 fe00 1 /x", "1000-2000 r-xp 0 fe:00", "1000-2000 r-xp 0 fe:00 -1 /x"] {
            #expect(MappedRegion(line: Substring(line)) == nil, "\(line)")
        }
        #expect(MappedRegion.parse("1000-2000 r-xp 0 fe:00 1 /a\ngarbage\n3000-4000 r--p 0 fe:00 1 /a\n").count == 2)
    }

    @Test func statusGivesTracerAndBlockedSignals() {
        let status = ProcessStatus(text: "Name:\tx\nTracerPid:\t4242\nSigPnd:\t0000000000000000\nSigBlk:\t0000000000000010\nSigIgn:\t0\n")
        #expect(status.tracerPid == 4242)
        #expect(status.blocks(5))   // SIGTRAP is bit 4
        #expect(!status.blocks(4) && !status.blocks(0) && !status.blocks(65))
        let everything = ProcessStatus(text: "SigBlk:\tfffffffe7ffbfeff\n")
        #expect(everything.blocks(5) && everything.tracerPid == nil)
        #expect(!ProcessStatus(text: "no fields here").blocks(5))
    }
}
