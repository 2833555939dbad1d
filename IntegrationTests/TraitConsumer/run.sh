#!/usr/bin/env bash
# Builds and runs the trait consumer (Package.swift says why) in a scratch directory: the package beside a
# symlink `StaticCall` to this repository. Fails if MaxLogLevelInfo, set by the consumer on StaticCall,
# did not compile trace and debug statements out of StaticLogger and swift-log's Logger.
#
#   bash IntegrationTests/TraitConsumer/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ln -s "$root" "$work/StaticCall"
mkdir "$work/TraitConsumer"
cp -R "$here/Package.swift" "$here/Sources" "$work/TraitConsumer/"
swift build --package-path "$work/TraitConsumer"
"$(swift build --package-path "$work/TraitConsumer" --show-bin-path)/TraitConsumer"
