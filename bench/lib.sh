# shellcheck shell=bash disable=SC2153,SC2154
# (the settings and $here/$tmp come from the caller, see below)
#
# Shared by bench/http_load.sh and bench/pg_http_load.sh: sourced, not run.
#
# The caller sets, before sourcing or before calling the functions:
#   die MSG         a function that prints MSG with its own prefix and exits 1
#   here, repo      the bench/ directory (wrk scripts in $here/wrk), the repo
#   tmp             the run's temp dir (logs, seed files, wrk output)
# Sourcing sets the settings both benchmarks share, from the environment or
# their defaults (documented in each script's header).
# and gets these globals from the functions:
#   server_pid      `piivault serve` (bench_start_server)
#   child_pid       a running wrk/curl/pgbench, waited for in the background
#                   so that INT/TERM are handled at once rather than after it
#                   finishes (bench_wait_child)
#   base            http://127.0.0.1:PORT (bench_start_server)
#   tenant_key      the tenant-admin API key (bench_setup_collection)
#   R_<name>_{rps,p50,p99,non2xx,sockerr,cpu_us,rss_kb,hwm_kb}   (wrk_run)
#
# Results as CSV (bench_csv_row, bench/plot.sh draws them): RESULTS_CSV names
# a file to append one row per endpoint per run to (with a header line when
# it is new or empty; unset: no CSV); LABEL (e.g. "before", "after") goes in
# each row's label column, with the repo's git revision.

PIIVAULT_BIN="${PIIVAULT_BIN:-$repo/build/bin/piivault}"
WRK="${WRK:-wrk}"
DURATION="${DURATION:-10s}"
WRK_THREADS="${WRK_THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
SEED_RECORDS="${SEED_RECORDS:-2000}"
SEED_PRINCIPALS="${SEED_PRINCIPALS:-500}"
RESULTS_CSV="${RESULTS_CSV:-}"
LABEL="${LABEL:-}"
TENANT=bench
COLLECTION=contacts

server_pid=""
child_pid=""

# Fails unless the binary and the tools every HTTP benchmark needs are there.
bench_check_tools() {
  [[ -x "$PIIVAULT_BIN" ]] || die "no executable at $PIIVAULT_BIN (build first, or set PIIVAULT_BIN)"
  command -v "$WRK" >/dev/null || die "wrk not found (apt-get install wrk)"
  command -v curl >/dev/null || die "curl not found"
  command -v jq >/dev/null || die "jq not found"
  [[ "$DURATION" =~ ^[0-9]+[smh]?$ ]] || die "DURATION must look like 10s"
}

# Part of the callers' cleanup: ends the running child and stops the server
# (SIGTERM, SIGKILL only if it hangs for 10 s).
bench_stop_processes() {
  if [[ -n "$child_pid" ]]; then kill -TERM "$child_pid" 2>/dev/null || true; fi
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # Graceful stop first; SIGKILL only if it hangs.
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}

# bench_make_tmp NAME LOGNAME: the run's temp dir (tmp, with pg_env in it
# for bench_pg_start) and the cleanup that runs on exit, INT or TERM: stops
# the child, the server and PostgreSQL (if started), copies the server log
# to ./LOGNAME_server.log when KEEP_LOG=1, removes the temp dir.
bench_make_tmp() {
  tmp="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/piivault-$1-XXXXXX")"
  pg_env="$tmp/pg.env"
  bench_log_copy="./$2_server.log"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bench_stop_processes
  bench_pg_stop
  if [[ "${KEEP_LOG:-0}" == 1 && -f "$tmp/server.log" ]]; then
    cp "$tmp/server.log" "$bench_log_copy" || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}

# The lines every report starts with (after its title).
bench_print_setup() {
  echo "binary:   $PIIVAULT_BIN"
  echo "wrk:      $("$WRK" -v 2>&1 | head -n1)"
  echo "settings: -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency (keep-alive)"
  echo "machine:  $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)"
  echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (start)"
}

# bench_wait_child OUTFILE MESSAGE: waits for the background child_pid; on
# failure prints OUTFILE and dies with MESSAGE.
bench_wait_child() {
  wait "$child_pid" || { cat "$1" >&2; die "$2"; }
  child_pid=""
}

# bench_start_server CONFIG: serves CONFIG on a free loopback port (port 0:
# the kernel picks one) and waits until the log says it listens.
bench_start_server() {
  "$PIIVAULT_BIN" serve --config "$1" \
    --listen 127.0.0.1:0 2>"$tmp/server.log" >/dev/null &
  server_pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$tmp/server.log" | head -n1)"
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "server exited"; }
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat "$tmp/server.log" >&2; die "server did not report its port"; }
  base="http://127.0.0.1:$port"
}

# api METHOD PATH KEY [BODY] -> prints the body; fails unless 2xx.
api() {
  local method=$1 path=$2 key=$3 body=${4:-}
  local args=(-sS --max-time 30 -X "$method" -H "Authorization: Bearer $key"
              -H "X-Purpose: service_delivery" -w '\n%{http_code}')
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local out code
  out="$(curl "${args[@]}" "$base$path")" || die "curl $method $path failed"
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  [[ "$code" == 2* ]] || die "$method $path -> HTTP $code: $out"
  printf '%s' "$out"
}

# bench_setup_collection ADMIN_KEY: tenant, tenant-admin (-> tenant_key) and
# the collection (email searchable, name, phone, date, integer).
bench_setup_collection() {
  local admin_key=$1
  api POST /v1/tenants "$admin_key" \
    "{\"id\":\"$TENANT\",\"name\":\"Bench\",\"regions\":[\"eu\"],\"default_region\":\"eu\"}" >/dev/null
  tenant_key="$(api POST "/v1/tenants/$TENANT/identities" "$admin_key" \
    '{"name":"bench-admin","role":"tenant-admin"}' | jq -er .api_key)" ||
    die "no api_key in the identity response"
  api PUT "/v1/tenants/$TENANT/collections/$COLLECTION" "$tenant_key" \
    '{"fields":[{"name":"email","type":"email","required":true,"searchable":true},
                {"name":"name","type":"name"},{"name":"phone","type":"phone"},
                {"name":"birth_date","type":"date"},
                {"name":"loyalty_points","type":"integer"}]}' >/dev/null
}

# The number of distinct principals the seeded records belong to.
bench_principals() {
  echo "$((SEED_PRINCIPALS < SEED_RECORDS ? SEED_PRINCIPALS : SEED_RECORDS))"
}

# bench_seed: SEED_RECORDS records of SEED_PRINCIPALS principals
# ("p-<i % SEED_PRINCIPALS>", e-mail "seed-<i>@example.org"), one curl process
# with 32 requests in flight; their ids go to $tmp/ids.txt.
bench_seed() {
  local records_url="$base/v1/tenants/$TENANT/collections/$COLLECTION/records"
  {
    for ((i = 0; i < SEED_RECORDS; i++)); do
      printf 'next\n'
      printf 'url = "%s"\n' "$records_url"
      printf 'max-time = 60\n'
      printf 'header = "Authorization: Bearer %s"\n' "$tenant_key"
      printf 'header = "X-Purpose: service_delivery"\n'
      printf 'header = "Content-Type: application/json"\n'
      printf 'data = "{\\"principal\\":\\"p-%d\\",\\"fields\\":{\\"email\\":\\"seed-%d@example.org\\",\\"name\\":\\"Anna Maria Muller\\",\\"phone\\":\\"+49 151 2345 6789\\",\\"birth_date\\":\\"1987-04-12\\",\\"loyalty_points\\":%d}}"\n' \
        $((i % SEED_PRINCIPALS)) "$i" $((i % 1000))
    done
  } | sed '1d' >"$tmp/seed.curl"   # no leading "next"
  local seed_start seed_end seeded
  seed_start=$(date +%s.%N)
  # (-s, -S and --parallel are global options; the bodies are concatenated JSON
  # objects, which jq reads as a stream.)
  curl -sS --no-progress-meter --parallel --parallel-max 32 -K "$tmp/seed.curl" \
    >"$tmp/seed.out" 2>"$tmp/seed.err" &
  child_pid=$!
  bench_wait_child "$tmp/seed.err" "seeding failed"
  seed_end=$(date +%s.%N)
  jq -r 'select(.id != null) | .id' <"$tmp/seed.out" >"$tmp/ids.txt" ||
    die "seed responses are not JSON"
  seeded=$(wc -l <"$tmp/ids.txt")
  [[ "$seeded" -eq "$SEED_RECORDS" ]] ||
    die "seeded $seeded of $SEED_RECORDS records: $(grep -m1 error "$tmp/seed.out" || true)"
  printf 'seeded:   %d records of %d principals in %.1f s (curl, 32 in flight)\n' \
    "$seeded" "$(bench_principals)" "$(echo "$seed_end - $seed_start" | bc -l)"
}

# What the wrk scripts read.
bench_export_wrk_env() {
  PV_PRINCIPALS="$(bench_principals)"
  export PV_TOKEN="$tenant_key" PV_IDS="$tmp/ids.txt" PV_TENANT="$TENANT" \
    PV_COLLECTION="$COLLECTION" PV_PRINCIPALS
}

clk_tck=$(getconf CLK_TCK)
# CPU time (user + system, in clock ticks) the server process has used.
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# wrk_run NAME SCRIPT PATH -> sets R_<NAME>_{rps,p50,p99,non2xx,sockerr,cpu_us}
wrk_run() {
  local name=$1 script=$2 path=$3 out line ticks0 ticks1
  ticks0=$(server_ticks)
  local perf_pid=""
  if [[ -n "${PROFILE_DIR:-}" ]]; then
    # Samples the server alone (call graphs from DWARF: the build keeps no
    # frame pointers) for the whole wrk run. DWARF samples copy raw stack
    # bytes into the file (mode 0600): fine for the benchmarks' throw-away
    # deployments and synthetic records, never point it at real data.
    perf record -q -F 499 --call-graph dwarf,16384 -p "$server_pid" \
      -o "$PROFILE_DIR/perf_$name.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  "$WRK" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    --timeout 10s -s "$here/wrk/$script" "$base$path" >"$tmp/wrk_$name.out" 2>&1 &
  child_pid=$!
  bench_wait_child "$tmp/wrk_$name.out" "wrk failed for $name"
  ticks1=$(server_ticks)
  if [[ -n "$perf_pid" ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  out="$(cat "$tmp/wrk_$name.out")"
  echo "--- wrk $name ($path)"
  echo "$out" | sed -n '/Thread Stats/,/Transfer\/sec/p' | sed 's/^/    /'
  line="$(echo "$out" | grep '^RESULT ' | tail -n1)"
  [[ -n "$line" ]] || { echo "$out" >&2; die "no RESULT line from $script"; }
  local requests duration p50 p99 non2xx sockerr
  requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  duration=$(sed -n 's/.*duration_us=\([0-9]*\).*/\1/p' <<<"$line")
  p50=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  non2xx=$(sed -n 's/.*non2xx=\([0-9]*\).*/\1/p' <<<"$line")
  sockerr=$(sed -n 's/.*socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
  printf -v "R_${name}_rps" '%s' "$(echo "$requests * 1000000 / $duration" | bc -l)"
  printf -v "R_${name}_p50" '%s' "$p50"
  printf -v "R_${name}_p99" '%s' "$p99"
  printf -v "R_${name}_non2xx" '%s' "$non2xx"
  printf -v "R_${name}_sockerr" '%s' "$sockerr"
  # Server CPU per request: independent of how much CPU wrk itself took.
  printf -v "R_${name}_cpu_us" '%s' \
    "$(echo "($ticks1 - $ticks0) * 1000000 / $clk_tck / $requests" | bc -l)"
  bench_server_memory
  printf -v "R_${name}_rss_kb" '%s' "$mem_rss_kb"
  printf -v "R_${name}_hwm_kb" '%s' "$mem_hwm_kb"
  echo "    server RSS after the run: $(mib "$mem_rss_kb") MiB, peak $(mib "$mem_hwm_kb") MiB"
}

# bench_server_memory -> mem_rss_kb, mem_hwm_kb: the server's resident set
# now and its peak (VmRSS, VmHWM of /proc/PID/status, KiB).
bench_server_memory() {
  mem_rss_kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")"
  mem_hwm_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")"
}

# ratio A B -> A / B
ratio() { echo "$1 / $2" | bc -l; }

# mib KIB -> MiB with one decimal.
mib() { printf '%.1f' "$(echo "$1 / 1024" | bc -l)"; }

# bench_goal WHAT MEASURED OP GOAL: one line "goal WHAT: 0.62x vs >= 0.5x MET"
# (OP is >= or <=).
bench_goal() {
  local what=$1 measured=$2 op=$3 goal=$4 verdict="NOT MET"
  if [[ "$(echo "$measured $op $goal" | bc -l)" == 1 ]]; then verdict="MET"; fi
  printf 'goal %s: %.2fx vs %s %sx %s\n' "$what" "$measured" "$op" "$goal" "$verdict"
}

# The revision the results belong to ("-dirty" when src/ or bench/ has
# uncommitted changes).
bench_git_rev() {
  local rev
  rev="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)" || { echo unknown; return; }
  git -C "$repo" diff --quiet HEAD -- src bench 2>/dev/null || rev="$rev-dirty"
  echo "$rev"
}

BENCH_CSV_HEADER="date,git_rev,label,backend,endpoint,records,rps,p50_us,p99_us,\
cpu_us_per_req,rss_kb,hwm_kb,disk_kb,disk_bytes_per_record,json_bytes_per_record,\
ratio_rps,ratio_cpu,ratio_p99"

# bench_csv_row BACKEND ENDPOINT RECORDS RPS P50_US P99_US CPU_US RSS_KB HWM_KB
#               DISK_KB DISK_B_PER_REC JSON_B_PER_REC RATIO_RPS RATIO_CPU
#               RATIO_P99
# Appends one row to RESULTS_CSV (nothing when unset). Empty arguments stay
# empty cells; numbers are rounded (rates and µs to integers, ratios to 3
# decimals).
bench_csv_row() {
  [[ -n "$RESULTS_CSV" ]] || return 0
  [[ -s "$RESULTS_CSV" ]] || echo "$BENCH_CSV_HEADER" >"$RESULTS_CSV"
  [[ -n "${bench_rev:-}" ]] || bench_rev="$(bench_git_rev)"
  local row=("$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$bench_rev" "${LABEL//,/ }" "$1" "$2" "$3")
  shift 3
  local i=0 v
  for v in "$@"; do
    i=$((i + 1))
    if [[ -z "$v" ]]; then row+=("")
    elif ((i >= 10)); then row+=("$(printf '%.3f' "$v")")
    else row+=("$(printf '%.0f' "$v")"); fi
  done
  (IFS=,; echo "${row[*]}") >>"$RESULTS_CSV"
}

# ms MICROSECONDS -> milliseconds with two decimals ("0.85", "12.40").
ms() { echo "scale=2; $1 / 1000" | bc -l | sed 's/^\./0./'; }

# bench_csv_wrk BACKEND NAME RECORDS DISK_KB [BASE [DISK_B JSON_B]]: the CSV
# row of wrk run NAME (R_<NAME>_*), with rate, CPU and p99 ratios to wrk run
# BASE when given, and the bytes on disk and of plaintext JSON per record.
# The endpoint column is NAME after bench_csv_prefix (scale_load.sh: scale_).
bench_csv_wrk() {
  local backend=$1 name=$2 records=$3 disk_kb=$4 b=${5:-} disk_b=${6:-} json_b=${7:-}
  local r="R_${name}_rps" p50="R_${name}_p50" p99="R_${name}_p99" cpu="R_${name}_cpu_us"
  local rss="R_${name}_rss_kb" hwm="R_${name}_hwm_kb"
  local ratio_rps="" ratio_cpu="" ratio_p99=""
  if [[ -n "$b" ]]; then
    local br="R_${b}_rps" bcpu="R_${b}_cpu_us" bp99="R_${b}_p99"
    ratio_rps="$(ratio "${!r}" "${!br}")"
    ratio_cpu="$(ratio "${!cpu}" "${!bcpu}")"
    ratio_p99="$(ratio "${!p99}" "${!bp99}")"
  fi
  bench_csv_row "$backend" "${bench_csv_prefix:-}$name" "$records" \
    "${!r}" "${!p50}" "${!p99}" "${!cpu}" "${!rss}" "${!hwm}" "$disk_kb" "$disk_b" \
    "$json_b" "$ratio_rps" "$ratio_cpu" "$ratio_p99"
}

# bench_dir_kb DIR -> KiB the directory takes on disk.
bench_dir_kb() { du -sk "$1" | cut -f1; }

# bench_wait_healthy: waits until GET /healthz answers 200 (a server on
# PostgreSQL may listen before its pools are up).
bench_wait_healthy() {
  for _ in $(seq 1 100); do
    curl -sf --max-time 5 "$base/healthz" >/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "server exited"; }
    sleep 0.1
  done
  cat "$tmp/server.log" >&2
  die "server not healthy"
}

# --- PostgreSQL (pg_http_load.sh; scale_load.sh with BACKEND=pg) -------------
# pg_env (the env file scripts/start-postgres writes) comes from
# bench_make_tmp, whose cleanup stops the cluster.
POOL_SIZE="${POOL_SIZE:-16}"
SERVER_THREADS="${SERVER_THREADS:-0}"

# bench_pg_tools -> pg_tools, PSQL and pick_tool NAME (PostgreSQL 15's NAME,
# else NAME on PATH); fails without psql or scripts/start-postgres.
bench_pg_tools() {
  pg_tools="${PIIVAULT_PG_BIN:-/usr/lib/postgresql/15/bin}"  # as scripts/start-postgres
  pick_tool() {
    if [[ -x "$pg_tools/$1" ]]; then echo "$pg_tools/$1"; else command -v "$1" || true; fi
  }
  PSQL="${PSQL:-$(pick_tool psql)}"
  [[ -n "$PSQL" && -x "$PSQL" ]] || die "psql not found (apt-get install postgresql-client)"
  [[ -x "$repo/scripts/start-postgres" ]] || die "no scripts/start-postgres"
  [[ "$POOL_SIZE" =~ ^[0-9]+$ && "$SERVER_THREADS" =~ ^[0-9]+$ ]] ||
    die "POOL_SIZE and SERVER_THREADS must be numbers"
}

# bench_pg_start: a throw-away cluster (scripts/start-postgres) -> pg_base
# (postgresql://postgres@127.0.0.1:PORT), pg_dir.
bench_pg_start() {
  "$repo/scripts/start-postgres" "$pg_env" >/dev/null || die "scripts/start-postgres failed"
  local pg_url
  pg_url="$(sed -n 's/^PIIVAULT_TEST_PG_URL=//p' "$pg_env" | head -n1)"
  pg_dir="$(sed -n 's/^PIIVAULT_TEST_PG_DIR=//p' "$pg_env" | head -n1)"
  [[ "$pg_url" == postgresql://*/postgres && -d "$pg_dir/data" ]] ||
    die "unexpected contents of $pg_env"
  pg_base="${pg_url%/postgres}"
}

bench_pg_stop() {
  if [[ -n "${pg_env:-}" && -f "$pg_env" ]]; then
    "$repo/scripts/stop-postgres" "$pg_env" >/dev/null ||
      echo "could not stop PostgreSQL ($pg_env)" >&2
  fi
}

# sql DB SQL -> runs SQL in database DB, prints rows unaligned (a|b|c).
sql() {
  "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$pg_base/$1" -c "$2" ||
    die "psql failed in $1: $2"
}

# bench_pg_deploy DIR: creates the databases pv_control, pv_eu, pv_us and a
# deployment in DIR on them: the default config of `piivault init` with the
# three SQLite stores replaced by the databases, [storage] pool_size =
# POOL_SIZE, [server] threads = SERVER_THREADS, then `piivault init`.
bench_pg_deploy() {
  local dir=$1 db
  for db in pv_control pv_eu pv_us; do sql postgres "CREATE DATABASE $db" >/dev/null; done
  "$PIIVAULT_BIN" init --dir "$tmp/defaults" >"$tmp/init.out" 2>&1 ||
    { cat "$tmp/init.out" >&2; die "piivault init (defaults) failed"; }
  mkdir -m 700 "$dir"
  sed -e "s#^backend = \"sqlite://\(control\|eu\|us\)\.db\"#backend = \"$pg_base/pv_\1\"#" \
    -e "s#^pool_size = [0-9]*#pool_size = $POOL_SIZE#" \
    -e "s#^threads = [0-9]*#threads = $SERVER_THREADS#" \
    "$tmp/defaults/piivault.toml" >"$dir/piivault.toml"
  if [[ "$(grep -c '^backend = "postgresql://' "$dir/piivault.toml")" -ne 3 ]] ||
    grep -q 'sqlite://' "$dir/piivault.toml"; then
    die "the default config no longer has sqlite://{control,eu,us}.db backends"
  fi
  # init keeps an existing piivault.toml and writes the keys next to it.
  "$PIIVAULT_BIN" init --dir "$dir" >"$tmp/init.out" 2>&1 ||
    { cat "$tmp/init.out" >&2; die "piivault init failed"; }
}

# bench_pg_disk_kb -> KiB of piivault's three databases.
bench_pg_disk_kb() {
  sql postgres "SELECT sum(pg_database_size(datname)) / 1024 FROM pg_database
    WHERE datname IN ('pv_control', 'pv_eu', 'pv_us')"
}
