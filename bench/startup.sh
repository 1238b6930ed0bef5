#!/usr/bin/env bash
# Start-up: how long ferry takes to start, do a trivial job and exit (no network).
#
#   bench/startup.sh            # RUNS=200 runs of each command after 20 warm-up runs
#
#   ferry --version                        the bare process start
#   env -i ferry context --json            CI detection from an empty environment, JSON out
#   env -i ferry deploy --dry-run …        settings file + environment + plan, nothing sent
#   the same with a one-certificate CA store (SSL_CERT_FILE/SSL_CERT_DIR): a diagnostic, to see
#   what loading the system's CA certificates for the HTTP client costs
# Writes bench/results/startup.{json,md,txt}.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
need hyperfine jq
ensure_ferry

RUNS=${RUNS:-200}
mkdir -p "$RESULTS"
mkdir "$WORK/certs"
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
	awk '/BEGIN CERTIFICATE/ { n++ } n == 1 { print } /END CERTIFICATE/ && n == 1 { exit }' \
		/etc/ssl/certs/ca-certificates.crt >"$WORK/certs/one.pem"
fi
dry_run="deploy --dry-run --config $ROOT/examples/simulator.toml --environment staging"
one_ca=(-n 'same, one-certificate CA store'
	"env -i SSL_CERT_FILE=$WORK/certs/one.pem SSL_CERT_DIR=$WORK/certs $FERRY $dry_run")
if [ ! -s "$WORK/certs/one.pem" ]; then one_ca=(); fi
# -N: no intermediate shell, so nothing is subtracted or added; output goes to /dev/null.
# (-N splits each command on spaces: run this from a checkout whose path has none.)
hyperfine -N --warmup 20 --runs "$RUNS" --style basic \
	--export-json "$RESULTS/startup.json" --export-markdown "$RESULTS/startup.md" \
	-n 'ferry --version' "$FERRY --version" \
	-n 'env -i ferry context --json' "env -i $FERRY context --json" \
	-n 'env -i ferry deploy --dry-run' "env -i $FERRY $dry_run" \
	"${one_ca[@]}" |
	tee "$RESULTS/startup.txt"
{
	echo
	echo "On a busy machine the minimum and the median say more than the mean:"
	echo
	echo "| command | mean ± σ (ms) | median (ms) | min (ms) | max (ms) |"
	echo "|---|---:|---:|---:|---:|"
	jq -r '.results[] | "| `\(.command)` | \(.mean * 1e4 | round / 10) ± \(.stddev * 1e4 | round / 10) | \(.median * 1e4 | round / 10) | \(.min * 1e4 | round / 10) | \(.max * 1e4 | round / 10) |"' \
		"$RESULTS/startup.json"
	echo
	machine_info
} >>"$RESULTS/startup.md"
cat "$RESULTS/startup.md"
