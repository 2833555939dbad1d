#!/usr/bin/env bash
# Site discovery time against text size: for each size, generate a shared object with that much text
# (assembly with unwind info, a call to `sc_trampoline` in every 64th function, false E8/E9 bytes in
# immediates), dlopen it in the release-built tool, and time the discovery the runtime runs on a key's
# first use (unwind index, byte scan, proof of each candidate), 20 times in each of three passes over all
# the objects. Prints a Markdown table.
#
#   bash Benchmarks/discovery.sh [megabytes ...]      (default: 1 2 5 10 20)
#
# A last row does the same over the toolchain's libswiftCore.so, real compiler output.
set -euo pipefail
cd "$(dirname "$0")"
command -v gcc >/dev/null || { echo "discovery.sh: gcc is needed to assemble the generated objects" >&2; exit 1; }
swift build --package-path .. --product staticcall >/dev/null # the macro plugin (Package.swift)
swift build -c release --product staticcall-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/staticcall-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The share of E8/E9 bytes in a file: every one is a candidate the scan must look at.
density() { python3 -c "import sys; d=open(sys.argv[1],'rb').read(); print('%.2f %%' % (100.0*sum(1 for b in d if b in (0xe8,0xe9))/len(d)))" "$1"; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 2 5 10 20)
# Every object is measured in three passes over all of them, and its row is the pass with the middle
# median: this VM's speed swings for seconds at a time (one pass of one object takes a fraction of a
# second), which a single pass reports as that object's cost.
passes=${PASSES:-3}
[[ $passes =~ ^[0-9]*[13579]$ ]] || { echo "discovery.sh: PASSES must be an odd number (there is then one middle pass)" >&2; exit 1; }
objects=()
for mb in "${sizes[@]}"; do
    python3 make-large-object.py "$mb" 64 12 > "$work/large$mb.s"
    gcc -shared -nostdlib -Wl,--eh-frame-hdr -o "$work/large$mb.so" "$work/large$mb.s"
    rm "$work/large$mb.s"
    objects+=("$work/large$mb.so:sc_trampoline")
done
# Real compiler output: the Swift runtime, scanned for its direct calls to swift_retain (thousands of
# candidates, each proven by decoding its function from the start).
core=$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift/linux/libswiftCore.so
[ -f "$core" ] && objects+=("$core:swift_retain")
for pass in $(seq "$passes"); do
    for k in "${!objects[@]}"; do
        # The unproven candidates' reasons go to stderr (kept for the last pass's print below); a
        # failure's message too.
        if ! "$bin" discovery "${objects[$k]%:*}" "${objects[$k]##*:}" 2>"$work/err$k" >> "$work/rows$k"; then
            cat "$work/err$k" >&2
            exit 1
        fi
    done
done
echo "| executable MB | sites proven | unproven | median ms | min ms | byte scan ms | ms per 10 MB | E8/E9 bytes |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for k in "${!objects[@]}"; do
    file=${objects[$k]%:*}
    # The pass whose median (column 5 of the row) is the middle one.
    row=$(LC_ALL=C sort -t'|' -k5,5g "$work/rows$k" | sed -n "$(( (passes + 1) / 2 ))p")
    cat "$work/err$k" >&2
    [ "$file" = "$core" ] && row="${row/|/| libswiftCore.so (swift_retain):}"
    echo "$row $(density "$file") |"
done
