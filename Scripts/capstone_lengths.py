#!/usr/bin/env python3
"""Capstone's x86-64 instruction lengths, for the decoder tests in Tests/MachineCodeTests/DecoderCapstoneTests.swift.

Capstone (pip package `capstone`) is a second decoder oracle beside objdump, written by neither us nor
binutils. The Swift test calls this script once per library (and once for all its random byte strings);
input and output are little-endian binary files, so a million instructions cost one process.

    capstone_lengths.py info
        Prints `capstone <version>` and `python-code <path>`: the ELF file holding this interpreter's
        compiled code (libpython when it is built shared, else the executable). Exits 3, printing
        nothing to stdout, when capstone cannot be imported.

    capstone_lengths.py functions IN OUT
        IN:  records of  u32 code size, u32 n, n x u8 (our decoder's lengths from the function start),
             code bytes.
        OUT: per record  u32 m, m x u32 offset, m x u8 length  -- capstone's linear sweep from offset 0.
             Length 0 marks an offset where capstone decodes nothing; the sweep resumes after OUR
             instruction there (the n lengths), or the record ends when we have none there either.

    capstone_lengths.py single IN OUT
        IN:  records of  u8 size, bytes.
        OUT: one u8 per record: the length of capstone's first instruction, 0 when it decodes none.

    capstone_lengths.py effects IN OUT
        IN:  records of  u8 size, bytes (one instruction).
        OUT: five u8 per record, for the def-use facts of X86.effects (Tests/MachineCodeTests/
             EffectsCapstoneTests.swift): decoded (0/1); reads any part of %rax (explicit or implicit);
             writes %eax or %rax; the arithmetic flags it tests; the flags it modifies, sets, resets or
             leaves undefined. Flags as bits: CF 1, PF 2, AF 4, ZF 8, SF 16, OF 32.
"""
import struct
import sys
from array import array

try:
    import capstone
except ImportError:
    sys.stderr.write("capstone is not importable: python3 -m pip install capstone\n")
    sys.exit(3)


def disassembler():
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = False
    md.skipdata = False
    return md


def info():
    try:
        from importlib.metadata import version
        cs_version = version("capstone")
    except Exception:
        cs_version = getattr(capstone, "__version__", "unknown")
    print("capstone", cs_version)
    import os
    import sysconfig
    code = os.path.realpath(sys.executable)
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        soname = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY") or ""
        candidate = os.path.join(libdir, soname)
        if soname and os.path.exists(candidate):
            code = os.path.realpath(candidate)
    print("python-code", code)


def functions(source, destination):
    md = disassembler()
    data = open(source, "rb").read()
    out = open(destination, "wb")
    position = 0
    while position < len(data):
        size, n = struct.unpack_from("<II", data, position)
        position += 8
        ours = data[position:position + n]
        position += n
        code = data[position:position + size]
        position += size
        our_length_at = {}
        offset = 0
        for length in ours:
            our_length_at[offset] = length
            offset += length
        offsets = array("I")
        lengths = bytearray()
        start = 0
        while start < size:
            end = start
            for address, length, _, _ in md.disasm_lite(code[start:], start):
                offsets.append(address)
                lengths.append(length)
                end = address + length
            if end >= size:
                break
            offsets.append(end)  # capstone decodes nothing here
            lengths.append(0)
            ours_here = our_length_at.get(end)
            if not ours_here:
                break
            start = end + ours_here
        if sys.byteorder != "little":
            offsets.byteswap()
        out.write(struct.pack("<I", len(lengths)))
        out.write(offsets.tobytes())
        out.write(lengths)
    out.close()


def byte_strings(source):
    """The records of a `single` or `effects` request: u8 size, then that many bytes."""
    data = open(source, "rb").read()
    position = 0
    while position < len(data):
        size = data[position]
        yield data[position + 1:position + 1 + size]
        position += 1 + size


def single(source, destination):
    md = disassembler()
    result = bytearray()
    for code in byte_strings(source):
        first = next(md.disasm_lite(code, 0, 1), None)
        result.append(first[1] if first else 0)
    open(destination, "wb").write(result)


RAX_PARTS = {"rax", "eax", "ax", "al", "ah"}


def flag_mask(eflags, kinds):
    from capstone import x86_const
    mask = 0
    for bit, name in ((1, "CF"), (2, "PF"), (4, "AF"), (8, "ZF"), (16, "SF"), (32, "OF")):
        for kind in kinds:
            if eflags & getattr(x86_const, "X86_EFLAGS_%s_%s" % (kind, name), 0):
                mask |= bit
    return mask


def effects(source, destination):
    md = disassembler()
    md.detail = True
    result = bytearray()
    for code in byte_strings(source):
        insn = next(md.disasm(code, 0, 1), None)
        if insn is None:
            result += bytes(5)
            continue
        read, written = insn.regs_access()
        read = {insn.reg_name(r) for r in read}
        written = {insn.reg_name(r) for r in written}
        result += bytes([1, 1 if read & RAX_PARTS else 0, 1 if written & {"rax", "eax"} else 0,
                         flag_mask(insn.eflags, ("TEST",)),
                         flag_mask(insn.eflags, ("MODIFY", "SET", "RESET", "UNDEFINED"))])
    open(destination, "wb").write(result)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "info":
        info()
    elif mode == "functions" and len(sys.argv) == 4:
        functions(sys.argv[2], sys.argv[3])
    elif mode == "single" and len(sys.argv) == 4:
        single(sys.argv[2], sys.argv[3])
    elif mode == "effects" and len(sys.argv) == 4:
        effects(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
