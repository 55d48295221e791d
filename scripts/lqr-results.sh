#!/usr/bin/env bash
# Train DDPG (lqr preset, a linear policy) on LQR-v0 for 20,000 steps over seeds 0..4 and
# print the README's cost-ratio table (learned cost / Riccati-optimal cost on the same
# evaluation episodes). About 1 minute per run on a 2-core machine (two runs at a time).
#   bash scripts/lqr-results.sh [steps]      # default: 20000
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-20000}"
for seed in 0 1 2 3 4; do
  out="runs/lqr-lqr-s${seed}"
  [ -f "$out/summary.json" ] && continue
  # An interrupted run (run.json, no summary) continues from its latest checkpoint.
  resume=(); [ -f "$out/run.json" ] && resume=(--resume)
  npx -y pnpm@10.34.9 train --env LQR-v0 --preset lqr --seed "$seed" --steps "$steps" --out "$out" "${resume[@]}" --no-progress &
  # two runs at a time on two cores
  if (( $(jobs -r | wc -l) >= 2 )); then wait -n; fi
done
wait
npx tsx scripts/results-table.ts runs/lqr-lqr-s*
