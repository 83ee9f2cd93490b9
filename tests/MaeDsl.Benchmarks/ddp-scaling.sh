#!/usr/bin/env bash
# Data-parallel scaling on one machine: pre-training images/s of 2 MPI ranks × 1 torch thread against 1 process × 2 threads,
# interleaved (A B A B) so that both see the same machine load; for the tiny main-job model and for ViT-B/16.
#   bash tests/MaeDsl.Benchmarks/ddp-scaling.sh [rounds]
# Prints one line per run and a summary line per model: ddp_scaling model=M one_process=X two_ranks=Y ratio=Y/X.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
dotnet build examples/Quickstart -c Release -v q -nologo > /dev/null
app=examples/Quickstart/bin/Release/net10.0/Quickstart.dll
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "# $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2 }'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# images/s of a run folder's steps after the first (metrics.csv: step, …, elapsed_s), for a global batch of $2 images
rate() { awk -F, -v b="$2" 'NR == 2 { s0 = $1; t0 = $7 } NR > 2 { s = $1; t = $7 } END { printf "%.2f", (s - s0) * b / (t - t0) }' "$1/metrics.csv"; }

bench() {   # model, per-rank batch, train-limit
  local model=$1 batch=$2 limit=$3 one=() two=()
  for r in $(seq "$rounds"); do
    dotnet "$app" pretrain --model "$model" --train-limit "$limit" --batch $((2 * batch)) --epochs 1 --warmup-epochs 0 --threads 2 \
      --precision fp32 --output "$out/one-$model-$r" > "$out/one.log" 2>&1
    one+=("$(rate "$out/one-$model-$r" $((2 * batch)))")
    mpiexec -n 2 dotnet "$app" pretrain --model "$model" --train-limit "$limit" --batch "$batch" --epochs 1 --warmup-epochs 0 --threads 1 \
      --precision fp32 --output "$out/two-$model-$r" > "$out/two.log" 2>&1
    two+=("$(rate "$out/two-$model-$r" $((2 * batch)))")
    echo "$model round $r: 1 process × 2 threads ${one[-1]} images/s; 2 ranks × 1 thread ${two[-1]} images/s"
  done
  local a b
  a=$(printf '%s\n' "${one[@]}" | sort -n | tail -1); b=$(printf '%s\n' "${two[@]}" | sort -n | tail -1)
  echo "ddp_scaling model=$model one_process=$a two_ranks=$b ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }') (best of $rounds)"
}

bench tiny 128 5120
bench vit-b16 4 48
