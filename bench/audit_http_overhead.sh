#!/usr/bin/env bash
# What auditing costs an HTTP record GET: the same deployment served in turn
# by `piivault` (every GET appends a durable audit event) and by
# `piivault_audit_off` (auditing compiled out; bench/CMakeLists.txt, built
# only for this benchmark), under the same wrk load, alternating A B A B...
# so that drift of the shared machine hits both alike.
#
# Builds nothing. In one run it
#   1. creates a throw-away deployment in a temp dir and seeds records,
#   2. ROUNDS times: serves it with the audited binary, runs wrk GET, stops;
#      serves it with the audit-off binary, runs wrk GET, stops,
#   3. prints each run, the medians, and audit-on / audit-off.
# Goal (issue 4): audit-on GET throughput >= 0.80 of audit-off.
#
# Environment (all optional), besides those of bench/lib.sh:
#   PIIVAULT_BIN            audited binary (default build/bin/piivault)
#   PIIVAULT_AUDIT_OFF_BIN  default build/bin/piivault_audit_off
#   ROUNDS                  A/B pairs (default 3)
#   WARMUP                  wrk -d of an uncounted run after each start
#                           (default 3s)
#   DURATION                wrk -d per run (default 10s)
#   BENCH_TMPDIR            parent of the temp dir (writes are fsync'ed)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

die() { echo "audit_http_overhead: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

AUDITED_BIN="$PIIVAULT_BIN"
AUDIT_OFF_BIN="${PIIVAULT_AUDIT_OFF_BIN:-$repo/build/bin/piivault_audit_off}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-3s}"
[[ -x "$AUDIT_OFF_BIN" ]] ||
  die "$AUDIT_OFF_BIN not found: cmake --build build --target piivault_audit_off"
bench_check_tools

tmp="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/piivault-audit-XXXXXX")"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bench_stop_processes
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# serve BINARY: starts BINARY on the deployment (bench_start_server).
serve() {
  PIIVAULT_BIN="$1" bench_start_server "$tmp/data/piivault.toml"
}
# stop: SIGTERM, wait for the graceful exit.
stop() {
  kill -TERM "$server_pid"
  wait "$server_pid" || die "server exited with $? (log: $(tail -n3 "$tmp/server.log"))"
  server_pid=""
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "== piivault HTTP GET: audit on vs audit off"
bench_print_setup
echo "audit off: $AUDIT_OFF_BIN"
"$AUDITED_BIN" init --dir "$tmp/data" >"$tmp/init.out" 2>&1 ||
  { cat "$tmp/init.out" >&2; die "piivault init failed"; }
admin_key="$(tr -d '[:space:]' <"$tmp/data/admin.key")"
serve "$AUDITED_BIN"
bench_setup_collection "$admin_key"
bench_seed
stop
bench_export_wrk_env

path="/v1/tenants/$TENANT/collections/$COLLECTION/records"
on_rps=() off_rps=() on_cpu=() off_cpu=() errors=0
for ((round = 1; round <= ROUNDS; round++)); do
  for mode in on off; do
    if [[ $mode == on ]]; then serve "$AUDITED_BIN"; else serve "$AUDIT_OFF_BIN"; fi
    # Warm-up (caches of keys and schemas fill), not counted.
    DURATION=$WARMUP wrk_run warmup get_record.lua "$path" >/dev/null
    wrk_run "get_$mode" get_record.lua "$path" >/dev/null
    stop
    rps_var="R_get_${mode}_rps"; cpu_var="R_get_${mode}_cpu_us"
    p99_var="R_get_${mode}_p99"; n2_var="R_get_${mode}_non2xx"
    se_var="R_get_${mode}_sockerr"
    errors=$((errors + ${!n2_var} + ${!se_var}))
    printf 'round %d  audit %-3s  %8.0f GET/s  p99 %6s ms  %4.0f us server CPU/GET\n' \
      "$round" "$mode" "${!rps_var}" "$(ms "${!p99_var}")" "${!cpu_var}"
    if [[ $mode == on ]]; then
      on_rps+=("${!rps_var}"); on_cpu+=("${!cpu_var}")
    else
      off_rps+=("${!rps_var}"); off_cpu+=("${!cpu_var}")
    fi
  done
done

on=$(printf '%s\n' "${on_rps[@]}" | median)
off=$(printf '%s\n' "${off_rps[@]}" | median)
on_c=$(printf '%s\n' "${on_cpu[@]}" | median)
off_c=$(printf '%s\n' "${off_cpu[@]}" | median)
ratio=$(echo "$on / $off" | bc -l)
echo
echo "== results (median of $ROUNDS; wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION)"
printf 'audit off (baseline)  %8.0f GET/s  %4.0f us CPU/GET\n' "$off" "$off_c"
printf 'audit on              %8.0f GET/s  %4.0f us CPU/GET\n' "$on" "$on_c"
printf 'ratio on/off          %8.3f        %4.2f (CPU)\n' "$ratio" "$(echo "$on_c / $off_c" | bc -l)"
if (($(echo "$ratio >= 0.8" | bc -l))); then verdict=MET; else verdict="NOT MET"; fi
printf 'goal audit-on >= 0.80 x audit-off GET/s: %s (%.3f)\n' "$verdict" "$ratio"
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (end)"
((errors == 0)) || die "$errors requests failed"
