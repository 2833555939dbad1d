#!/usr/bin/env bash
# Site discovery time over a shared object with >= 10 MB of text, generated here (assembly with unwind
# info, assembled by the system toolchain) and dlopen'ed by the release-built measurement program.
#
#   bash Benchmarks/discovery-large-binary.sh [megabytes] [a site in every K-th function] [a call every N instructions]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-12}
work=$(mktemp -d)
python3 Benchmarks/make-large-object.py "$mb" "${2:-64}" "${3:-12}" > "$work/large.s"
gcc -shared -nostdlib -Wl,--eh-frame-hdr -o "$work/large.so" "$work/large.s"
size -A "$work/large.so" | awk '$1 == ".text" { printf "generated object: .text %.1f MB\n", $2 / 1e6 }'
python3 -c "import sys; d=open(sys.argv[1],'rb').read(); print('E8/E9 bytes: %.2f%%' % (100.0*sum(1 for b in d if b in (0xe8,0xe9))/len(d)))" "$work/large.so"
swift build -c release --scratch-path .build-release --product staticcall-measure >/dev/null
.build-release/release/staticcall-measure discovery "$work/large.so" sc_trampoline
rm -rf "$work"
