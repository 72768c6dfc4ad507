#!/usr/bin/env bash
# Builds and runs the minimal OpenTelemetry Collector that otlpgo's tests and
# demo export to: the OTLP receiver (HTTP), the batch processor, and the debug
# and file exporters, all from the Go module proxy at pinned versions.
#
#   scripts/collector.sh build   build once; print the binary's path
#   scripts/collector.sh run     build, then run on 127.0.0.1:4318 in the
#                                foreground, writing what it receives to
#                                ./otelcol-received.jsonl (OTLP JSON, a line
#                                per request)
#   scripts/collector.sh regen   regenerate tools/otelcol/src from
#                                tools/otelcol/builder-config.yaml with the
#                                collector builder (needed only to change
#                                components or versions)
#
# Environment: OTLPGO_COLLECTOR_ADDR (default 127.0.0.1:4318) and
# OTLPGO_COLLECTOR_FILE (default ./otelcol-received.jsonl) for run;
# OTLPGO_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/otlpgo) for the binary.
#
# The sources in tools/otelcol/src are the builder's output, committed with a
# go.sum that pins every dependency; a build is `go build` there. The binary
# is cached under a name derived from a hash of those sources, so a second
# build is a file check and the collector starts at once.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/tools/otelcol/src"
cache="${OTLPGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otlpgo}"
builder_version="v0.161.0"

binary_path() {
	local hash
	hash="$(cat "$src"/go.mod "$src"/go.sum "$src"/*.go | sha256sum | cut -c1-16)"
	echo "$cache/otlpgo-otelcol-$hash"
}

build() {
	local bin
	bin="$(binary_path)"
	if [[ -x "$bin" ]]; then
		echo "$bin"
		return
	fi
	mkdir -p "$cache"
	local start=$SECONDS
	echo "collector: building $bin (cold builds take 1-2 minutes)" >&2
	(cd "$src" && go build -trimpath -o "$bin.tmp" .)
	mv "$bin.tmp" "$bin"
	echo "collector: built in $((SECONDS - start)) s" >&2
	echo "$bin"
}

case "${1:-}" in
build)
	build
	;;
run)
	bin="$(build)"
	export OTLPGO_COLLECTOR_ADDR="${OTLPGO_COLLECTOR_ADDR:-127.0.0.1:4318}"
	export OTLPGO_COLLECTOR_FILE="${OTLPGO_COLLECTOR_FILE:-$PWD/otelcol-received.jsonl}"
	echo "collector: OTLP/HTTP on $OTLPGO_COLLECTOR_ADDR, writing to $OTLPGO_COLLECTOR_FILE" >&2
	exec "$bin" --config "$root/tools/otelcol/config.yaml"
	;;
regen)
	go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
	(cd "$root/tools/otelcol" && "$(go env GOPATH)/bin/builder" --config builder-config.yaml --skip-compilation)
	gofmt -w "$src"
	;;
*)
	echo "usage: $0 build|run|regen" >&2
	exit 2
	;;
esac
