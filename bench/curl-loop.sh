#!/usr/bin/env bash
# The kind of script ferry replaces: curl + `sleep 5` against the simulated platform's API
# (the same requests examples/simulator.toml describes). Used by bench/overhead.sh and
# bench/polling.sh as the baseline. Usage: bench/curl-loop.sh http://127.0.0.1:PORT [environment]
#
#   POST the build, poll its status every 5 s until `succeeded`, read its log by byte offset
#   (X-Log-Offset / X-Log-Complete) while waiting and until complete, POST the deploy with the
#   build's artifact, poll every 5 s until `live`, print the URL.
#
#   INTERVAL=1   sleep 1 instead of 5;   READ_LOG=0   poll the status only (no log to read).
#   Every request carries `X-Client: sleep-$INTERVAL`, so that a benchmark can tell loops apart.
set -euo pipefail

base=${1:?usage: curl-loop.sh PLATFORM_URL [ENVIRONMENT]}
environment=${2:-staging}
app=demo-app
interval=${INTERVAL:-5}
read_log=${READ_LOG:-1}

api() { curl -sS --fail-with-body -H "X-Client: sleep-$interval" "$@"; }

# Reads the log of $1 (builds|deployments) $2 (id) from byte $offset to what exists now;
# prints it to stderr, updates $offset and $complete.
offset=0
complete=false
read_log() {
	local headers
	headers=$(mktemp)
	api -D "$headers" "$base/v1/$1/$2/log?offset=$offset" >&2
	offset=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "x-log-offset" { print $2 }')
	complete=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "x-log-complete" { print $2 }')
	rm -f "$headers"
}

# Waits for $1 (builds|deployments) $2 (id) to reach $3, reading its log; fails on failed/cancelled.
wait_for() {
	local collection=$1 id=$2 want=$3 doc status
	offset=0
	complete=false
	while :; do
		doc=$(api "$base/v1/$collection/$id")
		status=$(jq -r .status <<<"$doc")
		if [ "$read_log" = 1 ]; then read_log "$collection" "$id"; fi
		case $status in
		"$want") break ;;
		failed | cancelled)
			echo "$collection/$id $status" >&2
			exit 1
			;;
		esac
		sleep "$interval"
	done
	local before
	while [ "$read_log" = 1 ] && [ "$complete" != true ]; do
		before=$offset
		read_log "$collection" "$id"
		if [ "$offset" = "$before" ]; then sleep 1; fi
	done
	printf '%s\n' "$doc"
}

build=$(api -X POST -H 'Content-Type: application/json' \
	-d '{"sha":"0000000000000000000000000000000000000000","ref":"main","repository":"acme/demo"}' \
	"$base/v1/apps/$app/builds")
build_id=$(jq -r .id <<<"$build")
artifact=$(wait_for builds "$build_id" succeeded | jq -r .artifact)

deploy=$(api -X POST -H 'Content-Type: application/json' \
	-d "{\"artifact\":\"$artifact\",\"environment\":\"$environment\",\"sha\":\"0000000000000000000000000000000000000000\"}" \
	"$base/v1/apps/$app/deployments")
deploy_id=$(jq -r .id <<<"$deploy")
wait_for deployments "$deploy_id" live | jq -r .url
