#!/usr/bin/env python3
"""The coverage table (COVERAGE.md): which call sites the compiler emits in each code shape, and which of
them the runtime finds and patches.

For each shape (IntegrationTests/Images/Package.swift, `coverageShapes`) the one program of
IntegrationTests/Images/Coverage is built with that shape's flags. This script

  1. runs it in inline mode and with STATICCALL_MODE=indirect: it checks every caller's result in every
     state of every key and prints its report (`REPORT {json}`) and load bias (`BIAS n`);
  2. lists, with objdump (an oracle nobody here wrote), every branch instruction of the binary whose
     target is a key's trampoline: the sites the compiler emitted (the registration thunk's own jump
     excluded: it is not a call site of the program);
  3. compares: the runtime must find exactly those sites, and `staticcall sites` (the offline analysis)
     must list the same ones;

and writes the table. With --check it fails (exit 1) when a result is wrong, when the runtime or
`staticcall sites` does not see exactly the sites objdump sees, or when any shape leaves a site unpatched.

    python3 Scripts/coverage.py [--check] [--write COVERAGE.md]

It builds what it needs (`swift build --package-path IntegrationTests/Images`, and the root package's
`staticcall` tool, both debug: the shapes set their own optimization flags).
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "IntegrationTests", "Images")

# name, flags of the library that declares the keys, flags of the program; as in the package manifest
# (the script fails when the package builds other shapes than these).
SHAPES = [
    ("Onone", "-Onone (debug)", "-Onone (debug)"),
    ("O", "-O, whole module", "-O, whole module"),
    ("OIncremental", "-O, incremental (batch mode)", "-O, incremental"),
    ("Osize", "-Osize, whole module", "-Osize, whole module"),
    ("OEvolution", "-O, whole module, -enable-library-evolution", "-O, whole module"),
    ("OAddressSanitizer", "-O, whole module, -sanitize=address", "-O, whole module, -sanitize=address"),
    ("OnoneCodeCoverage", "-Onone, -profile-generate -profile-coverage-mapping", "-Onone, -profile-generate -profile-coverage-mapping"),
]

TRAMPOLINE_PREFIX = "__dtrace_staticcall_"


def run(args, env=None, cwd=ROOT, stdin=None, timeout=None):
    return subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


def build():
    # The root package first: the image package's targets load the macro plugin its build makes.
    for args in (["swift", "build", "--product", "staticcall"], ["swift", "build", "--package-path", IMAGES]):
        r = run(args)
        if r.returncode != 0:
            sys.exit("coverage: `%s` failed:\n%s%s" % (" ".join(args), r.stdout[-4000:], r.stderr[-4000:]))
    images_bin = run(["swift", "build", "--package-path", IMAGES, "--show-bin-path"]).stdout.strip().splitlines()[-1]
    root_bin = run(["swift", "build", "--show-bin-path"]).stdout.strip().splitlines()[-1]
    return images_bin, os.path.join(root_bin, "staticcall")


def is_trampoline(symbol):
    return symbol.startswith(TRAMPOLINE_PREFIX) and not symbol.endswith("_slow") and symbol != TRAMPOLINE_PREFIX + "dispatch"


def library_functions(images_bin, library_module):
    """The symbols the library's own object files define (a site in one of them is in the library)."""
    directory = os.path.join(images_bin, library_module + ".build")
    objects = [os.path.join(directory, f) for f in sorted(os.listdir(directory)) if f.endswith(".o")]
    out = run(["nm", "--defined-only", "--format=posix"] + objects).stdout
    return {line.split(" ")[0] for line in out.splitlines() if " " in line}


def is_registration_thunk(demangled):
    """The closure the macros hand the runtime as a trampoline's address (read from the demangled name:
    mangled names compress repeated words)."""
    return "closure #" in demangled and (
        ("._staticcallKey_" in demangled and "trampolineAddress" in demangled) or "._statickeyRegister_" in demangled)


def demangled_names(names):
    """{mangled: demangled} by the toolchain's `swift demangle`, one name per line."""
    names = sorted(names)
    if not names:
        return {}
    out = run(["swift", "demangle"], stdin="\n".join(names) + "\n").stdout.splitlines()
    if len(out) != len(names):
        sys.exit("coverage: swift demangle returned %d lines for %d names" % (len(out), len(names)))
    return dict(zip(names, out))


def emitted_sites(binary, library):
    """Every call/jmp/jcc whose target is a trampoline symbol, from objdump: {address: (symbol, kind, where)}."""
    out = run(["objdump", "-d", "--no-show-raw-insn", "-M", "att", binary]).stdout
    function = ""
    branches = []
    header = re.compile(r"^([0-9a-f]+) <(.+)>:$")
    branch = re.compile(r"^\s*([0-9a-f]+):\s+(callq?|jmpq?|j[a-z]+)\s+[0-9a-f]+ <([^>+]+)>$")
    for line in out.splitlines():
        m = header.match(line)
        if m:
            function = m.group(2)
            continue
        m = branch.match(line)
        if m and is_trampoline(m.group(3)):
            branches.append((int(m.group(1), 16), m.group(2).rstrip("q"), m.group(3), function))
    names = demangled_names({f for _, _, _, f in branches})
    sites = {}
    for address, mnemonic, symbol, function in branches:
        # The registration thunk (a closure in a key's trampolineAddress(), or in a static key's
        # _statickeyRegister_<name>()) branches to the trampoline to hand out its address; the runtime
        # knows it from the registration and never patches it.
        if is_registration_thunk(names.get(function, function)):
            continue
        kind = {"call": "call", "jmp": "tail"}.get(mnemonic, "conditional tail (%s)" % mnemonic)
        where = "library" if function in library else "program"
        sites[address] = (symbol, kind, where)
    return sites


def symbol_part(symbol):
    """A trampoline symbol without its prefix and hash: `Codec_encode`, `key_verbose`."""
    return symbol[len(TRAMPOLINE_PREFIX):].rsplit("_", 1)[0]


def expected_symbol_part(key_name):
    """The same part of the symbol the macros give the key the report names `key_name`."""
    if "(" not in key_name:
        return "key_" + key_name.split(".")[-1]
    return re.sub(r"[^A-Za-z0-9]", "_", key_name.split("(")[0])


def offline_sites(tool, binary):
    r = run([tool, "sites", "--json", binary])
    if r.returncode != 0:
        return None, r.stderr.strip()
    doc = json.loads(r.stdout)
    return {s["address"] if isinstance(s["address"], int) else int(s["address"], 16): t["symbol"]
            for t in doc["trampolines"] for s in t["sites"]}, None


def run_program(binary, mode):
    env = dict(os.environ)
    env.pop("STATICCALL_MODE", None)
    env["LLVM_PROFILE_FILE"] = os.devnull  # the code-coverage shape's profile: not wanted
    if mode == "indirect":
        env["STATICCALL_MODE"] = "indirect"
    try:
        r = run([binary], env=env, timeout=300)
    except subprocess.TimeoutExpired:
        return {"ok": False, "report": None, "bias": 0, "summary": "timed out after 300 s", "failures": []}
    report, bias, summary = None, 0, ""
    for line in r.stdout.splitlines():
        if line.startswith("REPORT "):
            report = json.loads(line[len("REPORT "):])
        elif line.startswith("BIAS "):
            bias = int(line.split()[1])
        elif " checks, " in line:
            summary = line
    failures = [l for l in r.stdout.splitlines() if l.startswith("FAIL")]
    ok = r.returncode == 0 and report is not None and not failures
    return {"ok": ok, "report": report, "bias": bias, "summary": summary or "no summary (exit %d)" % r.returncode,
            "failures": failures + ([r.stderr.strip()[-500:]] if r.returncode != 0 and r.stderr.strip() else [])}


def address(value):
    return value if isinstance(value, int) else int(value, 16)


def analyse(shape, images_bin, tool):
    name = shape[0]
    binary = os.path.join(images_bin, "coverage-" + name)
    emitted = emitted_sites(binary, library_functions(images_bin, "CoverageKeys" + name))
    offline, offline_error = offline_sites(tool, binary)
    inline = run_program(binary, "inline")
    indirect = run_program(binary, "indirect")
    keys = []
    found_all, patched_all, reasons = set(), set(), {}
    if inline["report"]:
        bias = inline["bias"]
        for k in inline["report"]["keys"]:
            patched = {address(a) - bias for a in k["patchedSites"]}
            unpatched = {address(u["address"]) - bias: u["reason"] for u in k["unpatched"]}
            found = patched | set(unpatched)
            found_all |= found
            patched_all |= patched
            for a, why in unpatched.items():
                reasons.setdefault(why, []).append((k["name"], a))
            symbols = {emitted[a][0] for a in found if a in emitted} or {
                e[0] for e in emitted.values() if symbol_part(e[0]) == expected_symbol_part(k["name"])}
            mine = {a for a, e in emitted.items() if e[0] in symbols}
            keys.append({"name": k["name"], "mode": k["mode"], "found": len(found), "patched": len(patched),
                         "emitted": len(mine), "problem": k.get("problem"),
                         "calls": sum(1 for a in mine if emitted[a][1] == "call"),
                         "tails": sum(1 for a in mine if emitted[a][1] != "call"),
                         "program": sum(1 for a in mine if emitted[a][2] == "program")})
    emitted_set = set(emitted)
    return {
        "shape": shape, "emitted": emitted, "keys": keys, "inline": inline, "indirect": indirect,
        "found": found_all, "patched": patched_all, "reasons": reasons,
        "missed": sorted(emitted_set - found_all), "extra": sorted(found_all - emitted_set),
        "offline_agrees": offline is not None and set(offline) == emitted_set, "offline_error": offline_error,
    }


def problems(result):
    out = []
    name = result["shape"][0]
    for mode in ("inline", "indirect"):
        r = result[mode]
        if not r["ok"]:
            out.append("%s, %s mode: %s %s" % (name, mode, r["summary"], "; ".join(r["failures"][:5])))
    indirect = result["indirect"]["report"]
    if indirect and (indirect["mode"] != "indirect" or any(k["patchedSites"] for k in indirect["keys"])):
        out.append("%s: STATICCALL_MODE=indirect was not indirect (mode %s)" % (name, indirect["mode"]))
    if result["missed"]:
        out.append("%s: the runtime did not find %d emitted site(s): %s" % (name, len(result["missed"]),
                   ", ".join("0x%x %s (%s)" % (a, result["emitted"][a][0], result["emitted"][a][1]) for a in result["missed"])))
    if result["extra"]:
        out.append("%s: the runtime found %d site(s) objdump does not show: %s" % (name, len(result["extra"]),
                   ", ".join("0x%x" % a for a in result["extra"])))
    if not result["offline_agrees"]:
        out.append("%s: `staticcall sites` does not list exactly the emitted sites%s" % (
            name, (": " + result["offline_error"]) if result["offline_error"] else ""))
    if result["patched"] != set(result["emitted"]):
        out.append("%s: %d of %d emitted sites patched" % (name, len(result["patched"]), len(result["emitted"])))
    if not name.startswith("Onone"):
        # A public static key's getter is @inlinable: in every optimized shape the program's own reads of
        # the library's keys are sites of the program, not calls of one getter in the library.
        for k in result["keys"]:
            if "(" not in k["name"] and k["program"] == 0:
                out.append("%s: static key %s has no site in the program (its reads there call the library's getter)" % (name, k["name"]))
    if result["inline"]["report"] and result["inline"]["report"]["mode"] != "inline":
        out.append("%s: the process is not in inline mode (%s)" % (name, result["inline"]["report"].get("reason")))
    return out


def swift_version():
    first = run(["swift", "--version"]).stdout.splitlines() or [""]
    return first[0].strip()


def table(results):
    lines = [
        "# Coverage: code shapes and their call sites",
        "",
        "Generated by `python3 Scripts/coverage.py --write COVERAGE.md` (CI runs it with `--check`) on %s, %s, %s."
        % (datetime.date.today().isoformat(), swift_version(), platform.machine()),
        "",
        "One program (IntegrationTests/Images/Coverage) compiled in each shape: a library declaring seven keys",
        "(functions, same-named static methods of two types, a disableable `Void` hook, two static keys) with",
        "call sites of its own, and an executable calling them directly and through the library's `@inlinable`",
        "code. *Emitted* is every `call`/`jmp`/`jcc` to a trampoline in the binary as objdump disassembles it",
        "(the registration thunk's own jump aside); *found* and *patched* are the runtime's, from",
        "`StaticCalls.report()`; *offline* is whether `staticcall sites` lists exactly the emitted sites.",
        "*Results* is the program's own check of every caller in every state (default, retargeted, constants",
        "42 and 1<<40, disabled, flipped, reset), in inline mode and with `STATICCALL_MODE=indirect`.",
        "",
        "| shape (library / program) | emitted: calls + tails (in program) | found | patched | offline | results inline / indirect |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        name, lib, prog = r["shape"]
        e = r["emitted"]
        calls = sum(1 for v in e.values() if v[1] == "call")
        in_program = sum(1 for v in e.values() if v[2] == "program")
        flags = lib if lib == prog else "%s / %s" % (lib, prog)
        lines.append("| **%s**: %s | %d + %d (%d) | %d | %d | %s | %s / %s |" % (
            name, flags, calls, len(e) - calls, in_program, len(r["found"]), len(r["patched"]),
            "same" if r["offline_agrees"] else "differs",
            r["inline"]["summary"].replace(" checks, 0 failed", " checks pass") if r["inline"]["ok"] else "**FAIL**",
            "pass" if r["indirect"]["ok"] else "**FAIL**"))
    lines += [
        "",
        "*In program* counts the sites compiled into the executable: whole-module -O and -Osize inline the",
        "library's public forwarders and `@inlinable` code there (cross-module optimization); an incremental",
        "build does not, nor does a library built with library evolution (its non-`@inlinable` code stays",
        "behind its resilience boundary, and the `@inlinable` code calls the public function), so their",
        "functions' sites are in the library; a public static key's getter is `@inlinable` itself, so its",
        "reads are sites of the program in every optimized shape. -Onone has one site per key, in the key's",
        "own function.",
    ]
    lines += ["", "## Per key", "",
              "| shape | key | emitted: calls + tails (in program) | found | patched | mode |", "|---|---|---|---|---|---|"]
    for r in results:
        for k in r["keys"]:
            lines.append("| %s | `%s` | %d + %d (%d) | %d | %d | %s%s |" % (
                r["shape"][0], k["name"], k["calls"], k["tails"], k["program"], k["found"], k["patched"], k["mode"],
                (": " + k["problem"]) if k["problem"] else ""))
    lines += ["", "## Sites not patched, with the runtime's reason", ""]
    any_reason = False
    for r in results:
        for why, sites in sorted(r["reasons"].items()):
            any_reason = True
            lines.append("- %s, %s: %d site(s): %s" % (r["shape"][0], ", ".join(sorted({k for k, _ in sites})), len(sites), why))
        for a in r["missed"]:
            any_reason = True
            lines.append("- %s: 0x%x (%s to %s) emitted but not found by the runtime" % (r["shape"][0], a, r["emitted"][a][1], r["emitted"][a][0]))
    if not any_reason:
        lines.append("None: every emitted site of every shape was found and patched.")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a result is wrong or a site is missed or left unpatched")
    parser.add_argument("--write", metavar="FILE", help="write the table to FILE (else print it)")
    args = parser.parse_args()
    images_bin, tool = build()
    built = {f[len("coverage-"):] for f in os.listdir(images_bin) if f.startswith("coverage-") and "." not in f}
    if built != {shape[0] for shape in SHAPES}:
        sys.exit("coverage: the package builds the shapes %s, this script knows %s" % (sorted(built), sorted(s[0] for s in SHAPES)))
    results = [analyse(shape, images_bin, tool) for shape in SHAPES]
    text = table(results)
    if args.write:
        with open(os.path.join(ROOT, args.write) if not os.path.isabs(args.write) else args.write, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    found = [p for r in results for p in problems(r)]
    for p in found:
        print("coverage: " + p, file=sys.stderr)
    if args.check and found:
        sys.exit(1)


if __name__ == "__main__":
    main()
