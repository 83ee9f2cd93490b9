#!/usr/bin/env bash
# Measures how far the numbers of the recorded fixtures (the loss trajectory, the legacy runs' resumed losses and
# evaluations) move between the kernel paths this machine can reach (eng/kernel-paths.sh list), and prints, per series
# and step, the largest relative difference from the recorded value against the tests' tolerance
# (tests/MaeDsl.Tests/Training/RecordedNumbers.cs). Its output is the table in tests/MaeDsl.Tests/Fixtures/README.md.
#   bash eng/measure-fixture-spread.sh [output folder]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${TMPDIR:-/tmp}/maedsl-fixture-spread}
rm -rf "$out"; mkdir -p "$out"
filter="FullyQualifiedName~LossTrajectoryTests.PretrainingLossesFollowTheFixture|FullyQualifiedName~LossTrajectoryTests.FineTuningLossesFollowTheFixture|FullyQualifiedName~LegacyFilesTests.AnOld"
dotnet build tests/MaeDsl.Tests -c Release -v q -nologo > /dev/null

bash eng/kernel-paths.sh list | while read -r name assignments; do
  echo "== $name ${assignments:-}" >&2
  # shellcheck disable=SC2086
  env ${assignments:-} MAEDSL_FIXTURE_MEASURE="$out/$name" \
    dotnet test tests/MaeDsl.Tests -c Release --no-build --filter "$filter" > "$out/$name.log" 2>&1 || true
  ls "$out/$name"/*.tsv > /dev/null 2>&1 || { echo "no series written under $name: see $out/$name.log" >&2; exit 1; }
done

python3 - "$out" <<'EOF'
import glob, math, os, sys
out = sys.argv[1]
initial, growth_steps = 1e-6, 25.0      # RecordedNumbers.InitialTolerance, GrowthSteps
series = {}
for path in glob.glob(os.path.join(out, "*", "*.tsv")):
    kernel = os.path.basename(os.path.dirname(path))
    name = os.path.basename(path)[:-4]
    for i, line in enumerate(open(path)):
        step, recorded, actual = line.split("\t")
        recorded, actual = float(recorded), float(actual)
        rel = abs(actual - recorded) / abs(recorded)
        key = (name, i)
        worst = series.get(key)
        if worst is None or rel > worst[1]:
            series[key] = (int(step), rel, kernel)
kernels = sorted({os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(out, "*", "*.tsv"))})
print(f"kernel paths: {', '.join(kernels)}")
print("series | values | largest relative difference (step, path) | its share of the tolerance | largest share (step)")
for name in sorted({k[0] for k in series}):
    rows = [(i,) + series[(name, i)] for i in range(len([k for k in series if k[0] == name]))]
    worst = max(rows, key=lambda r: r[2])
    shares = [(r[2] / (initial * (1 + r[1] / growth_steps)), r[1]) for r in rows]
    share, at = max(shares)
    print(f"{name} | {len(rows)} | {worst[2]:.2e} (step {worst[1]}, {worst[3]}) | {worst[2] / (initial * (1 + worst[1] / growth_steps)):.3f} | {share:.3f} (step {at})")
EOF
