#!/usr/bin/env python3
"""Writes an x86-64 assembly file for a shared object with at least N MB of text: many functions with
unwind info (.cfi), ordinary instructions of many encodings, calls to other functions, false E8/E9
bytes inside immediates, and a call to `sc_trampoline` in every K-th function. Used to measure site
discovery over a large binary (Benchmarks/discovery.sh).

    make-large-object.py MEGABYTES [K] [CALL_EVERY]

The defaults give about 1% E8/E9 bytes, like the Swift runtime's own text (libswiftCore: 0.84%)."""
import sys

megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 12
every = int(sys.argv[2]) if len(sys.argv) > 2 else 64
call_every = int(sys.argv[3]) if len(sys.argv) > 3 else 12
out = sys.stdout
body = [
    "    mov $0x%08x, %%eax",
    "    lea 0x%x(%%rdi,%%rsi,4), %%rcx",
    "    imul $0x%x, %%rcx, %%rdx",
    "    movabs $0x0000e8e9%08x, %%r8",
    "    add %%rdx, %%rax",
    "    vmovdqu 0x%x(%%rdi), %%ymm0",
    "    vpaddd %%ymm0, %%ymm1, %%ymm2",
    "    cmp $0x%x, %%rax",
    "    movsd 0x%x(%%rip), %%xmm0",
    "    xor %%r9d, %%r9d",
]
out.write(".text\n.globl sc_trampoline\n.protected sc_trampoline\n.type sc_trampoline,@function\nsc_trampoline:\n.cfi_startproc\n    mov %rdi, %rax\n    ret\n.cfi_endproc\n")
size = 0
i = 0
target = megabytes * 1e6
while size < target:
    out.write(".type f%d,@function\n.p2align 4\nf%d:\n.cfi_startproc\n    push %%rbp\n.cfi_def_cfa_offset 16\n.cfi_offset %%rbp, -16\n    mov %%rsp, %%rbp\n.cfi_def_cfa_register %%rbp\n" % (i, i))
    size += 4
    for k in range(24):
        line = body[(i + k) % len(body)]
        out.write((line % (((i * 7919 + k * 104729) & 0x7fffffff) % 0x1000)) + "\n" if "%x" in line or "%08x" in line else line.replace("%%", "%") + "\n")
        size += 6
        if k % call_every == call_every - 1:
            callee = "sc_trampoline" if (i % every == 0 and k == call_every - 1) else "f%d" % max(0, i - 1 - k)
            out.write("    call %s\n" % callee)
            size += 5
    out.write("    pop %rbp\n.cfi_def_cfa %rsp, 8\n    ret\n.cfi_endproc\n")
    size += 2
    i += 1
