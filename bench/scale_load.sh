#!/usr/bin/env bash
# Scale benchmark: record GET rate and p99 as the vault grows to 10,000,000
# records, on SQLite or (BACKEND=pg) PostgreSQL, with the bytes on disk per
# record against the plaintext JSON size and the server's RSS at each step.
#
# Builds nothing: uses existing binaries (piivault and bench's scale_seed:
# `cmake --build build --target piivault scale_seed`). In one run it
#   1. creates a throw-away deployment in a temp dir (SQLite: `piivault
#      init`; pg: a throw-away PostgreSQL cluster and the deployment
#      bench/pg_http_load.sh makes),
#   2. starts `piivault serve`, creates the tenant, tenant-admin and
#      collection of bench/http_load.sh over the API, stops the server,
#   3. for each step N of SCALE_STEPS, ascending:
#      a. with the server stopped, bench/scale_seed adds records up to N
#         through RecordService::Create (the code a POST runs, without HTTP
#         and without audit events; see bench/scale_seed.cc) and reports how
#         long that took,
#      b. waits for the seeding's writes to reach the disk (sync), so that
#         no kernel writeback stalls the measurement, starts the server on
#         the data and runs wrk: GET /healthz (the baseline) and GET of
#         random records among all N (bench/wrk/get_scale.lua derives the
#         ids, no id list is loaded), REPEAT times, keeping the run with
#         the median p99 (every run's p99 is printed),
#      c. reports rate, p50/p99, server CPU per request, the server's RSS
#         (VmRSS, VmHWM), the stores' size on disk per record against the
#         plaintext JSON of a record, and stops the server,
#   4. prints a table of the steps and the goal line (GET p99 at each step
#      within 1.5x of the first step's),
# then stops everything and removes the temp dir, also on failure.
#
# The OS page cache is warm from the seeding at each step (the data is
# written just before); on the 2-core shared machine the numbers are
# indicative only.
#
# Environment (all optional):
#   BACKEND         sqlite (default) or pg
#   SCALE_STEPS     record counts to measure at (default: 100000 1000000
#                   10000000)
#   SEED_THREADS    scale_seed writer threads (default: 16)
#   PER_PRINCIPAL   records per principal (default: 4)
#   REPEAT          GET runs per step, the median p99 kept (default: 3)
#   SCALE_SEED_BIN  default: <repo>/build/bin/scale_seed
#   PIIVAULT_BIN, WRK, DURATION, WRK_THREADS, CONNECTIONS: as bench/http_load.sh
#   POOL_SIZE, SERVER_THREADS, PIIVAULT_PG_BIN, PSQL: as bench/pg_http_load.sh
#   BENCH_TMPDIR    parent of the temp dir (default: $TMPDIR or /tmp); 10 M
#                   records take several GiB there
#   RESULTS_CSV     append CSV rows (endpoints scale_healthz and scale_get per
#                   step; bench/lib.sh has the columns, bench/plot.sh draws
#                   the scale curve)
#   LABEL           the rows' label
#   KEEP_LOG=1      copy the server log to ./scale_load_server.log at the end
# shellcheck disable=SC2154  # R_* are set by wrk_run (bench/lib.sh)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
BACKEND="${BACKEND:-sqlite}"
SCALE_STEPS="${SCALE_STEPS:-100000 1000000 10000000}"
SEED_THREADS="${SEED_THREADS:-16}"
PER_PRINCIPAL="${PER_PRINCIPAL:-4}"
REPEAT="${REPEAT:-3}"
SCALE_SEED_BIN="${SCALE_SEED_BIN:-$repo/build/bin/scale_seed}"

die() { echo "scale_load: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$here/lib.sh"   # wrk runs, server handling, PostgreSQL, CSV

bench_check_tools
[[ -x "$SCALE_SEED_BIN" ]] ||
  die "no executable at $SCALE_SEED_BIN (cmake --build build --target scale_seed)"
[[ "$BACKEND" == sqlite || "$BACKEND" == pg ]] || die "BACKEND must be sqlite or pg"
prev=0
for n in $SCALE_STEPS; do
  if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n <= prev)); then
    die "SCALE_STEPS must be ascending numbers"
  fi
  prev=$n
done
[[ -n "${SCALE_STEPS// /}" ]] || die "SCALE_STEPS is empty"
[[ "$SEED_THREADS" =~ ^[1-9][0-9]*$ && "$PER_PRINCIPAL" =~ ^[1-9][0-9]*$ &&
   "$REPEAT" =~ ^[1-9][0-9]*$ ]] ||
  die "SEED_THREADS, PER_PRINCIPAL and REPEAT must be positive numbers"
if [[ "$BACKEND" == pg ]]; then bench_pg_tools; fi

bench_make_tmp scale scale_load

echo "== piivault scale benchmark ($BACKEND): GET at $SCALE_STEPS records"
bench_print_setup
echo "seeding:  $SCALE_SEED_BIN, $SEED_THREADS threads, $PER_PRINCIPAL records per principal"

# --- 1. deployment ----------------------------------------------------------
if [[ "$BACKEND" == pg ]]; then
  bench_pg_start
  bench_pg_deploy "$tmp/data"
  echo "postgres: $(sql postgres "SHOW server_version" | cut -d' ' -f1)" \
    "(shared_buffers=$(sql postgres "SHOW shared_buffers")), pool_size $POOL_SIZE"
else
  "$PIIVAULT_BIN" init --dir "$tmp/data" >"$tmp/init.out" 2>&1 ||
    { cat "$tmp/init.out" >&2; die "piivault init failed"; }
fi
admin_key="$(tr -d '[:space:]' <"$tmp/data/admin.key")"

# server_up / server_down: the server on the data dir, or not.
server_up() {
  bench_start_server "$tmp/data/piivault.toml"
  bench_wait_healthy
}
server_down() {
  bench_stop_processes
  server_pid=""
}

# --- 2. tenant, tenant-admin, collection over the API ------------------------
server_up
bench_setup_collection "$admin_key"
server_down

# disk_report -> disk_kb (piivault's stores: the data dir, or the three
# databases) and region_kb (the region store the records go to: eu).
disk_report() {
  if [[ "$BACKEND" == pg ]]; then
    disk_kb="$(bench_pg_disk_kb)"
    region_kb="$(sql postgres "SELECT pg_database_size('pv_eu') / 1024")"
  else
    disk_kb="$(bench_dir_kb "$tmp/data")"
    region_kb="$(du -ck "$tmp/data"/eu.db* | tail -n1 | cut -f1)"
  fi
}

# --- 3. the steps -----------------------------------------------------------
export PV_TOKEN="$tenant_key" PV_TENANT="$TENANT" PV_COLLECTION="$COLLECTION"
records_path="/v1/tenants/$TENANT/collections/$COLLECTION/records"
bench_csv_prefix=scale_
seeded=0
json_bytes=0
rows=()
first_p99=""
# Runs the GET load REPEAT times and keeps the R_get_* of the run with the
# median p99: a stall in one run (a checkpoint, another process) then moves
# the reported p99 only as far as it moves the median.
median_get_run() {
  local -a p99s=() saved=()
  local i
  for ((i = 0; i < REPEAT; ++i)); do
    wrk_run get get_scale.lua "$records_path"
    p99s+=("$R_get_p99")
    # Global assignments of every R_get_* of this run, to restore below.
    saved+=("$(declare -p "${!R_get_@}" | sed 's/^declare -[-a-z]* /declare -g /')")
  done
  local median
  median=$(for i in "${!p99s[@]}"; do echo "$i ${p99s[$i]}"; done |
    sort -k2,2n | sed -n "$(((REPEAT + 1) / 2))p" | cut -d' ' -f1)
  eval "${saved[$median]}"
  printf 'GET p99 of the %d runs: %s ms; kept the median, %s ms\n' "$REPEAT" \
    "$(for p in "${p99s[@]}"; do ms "$p"; done | paste -sd' ')" "$(ms "$R_get_p99")"
}

for step in $SCALE_STEPS; do
  echo
  echo "== step: $step records"
  "$SCALE_SEED_BIN" --config "$tmp/data/piivault.toml" --tenant "$TENANT" \
    --collection "$COLLECTION" --from "$seeded" --to "$step" \
    --per-principal "$PER_PRINCIPAL" --threads "$SEED_THREADS" \
    >"$tmp/seed.out" 2>"$tmp/seed.err" &
  child_pid=$!
  bench_wait_child "$tmp/seed.err" "scale_seed failed"
  line="$(grep '^SEEDED ' "$tmp/seed.out")" || die "no SEEDED line from scale_seed"
  added="$(sed -n 's/.*records=\([0-9]*\).*/\1/p' <<<"$line")"
  secs="$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line")"
  json="$(sed -n 's/.*json_bytes=\([0-9]*\).*/\1/p' <<<"$line")"
  [[ "$added" -eq $((step - seeded)) ]] || die "scale_seed wrote $added of $((step - seeded))"
  seeded=$step
  json_bytes=$((json_bytes + json))
  per_million="$(echo "$secs * 1000000 / $added" | bc -l)"
  printf 'seeded:   %d records in %.1f s (%.0f/s, %.0f s per million)\n' "$added" "$secs" \
    "$(echo "$added / $secs" | bc -l)" "$per_million"

  sync_start=$(date +%s.%N)
  sync
  printf 'synced:   %.1f s\n' "$(echo "$(date +%s.%N) - $sync_start" | bc -l)"

  server_up
  export PV_RECORDS="$step"
  wrk_run healthz healthz.lua /healthz
  median_get_run
  disk_report
  disk_b="$(echo "$disk_kb * 1024 / $step" | bc -l)"
  region_b="$(echo "$region_kb * 1024 / $step" | bc -l)"
  json_b="$(echo "$json_bytes / $step" | bc -l)"
  errors=$((R_healthz_non2xx + R_healthz_sockerr + R_get_non2xx + R_get_sockerr))
  ((errors == 0)) || die "$errors requests failed at $step records"
  [[ -n "$first_p99" ]] || first_p99=$R_get_p99
  printf 'server RSS: %s MiB now, %s MiB peak; stores %s MiB (%.0f B/record; region %.0f B/record); plaintext JSON %.0f B/record\n' \
    "$(mib "$R_get_rss_kb")" "$(mib "$R_get_hwm_kb")" "$(mib "$disk_kb")" "$disk_b" "$region_b" "$json_b"
  rows+=("$(printf '%-10s %9.0f %8s %8s %9.2f %8.0f %8.0f %8.0f %8.0f %9s %9s %8.0f' \
    "$step" "$R_get_rps" "$(ms "$R_get_p50")" "$(ms "$R_get_p99")" \
    "$(ratio "$R_get_p99" "$first_p99")" "$R_get_cpu_us" "$disk_b" "$region_b" "$json_b" \
    "$(mib "$R_get_rss_kb")" "$(mib "$R_get_hwm_kb")" "$per_million")")
  bench_csv_wrk "$BACKEND" healthz "$step" "$disk_kb"
  bench_csv_wrk "$BACKEND" get "$step" "$disk_kb" healthz "$disk_b" "$json_b"
  server_down
done

# --- 4. summary -------------------------------------------------------------
first_step="${SCALE_STEPS%% *}"
first_step="${first_step## }"
echo
echo "== results ($BACKEND; wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION GET of random records, median p99 of $REPEAT runs)"
printf '%-10s %9s %8s %8s %9s %8s %8s %8s %8s %9s %9s %8s\n' "records" "GET/s" "p50 ms" \
  "p99 ms" "p99 ratio" "CPU us" "disk B" "region B" "JSON B" "RSS MiB" "peak MiB" "seed s/M"
printf '%s\n' "${rows[@]}"
echo "(p99 ratio: this step's GET p99 / the first step's; CPU us: server CPU per GET;"
echo " disk B: piivault's stores per record (the whole data dir, resp. the three databases);"
echo " region B: the region store alone; JSON B: a record's plaintext JSON as POSTed;"
echo " seed s/M: seconds scale_seed took per million records of that step)"
p99_ratio="$(ratio "$R_get_p99" "$first_p99")"
bench_goal "GET p99 at $seeded records / at $first_step" "$p99_ratio" "<=" 1.5
if [[ -n "$RESULTS_CSV" ]]; then echo "csv:      rows appended to $RESULTS_CSV"; fi
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (end)"
