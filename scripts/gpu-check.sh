#!/usr/bin/env bash
# The GPU check, for a machine with one NVIDIA GPU (an H200): runs the GPU tests (the CUDA ones skip themselves
# without a device), times the int8 matmul at LLaMA-65B shapes, and, where the CUDA toolkit is installed,
# assembles the int8 kernels' PTX with ptxas -v (registers, spills, stack). With the .NET 10 SDK it builds
# Release first; without it, it runs the builds packed by scripts/gpu-bundle.sh (.gpu-bundle.tar.xz).
# The slow simulator-only classes (training engine, backward kernels, batched engine on the CPU accelerator) are
# left to CI so the CUDA tests fit their limit. Logs and summary.txt go to $OUT (default ./gpu-check-out). Every
# step has its own time limit, so the whole run ends inside 8 minutes; the exit status is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu-check-out}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: >"$summary"
status=0

# step NAME SECONDS COMMAND...: runs COMMAND into $OUT/NAME.log under a time limit and notes the outcome.
step() {
    local name=$1 limit=$2 start=$SECONDS rc
    shift 2
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    echo "$name: exit $rc after $((SECONDS - start)) s (limit $limit s)" | tee -a "$summary"
    [ "$rc" -eq 0 ] || status=1
    return "$rc"
}

# GPU_CHECK_BUNDLE=1 uses the bundle even where the SDK exists (to try the bundle path before a lease).
if command -v dotnet >/dev/null && [ -z "${GPU_CHECK_BUNDLE:-}" ]; then
    build=(dotnet build Dromedary.sln -c Release)
    tests=(dotnet test tests/Dromedary.Tests -c Release --no-build --logger "console;verbosity=detailed"
        --filter "FullyQualifiedName~Gpu&FullyQualifiedName!~GpuLoraTrainingEngineTests&FullyQualifiedName!~GpuBackwardTests&FullyQualifiedName!~GpuEngineTests")
    bench=(dotnet run --project bench/Dromedary.Bench -c Release --no-build --)
elif [ -f .gpu-bundle.tar.xz ]; then
    bundle=$(mktemp -d)
    build=(tar -C "$bundle" -xJf .gpu-bundle.tar.xz)
    tests=("$bundle/dotnet/dotnet" "$bundle/tests/Dromedary.Tests.dll" -namespace Dromedary.Tests.Gpu -verbose
        -class- Dromedary.Tests.Gpu.GpuLoraTrainingEngineTests -class- Dromedary.Tests.Gpu.GpuBackwardTests -class- Dromedary.Tests.Gpu.GpuEngineTests)
    bench=("$bundle/dotnet/dotnet" "$bundle/bench/Dromedary.Bench.dll")
else
    echo "no .NET SDK and no .gpu-bundle.tar.xz: run scripts/gpu-bundle.sh where the SDK is and carry its output" | tee -a "$summary"
    exit 1
fi
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >>"$summary" 2>&1
else
    echo "nvidia-smi: not installed" >>"$summary"
fi

step build 200 "${build[@]}" || exit 1
step test 150 "${tests[@]}"
ptx=$(mktemp -d)
step bench 120 "${bench[@]}" gpu "$ptx"
if command -v ptxas >/dev/null; then
    step ptxas 60 bash -c 'for f in "$1"/*.ptx; do echo "== $f"; ptxas -arch=sm_90 -v "$f" -o /dev/null || exit 1; done' _ "$ptx"
else
    echo "ptxas: not installed; the PTX was only JIT-compiled by the driver" | tee -a "$summary"
fi

{
    echo "--- tests"
    grep -E "^ *(Total tests|Passed|Failed|Skipped):|\[FAIL\]|\[SKIP\]|bit-identical" "$OUT/test.log"
    echo "--- bench"
    grep -E "^(gpu:|kernel |\|)" "$OUT/bench.log"
} >>"$summary"
cat "$summary"
exit "$status"
