#!/usr/bin/env bash
# Runs every fuzz target of the module for a fixed time each.
#
#   scripts/fuzz.sh [fuzztime] [package pattern]    # default: 5s ./...
#
# The seed corpora (f.Add and testdata/fuzz) already run in every
# `go test`; this goes further, coverage-guided, for a short fixed time in
# CI (scripts/test.sh) and for as long as asked when looking for bugs:
#
#   scripts/fuzz.sh 10m ./risk
#
# A target that finds a failing input writes it to the package's
# testdata/fuzz/<Target>/ and the script fails; commit that file with
# the fix, so the input stays a regression test.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzztime="${1:-5s}"
pattern="${2:-./...}"

targets=0
# go test -list prints each package's matching names, then "ok <pkg> ...".
while read -r pkg; do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "--- fuzz $pkg $target ($fuzztime)"
		# Go's fuzzing engine can end a run that found nothing with
		# "context deadline exceeded" when -fuzztime runs out while a worker
		# is busy; such a run wrote no failing input. It is retried once;
		# any run that writes a failing input fails at once.
		for attempt in 1 2; do
			status=0
			out="$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1)" || status=$?
			# Only the last progress line is kept: it has the total executions.
			awk '/^fuzz: elapsed/ { last = $0; next } { if (last != "") print last; last = ""; print } END { if (last != "") print last }' <<<"$out"
			if [[ $status -eq 0 ]]; then
				break
			fi
			if [[ $attempt -eq 1 ]] && ! grep -q 'Failing input written' <<<"$out" && grep -q 'context deadline exceeded' <<<"$out"; then
				echo "fuzz.sh: $pkg $target: the engine timed out without a failing input; once more"
				continue
			fi
			echo "fuzz.sh: $pkg $target failed" >&2
			exit 1
		done
		targets=$((targets + 1))
	done
done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "$pattern")

if [[ $targets -eq 0 ]]; then
	echo "fuzz.sh: no fuzz targets found under $pattern" >&2
	exit 1
fi
echo "fuzz.sh: $targets targets, $fuzztime each"
