#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine without the .NET SDK (the device machines lent to us
# have none): this SDK's .NET runtime plus Release builds of the tests and the bench, as .gpu-bundle.tar.xz in
# the repository root (ignored by git; about 40 MB). Hand it to the device tool's `carry`, then run
# `bash scripts/gpu-check.sh` there.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dotnet publish tests/Dromedary.Tests -c Release -o "$stage/tests" >/dev/null
dotnet publish bench/Dromedary.Bench -c Release -o "$stage/bench" >/dev/null
root=$(dirname "$(readlink -f "$(command -v dotnet)")")
version=$(dotnet --list-runtimes | awk '/^Microsoft.NETCore.App / { v = $2 } END { print v }')
mkdir -p "$stage/dotnet/shared/Microsoft.NETCore.App" "$stage/dotnet/host"
cp "$root/dotnet" "$stage/dotnet/"
cp -r "$root/host/fxr" "$stage/dotnet/host/"
cp -r "$root/shared/Microsoft.NETCore.App/$version" "$stage/dotnet/shared/Microsoft.NETCore.App/"
tar -C "$stage" -cJf .gpu-bundle.tar.xz .
echo "wrote .gpu-bundle.tar.xz ($(du -h .gpu-bundle.tar.xz | cut -f1)) with .NET $version"
