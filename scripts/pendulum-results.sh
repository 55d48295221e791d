#!/usr/bin/env bash
# Train every preset on Pendulum-v1 for 20,000 steps over seeds 0..4 and print the README's
# results table. Long: about 8–25 minutes per run on a 2-core machine (two runs at a time).
#   bash scripts/pendulum-results.sh [presets...]      # default: tuned td3 paper
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("${@:-tuned td3 paper}")
for preset in ${presets[@]}; do
  for seed in 0 1 2 3 4; do
    out="runs/pendulum-${preset}-s${seed}"
    [ -f "$out/summary.json" ] && continue
  # An interrupted run (run.json, no summary) continues from its latest checkpoint.
  resume=(); [ -f "$out/run.json" ] && resume=(--resume)
    npx -y pnpm@10.34.9 train --preset "$preset" --seed "$seed" --steps 20000 --out "$out" "${resume[@]}" --no-progress &
    # two runs at a time on two cores
    if (( $(jobs -r | wc -l) >= 2 )); then wait -n; fi
  done
done
wait
npx tsx scripts/results-table.ts runs/pendulum-*
