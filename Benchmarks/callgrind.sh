#!/usr/bin/env bash
# Instructions per loop iteration of every loop case, counted by callgrind (deterministic; no hardware
# counters needed). Each case runs in its own process at two iteration counts, counting only inside its
# loop function (--toggle-collect on the loop's symbol); per iteration = difference / extra iterations,
# so start-up, registration and patching cancel out. Prints a Markdown table.
#
#   bash Benchmarks/callgrind.sh [symbol ...]        (all cases when none is given)
set -euo pipefail
cd "$(dirname "$0")"
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
swift build --package-path .. --product staticcall >/dev/null # the macro plugin (Package.swift)
swift build -c release --product staticcall-bench >/dev/null
n1=${N1:-100000}
n2=${N2:-300000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Valgrind's DWARF reader gives up on this binary's debug info ("Possibly corrupted debuginfo file"),
# so run a copy without it; the symbol table, all --toggle-collect needs, stays.
bin=$out/staticcall-bench
objcopy --strip-debug "$(swift build -c release --show-bin-path)/staticcall-bench" "$bin"
# The "far" cases' C library, found beside the binary ($ORIGIN).
cp "$(swift build -c release --show-bin-path)/libStaticCallTestTargets.so" "$out/"

count() { # mode symbol n -> instructions inside the loop function
    STATICCALL_MODE=$1 valgrind --tool=callgrind --smc-check=all --collect-atstart=no --toggle-collect="$2" \
        --callgrind-out-file="$out/cg" "$bin" run "$2" "$3" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
    awk '/^summary:/ { print $2 }' "$out/cg"
}

per_iteration() { # mode symbol
    local a b
    a=$(count "$1" "$2" "$n1")
    b=$(count "$1" "$2" "$n2")
    echo "scale=2; ($b - $a) / ($n2 - $n1)" | bc
}

if [ $# -gt 0 ]; then symbols=("$@"); else mapfile -t symbols < <("$bin" list | cut -f1); fi
echo "| group | case | mode | instructions per iteration | minus the group's first row |"
echo "|---|---|---|---:|---:|"
declare -A first
for symbol in "${symbols[@]}"; do
    line=$("$bin" list | awk -F'\t' -v s="$symbol" '$1 == s')
    group=$(cut -f2 <<<"$line")
    name=$(cut -f3 <<<"$line")
    modes=(inline)
    [ "$symbol" = staticbench_call_static ] || [ "$symbol" = staticbench_far_static ] && modes=(inline indirect)
    for mode in "${modes[@]}"; do
        n=$(per_iteration "$mode" "$symbol")
        [ -n "${first[$group]:-}" ] || first[$group]=$n
        printf "| %s | %s | %s | %s | %+.2f |\n" "$group" "$name" "$mode" "$n" "$(echo "$n - ${first[$group]}" | bc)"
    done
done
