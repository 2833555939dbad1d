#!/usr/bin/env bash
# The soak of the safety contract (outside CI; CI runs a short version in the integration suite):
# every core calls through every kind of site while the main thread runs a long mix of updates, with one
# calling thread blocking every signal and one thread raising foreign SIGTRAPs for a user's handler.
# Once with page remapping (the default), once with the INT3 fallback (remapping refused by seccomp;
# the blocking thread is left out there, since that protocol refuses to run beside it). Meanwhile another
# thread loads and closes a plugin (with its own keys and copy of StaticCall) and a C library of targets.
#
#   bash IntegrationTests/soak.sh [UPDATE_ROUNDS]      (default 100000; about 4 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-100000}
# The same builds as the tests': the integration program and the nested image package (plugin and C
# library), whose program targets are compiled with -O in every configuration.
swift build --product staticcall-integration
swift build --package-path IntegrationTests/Images
swift build --package-path IntegrationTests/CTargets
bin=$(swift build --show-bin-path)/staticcall-integration
images=$(swift build --package-path IntegrationTests/Images --show-bin-path)
targets=$(swift build --package-path IntegrationTests/CTargets --show-bin-path)
libraries=(--plugin-path "$images/libStaticCallTestPlugin.so" --targets-path "$targets/libStaticCallTestTargets.so")
status=0
for mode in remap int3; do
    extra=()
    [ "$mode" = int3 ] && extra=(--int3)
    echo "== soak: $mode, $rounds update rounds"
    if ! "$bin" soak --iterations "$rounds" --plugin "${libraries[@]}" "${extra[@]}" | grep -v '^PASS'; then status=1; fi
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
exit $status
