#!/usr/bin/env bash
# main-job-ab.sh: the main job (examples/Quickstart with no arguments) of an older commit and of the working tree,
# run alternately on the same machine, with the lines each prints about pre-training throughput and k-NN accuracy.
#
#   bash tests/MaeDsl.Benchmarks/main-job-ab.sh <old-commit> [rounds=1] [extra arguments for both main jobs...]
#   NEW_VARIANTS="|--precision bf16" bash tests/MaeDsl.Benchmarks/main-job-ab.sh <old-commit>   # the new side twice
#
# Both are built in Release from clean copies (the old one from `git worktree add`, the new one from the working
# tree, uncommitted changes included), then run `rounds` times each, old first, interleaved: a load change hits both.
# NEW_VARIANTS ('|'-separated argument lists, default one empty list) runs the new side once per list, with those
# arguments added. Last line per round and side:
# `main-job side=<old|new|new[args]> round=<r> pretrain_img_per_s=<x> knn_pretrained=<p>`.
set -euo pipefail
cd "$(dirname "$0")/../.."
old=${1:?usage: main-job-ab.sh <old-commit> [rounds] [arguments...]}
rounds=${2:-1}
shift $(( $# >= 2 ? 2 : 1 ))
work=$(mktemp -d /tmp/maedsl-main-job-ab.XXXXXX)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true' EXIT

git worktree add --detach "$work/old" "$old" >/dev/null
mkdir -p "$work/new" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/new"
for side in old new; do
  dotnet build -c Release "$work/$side/examples/Quickstart" -o "$work/$side-bin" 2>&1 | grep -E "error|Warn|Elapsed" || true
done

echo "old: $(git log -1 --format='%h %s' "$old")"
echo "new: working tree at $(git log -1 --format='%h %s' HEAD)$(git diff --quiet HEAD || echo ' + uncommitted changes')"
IFS='|' read -r -a variants <<< "${NEW_VARIANTS-}"
[ ${#variants[@]} -eq 0 ] && variants=("")
run() {   # run <round> <bin: old|new> <label> [extra arguments...]
  local r=$1 bin=$2 side=$3; shift 3
  echo "== round $r, $side ($(uptime | sed 's/.*load average: /load /'))"
  local out="$work/run$r-${side//[^a-z0-9]/_}"
  dotnet "$work/$bin-bin/Quickstart.dll" --output "$out" "${common[@]}" "$@" > "$out.log" 2>&1 || { tail -5 "$out.log"; exit 1; }
  grep -E "^pre-training done|^time:|^knn_accuracy" "$out.log"
  local ips knn
  ips=$(sed -n 's/^pre-training done:.*, \([0-9]*\) images\/s.*/\1/p' "$out.log")
  knn=$(sed -n 's/^knn_accuracy pretrained=\([0-9.]*\).*/\1/p' "$out.log")
  echo "main-job side=$side round=$r pretrain_img_per_s=$ips knn_pretrained=$knn"
}
common=("$@")
for r in $(seq 1 "$rounds"); do
  run "$r" old old
  for v in "${variants[@]}"; do
    read -r -a extra <<< "$v"
    run "$r" new "new${v:+[$v]}" "${extra[@]}"
  done
done
