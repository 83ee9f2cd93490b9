#!/usr/bin/env bash
# GC-stress run of every runner command (issue 10, the TorchSharp Scalar-finalizer crash): each command of the quickstart
# (main job, pretrain, resume, evaluate, finetune, linprobe, bench, results, export-images, models, reconstruct, embed,
# predict) runs with tiny limits under a tiny gen0 budget (DOTNET_GCgen0size, hex; default 0x10000 = 64 KiB), so that
# collections (and the finalizers they queue) happen all the time outside the no-GC regions of NoGcDuringTorch. Each must
# exit 0 with no unhandled exception, stack frame or native abort. MAEDSL_GC_REPORT=1 makes each print its collection
# counts and how many torch units ran unprotected or lost their no-GC region; a run with fewer gen0 collections than
# commands fails (the budget did not take effect).
#   eng/gc-stress.sh [gen0size]        e.g. eng/gc-stress.sh 0x10000
set -uo pipefail
cd "$(dirname "$0")/.."
GEN0=${1:-0x10000}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_gcServer=0
dotnet build examples/Quickstart -c Release -nologo -v quiet >/dev/null || { echo "gc-stress: build failed"; exit 1; }
APP=examples/Quickstart/bin/Release/net10.0/Quickstart.dll
WORK=$(mktemp -d /tmp/maedsl-gc-stress-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failed=0 passed=0

run() {   # run NAME ARGS...: one command under the gen0 budget; one result line
    local name=$1; shift
    local out="$WORK/$name.log" start=$SECONDS
    DOTNET_GCgen0size=$GEN0 MAEDSL_GC_REPORT=1 dotnet "$APP" "$@" >"$out" 2>&1
    local code=$?
    local gc; gc=$(grep '^gc: ' "$out" | tail -1)
    local gen0; gen0=$(sed -n 's/^gc: gen0 \([0-9]*\),.*/\1/p' <<<"$gc")
    if [[ $code -ne 0 ]] || grep -qE 'Unhandled exception|^   at |Aborted|SIGABRT|Scalar\.h' "$out" || [[ -z "$gen0" || "$gen0" -lt 1 ]]; then
        echo "FAIL $name (exit $code, $((SECONDS - start)) s): $gc"; tail -5 "$out" | sed 's/^/     /'; failed=$((failed + 1))
    else
        echo "pass $name (exit 0, $((SECONDS - start)) s): $gc"; passed=$((passed + 1))
    fi
}

T="--threads 1"
run main-job     --train-limit 256 --epochs 1 --batch 64 --eval-limit 500 $T --output "$WORK/main"
run pretrain     pretrain --train-limit 256 --epochs 2 --batch 64 --checkpoint-every-steps 3 $T --output "$WORK/pre"
run resume       pretrain --train-limit 256 --epochs 3 --batch 64 --checkpoint-every-steps 3 $T --output "$WORK/pre" --resume "$WORK/pre/checkpoints/checkpoint-last.ckpt"
run evaluate     evaluate --checkpoint "$WORK/pre/checkpoints/checkpoint-last.ckpt" --eval-limit 500 $T
W="$WORK/pre/checkpoints/checkpoint-0002.safetensors"
run finetune     finetune --pretrained "$W" --train-limit 256 --test-limit 128 --epochs 1 --warmup-epochs 0 --batch 32 $T --output "$WORK/ft"
run linprobe     linprobe --pretrained "$W" --train-limit 256 --test-limit 128 --epochs 1 --warmup-epochs 0 --batch 32 $T --output "$WORK/lp"
run bench        bench --dataset fashion-mnist --train-limit 256 --batch 32 --iterations 3 --warmup 1 --gemm-size 256 $T
run results      results --train-limit 256 --test-limit 128 --epochs 1 --batch 64 --finetune-epochs 1 --finetune-batch 32 --linprobe-epochs 1 --linprobe-batch 64 $T \
                         --logs "$WORK/results-logs" --doc "$WORK/results.md" --work "$WORK/results-work"
run export-images export-images --split test --limit 20 --output "$WORK/images"
run models       models
run reconstruct  reconstruct --checkpoint "$WORK/pre/checkpoints/checkpoint-last.ckpt" --images "$WORK/images" --limit 4 $T --output "$WORK/reconstruction.png"
run embed        embed --checkpoint "$W" --images "$WORK/images" --batch 8 $T --output "$WORK/features.npy"
run predict      predict --checkpoint "$WORK/ft/checkpoints/checkpoint-0000.ckpt" --images "$WORK/images" --batch 8 $T --output "$WORK/predictions.csv"

echo "gc-stress: DOTNET_GCgen0size=$GEN0: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
