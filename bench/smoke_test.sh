#!/usr/bin/env bash
# The load benchmarks still run and still report what issue 15 asks of them
# (ctest bench.smoke): each script, for a second per phase on a tiny data
# set, prints one goal line per goal next to its measured ratio, and appends
# its CSV rows, from which bench/plot.sh draws every chart. The numbers of so
# short a run mean nothing and are not checked; that they are there is.
#
#   bench/smoke_test.sh PIIVAULT_BIN SCALE_SEED_BIN
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -eq 2 ]] || { echo "usage: bench/smoke_test.sh PIIVAULT_BIN SCALE_SEED_BIN" >&2; exit 2; }
export PIIVAULT_BIN=$1 SCALE_SEED_BIN=$2 DURATION=1s
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export BENCH_TMPDIR=$tmp RESULTS_CSV=$tmp/results.csv LABEL=smoke
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run NAME SCRIPT [ENV=VALUE...]: runs a benchmark, output in $tmp/NAME.out.
run() {
  local name=$1 script=$2
  shift 2
  if ! env "$@" "$here/$script" >"$tmp/$name.out" 2>&1; then
    fail "$script exited non-zero"
    tail -n 30 "$tmp/$name.out"
  fi
}

# expect_goal NAME WHAT OP GOAL: NAME's output has the goal line for WHAT.
expect_goal() {
  local name=$1 what=$2 op=$3 goal=$4
  grep -qE "^goal $(sed 's/[][\/.*^$]/\\&/g' <<<"$what"): [0-9]+\.[0-9]+x vs $op ${goal}x (MET|NOT MET)$" \
    "$tmp/$name.out" || fail "$name: no goal line for \"$what\" ($op ${goal}x)"
}

run http http_load.sh SEED_RECORDS=200
expect_goal http "GET rate / healthz rate" ">=" 0.5
expect_goal http "GET server CPU per request / healthz's" "<=" 2
expect_goal http "GET p99 / healthz p99" "<=" 3
expect_goal http "POST rate / healthz rate" ">=" 0.25
expect_goal http "POST server CPU per request / healthz's" "<=" 4
expect_goal http "POST p99 / healthz p99" "<=" 3

run pg pg_http_load.sh SEED_RECORDS=200 SEED_PRINCIPALS=50
expect_goal pg "GET rate / plain SQL select rate" ">=" 0.5
expect_goal pg "POST rate / plain SQL insert rate" ">=" 0.5

run scale scale_load.sh SCALE_STEPS="300 600" REPEAT=1
expect_goal scale "GET p99 at 600 records / at 300" "<=" 1.5

for row in sqlite,get sqlite,post pg,get pg,post pg,pgbench_read_plain sqlite,scale_get; do
  grep -q ",smoke,$row," "$RESULTS_CSV" || fail "no CSV row for ${row/,/ }"
done
if "$here/plot.sh" "$RESULTS_CSV" "$tmp/charts" >"$tmp/plot.out" 2>&1; then
  for chart in rate_sqlite p99_sqlite rate_pg p99_pg scale; do
    grep -q '<svg' "$tmp/charts/$chart.svg" 2>/dev/null || fail "bench/plot.sh drew no $chart.svg"
  done
else
  fail "bench/plot.sh failed: $(tail -n 5 "$tmp/plot.out")"
fi

if ((failures)); then exit 1; fi
echo "PASS: http_load.sh, pg_http_load.sh and scale_load.sh print every goal of issue 15; plot.sh draws every chart"
