#!/usr/bin/env bash
# Start-up: how long ferry takes to start, do a trivial job and exit (no network).
#
#   bench/startup.sh            # RUNS=200 runs of each command after 20 warm-up runs
#
#   ferry --version                        the bare process start
#   env -i ferry context --json            CI detection from an empty environment, JSON out
#   env -i ferry deploy --dry-run …        settings file + environment + plan, nothing sent
# Writes bench/results/startup.{json,md,txt}.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
need hyperfine
ensure_ferry

RUNS=${RUNS:-200}
mkdir -p "$RESULTS"
# -N: no intermediate shell, so nothing is subtracted or added; output goes to /dev/null.
hyperfine -N --warmup 20 --runs "$RUNS" --style basic \
	--export-json "$RESULTS/startup.json" --export-markdown "$RESULTS/startup.md" \
	-n 'ferry --version' "$FERRY --version" \
	-n 'env -i ferry context --json' "env -i $FERRY context --json" \
	-n 'env -i ferry deploy --dry-run' \
	"env -i $FERRY deploy --dry-run --config $ROOT/examples/simulator.toml --environment staging" |
	tee "$RESULTS/startup.txt"
{
	echo
	machine_info
} >>"$RESULTS/startup.md"
cat "$RESULTS/startup.md"
