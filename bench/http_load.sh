#!/usr/bin/env bash
# HTTP load test of a real `piivault serve` on loopback, with wrk.
#
# Builds nothing: uses an existing binary. In one run it
#   1. creates a throw-away deployment in a temp dir (`piivault init`),
#   2. starts `piivault serve` on 127.0.0.1:<free port>,
#   3. creates a tenant, a tenant-admin and a collection, seeds records,
#   4. runs wrk against GET /healthz (the baseline: no auth, no storage),
#      GET of random seeded records and POST of unique records,
#   5. prints requests/s, p50/p99 and the ratios vs the baseline, one line
#      per goal of issue 15 (MET or NOT MET), the server's RSS and the data
#      dir's size, and appends CSV rows (RESULTS_CSV),
# then stops the server (SIGTERM) and removes the temp dir, also on failure.
#
# Environment (all optional):
#   PIIVAULT_BIN    binary (default: <repo>/build/bin/piivault)
#   WRK             wrk binary (default: wrk)
#   DURATION        wrk -d per run (default: 10s)
#   WRK_THREADS     wrk -t (default: 2)
#   CONNECTIONS     wrk -c (default: 64)
#   SEED_RECORDS    records seeded before the GET run (default: 2000)
#   SEED_PRINCIPALS principals they belong to (default: 500)
#   BENCH_TMPDIR    parent of the temp dir (default: $TMPDIR or /tmp); put it
#                   on the disk you want measured: writes are fsync'ed.
#   KEEP_LOG=1      copy the server log to ./http_load_server.log at the end
#   RESULTS_CSV     append one CSV row per endpoint to this file (bench/lib.sh
#                   has the columns; bench/plot.sh draws them)
#   LABEL           the rows' label, e.g. before / after
#   PROFILE_DIR     if set, `perf record` samples the server during each wrk run
#                   into PROFILE_DIR/perf_<endpoint>.data (perf report -i ...)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

die() { echo "http_load: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$here/lib.sh"   # seeding, wrk runs and server handling, shared

bench_check_tools

bench_make_tmp http http_load

echo "== piivault HTTP load test"
bench_print_setup

# --- 1. deployment ---------------------------------------------------------
"$PIIVAULT_BIN" init --dir "$tmp/data" >"$tmp/init.out" 2>&1 ||
  { cat "$tmp/init.out" >&2; die "piivault init failed"; }
admin_key="$(tr -d '[:space:]' <"$tmp/data/admin.key")"

# --- 2. server on a free loopback port (port 0: the kernel picks one) -------
bench_start_server "$tmp/data/piivault.toml"
echo "server:   $base (pid $server_pid, log in the temp dir)"

# --- 3. tenant, tenant-admin, collection; seed records ----------------------
bench_setup_collection "$admin_key"
bench_seed

# --- 4. wrk runs ------------------------------------------------------------
bench_export_wrk_env

wrk_run healthz healthz.lua /healthz
wrk_run get get_record.lua "/v1/tenants/$TENANT/collections/$COLLECTION/records"
wrk_run post post_record.lua "/v1/tenants/$TENANT/collections/$COLLECTION/records"

# --- 5. summary -------------------------------------------------------------
echo
echo "== results (wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, keep-alive; ratio = ours / baseline)"
printf '%-26s %11s %8s %8s %9s %9s %12s %9s %7s\n' "endpoint" "requests/s" \
  "p50 ms" "p99 ms" "rps ratio" "p99 ratio" "srv CPU/req" "CPU ratio" "errors"
for name in healthz get post; do
  rps_var="R_${name}_rps"; p50_var="R_${name}_p50"; p99_var="R_${name}_p99"
  n2_var="R_${name}_non2xx"; se_var="R_${name}_sockerr"; cpu_var="R_${name}_cpu_us"
  case $name in
    healthz) label="GET /healthz (baseline)" ;;
    get) label="GET record" ;;
    post) label="POST record" ;;
  esac
  printf '%-26s %11.0f %8s %8s %9.3f %9.2f %9.0f us %9.2f %7s\n' "$label" \
    "${!rps_var}" "$(ms "${!p50_var}")" "$(ms "${!p99_var}")" \
    "$(echo "${!rps_var} / $R_healthz_rps" | bc -l)" \
    "$(echo "${!p99_var} / $R_healthz_p99" | bc -l)" \
    "${!cpu_var}" "$(echo "${!cpu_var} / $R_healthz_cpu_us" | bc -l)" \
    "$(( ${!n2_var} + ${!se_var} ))"
done
echo "(ratios are ours / baseline: requests/s higher is better, p99 and CPU lower is better;"
echo " srv CPU/req: server user+system CPU per request, independent of wrk's share of the"
echo " $(nproc) cores; errors: non-2xx + socket errors)"

# The goals (issue 15), each ratio measured in this run against /healthz.
bench_goal "GET rate / healthz rate" "$(ratio "$R_get_rps" "$R_healthz_rps")" ">=" 0.5
bench_goal "GET server CPU per request / healthz's" \
  "$(ratio "$R_get_cpu_us" "$R_healthz_cpu_us")" "<=" 2
bench_goal "GET p99 / healthz p99" "$(ratio "$R_get_p99" "$R_healthz_p99")" "<=" 3
bench_goal "POST rate / healthz rate" "$(ratio "$R_post_rps" "$R_healthz_rps")" ">=" 0.25
bench_goal "POST server CPU per request / healthz's" \
  "$(ratio "$R_post_cpu_us" "$R_healthz_cpu_us")" "<=" 4
bench_goal "POST p99 / healthz p99" "$(ratio "$R_post_p99" "$R_healthz_p99")" "<=" 3
disk_kb="$(bench_dir_kb "$tmp/data")"
bench_server_memory
echo "server RSS: $(mib "$mem_rss_kb") MiB now, $(mib "$mem_hwm_kb") MiB peak (VmRSS, VmHWM);" \
  "data dir $(mib "$disk_kb") MiB ($SEED_RECORDS seeded records and the POSTs)"
bench_csv_wrk sqlite healthz "$SEED_RECORDS" "$disk_kb"
bench_csv_wrk sqlite get "$SEED_RECORDS" "$disk_kb" healthz
bench_csv_wrk sqlite post "$SEED_RECORDS" "$disk_kb" healthz
if [[ -n "$RESULTS_CSV" ]]; then echo "csv:      3 rows appended to $RESULTS_CSV"; fi
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (end)"
errors=$((R_healthz_non2xx + R_healthz_sockerr + R_get_non2xx + R_get_sockerr + R_post_non2xx + R_post_sockerr))
if ((errors > 0)); then
  echo "http_load: $errors requests failed (see above)" >&2
  exit 1
fi
