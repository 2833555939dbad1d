#!/usr/bin/env bash
# Instructions per call through a patched static-call site, a direct call, and the trampoline
# (STATICCALL_MODE=indirect), counted by callgrind: deterministic, no hardware counters needed.
# Each loop runs at two iteration counts; instructions per call = difference / extra iterations.
#
#   bash Benchmarks/callgrind-site-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --scratch-path .build-release --product staticcall-measure >/dev/null
bin=.build-release/release/staticcall-measure
n1=100000
n2=300000
out=$(mktemp -d)

count() { # mode loop n -> total instructions inside the loop function
    local mode=$1 loop=$2 n=$3 symbol
    symbol=$([ "$loop" = patched ] && echo '$s7Measure11patchedLoopyS2iF' || echo '$s7Measure10directLoopyS2iF')
    STATICCALL_MODE=$mode valgrind --tool=callgrind --smc-check=all --collect-atstart=no --toggle-collect="$symbol" \
        --callgrind-out-file="$out/cg" "$bin" call "$loop" "$n" >/dev/null 2>&1
    callgrind_annotate "$out/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

per_call() { # mode loop
    local a b
    a=$(count "$1" "$2" $n1)
    b=$(count "$1" "$2" $n2)
    echo "scale=2; ($b - $a) / ($n2 - $n1)" | bc
}

direct=$(per_call inline direct)
patched=$(per_call inline patched)
trampoline=$(per_call indirect patched)
echo "instructions per iteration (loop body + call + callee), callgrind, $(uname -m), $(swift --version 2>&1 | head -1)"
echo "  direct call:                 $direct"
echo "  patched static call site:    $patched"
echo "  trampoline (indirect mode):  $trampoline"
echo "  patched / direct:            $(echo "scale=3; $patched / $direct" | bc)"
rm -rf "$out"
