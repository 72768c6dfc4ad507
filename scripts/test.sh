#!/usr/bin/env bash
# The test command for a fresh machine, and what CI runs (.ci/run calls it).
#
#   scripts/test.sh [extra go test flags]
#
# 1. Builds the local OpenTelemetry Collector once (cached afterwards; see
#    scripts/collector.sh) and points the tests at it with OTLPGO_OTELCOL.
#    Each test starts its own collector on a free port on 127.0.0.1.
# 2. Starts a throwaway PostgreSQL on 127.0.0.1 (scripts/postgres.sh:
#    installs Debian's package if needed, temporary data directory, stopped
#    and removed at exit) for the twopc tests, with OTLPGO_PG_DSN.
# 3. Checks formatting (gofmt), go.mod tidiness, go vet and staticcheck.
# 4. Runs every benchmark once (-benchtime=1x) so they stay runnable, here
#    and in the separate benchmarks/ module, the
#    ...ConcurrentSafe tests 100 times under -race, every fuzz target for
#    a short fixed time (OTLPGO_FUZZTIME, default 5s; seed corpora run in
#    every go test anyway), and last the whole suite:
#    go test -race ./...
#
# With CI=true, tests that need the collector or PostgreSQL fail instead
# of skipping when it is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
staticcheck_version="v0.8.2"
start=$SECONDS

step() { echo "==> $* ($((SECONDS - start)) s)"; }

step "collector"
OTLPGO_OTELCOL="$(scripts/collector.sh build)"
export OTLPGO_OTELCOL

step "postgresql on 127.0.0.1"
eval "$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop "$OTLPGO_PG_DIR"' EXIT

step "gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go'))"
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go mod tidy -diff"
go mod tidy -diff

step "go vet"
go vet ./...

step "staticcheck $staticcheck_version"
go run "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version" ./...

step "benchmarks, once each"
go test -run '^$' -bench . -benchtime=1x ./...

step "benchmarks module (comparisons with other libraries), once each"
(cd benchmarks && go mod tidy -diff && go vet ./... && go test -run '^$' -bench . -benchtime=1x ./...)

step "benchmarks module: compatibility tests (our tracestate through the Collector's pkg/sampling)"
(cd benchmarks && go test -race -count=1 ./compat/...)

step "go test -race -count=100 -run ConcurrentSafe ./..."
go test -race -count=100 -run 'ConcurrentSafe$' ./...

step "fuzz: every target for ${OTLPGO_FUZZTIME:-5s} (scripts/fuzz.sh)"
bash scripts/fuzz.sh "${OTLPGO_FUZZTIME:-5s}"

step "go test -race ./..."
go test -race -count=1 "$@" ./...

step "done"
