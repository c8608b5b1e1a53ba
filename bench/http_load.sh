#!/usr/bin/env bash
# HTTP load test of a real `piivault serve` on loopback, with wrk.
#
# Builds nothing: uses an existing binary. In one run it
#   1. creates a throw-away deployment in a temp dir (`piivault init`),
#   2. starts `piivault serve` on 127.0.0.1:<free port>,
#   3. creates a tenant, a tenant-admin and a collection, seeds records,
#   4. runs wrk against GET /healthz (the baseline: no auth, no storage),
#      GET of random seeded records and POST of unique records,
#   5. prints requests/s, p50/p99 and the ratios vs the baseline,
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
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
PIIVAULT_BIN="${PIIVAULT_BIN:-$repo/build/bin/piivault}"
WRK="${WRK:-wrk}"
DURATION="${DURATION:-10s}"
WRK_THREADS="${WRK_THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
SEED_RECORDS="${SEED_RECORDS:-2000}"
SEED_PRINCIPALS="${SEED_PRINCIPALS:-500}"
TENANT=bench
COLLECTION=contacts

die() { echo "http_load: $*" >&2; exit 1; }

[[ -x "$PIIVAULT_BIN" ]] || die "no executable at $PIIVAULT_BIN (build first, or set PIIVAULT_BIN)"
command -v "$WRK" >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
command -v jq >/dev/null || die "jq not found"
[[ "$DURATION" =~ ^[0-9]+[smh]?$ ]] || die "DURATION must look like 10s"

tmp="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/piivault-http-XXXXXX")"
server_pid=""
child_pid=""   # a running wrk or curl, waited for in the background so that
               # INT/TERM are handled at once rather than after it finishes

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
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
  if [[ "${KEEP_LOG:-0}" == 1 && -f "$tmp/server.log" ]]; then
    cp "$tmp/server.log" ./http_load_server.log || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== piivault HTTP load test"
echo "binary:   $PIIVAULT_BIN"
echo "wrk:      $("$WRK" -v 2>&1 | head -n1)"
echo "settings: -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency (keep-alive)"
echo "machine:  $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)"
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (start)"

# --- 1. deployment ---------------------------------------------------------
"$PIIVAULT_BIN" init --dir "$tmp/data" >"$tmp/init.out" 2>&1 ||
  { cat "$tmp/init.out" >&2; die "piivault init failed"; }
admin_key="$(tr -d '[:space:]' <"$tmp/data/admin.key")"

# --- 2. server on a free loopback port (port 0: the kernel picks one) -------
"$PIIVAULT_BIN" serve --config "$tmp/data/piivault.toml" \
  --listen 127.0.0.1:0 2>"$tmp/server.log" >/dev/null &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$tmp/server.log" | head -n1)"
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "server exited"; }
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$tmp/server.log" >&2; die "server did not report its port"; }
base="http://127.0.0.1:$port"
echo "server:   $base (pid $server_pid, log in the temp dir)"

# --- 3. tenant, tenant-admin, collection -----------------------------------
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

# --- seed records: one curl process, 32 requests in flight ------------------
records_url="$base/v1/tenants/$TENANT/collections/$COLLECTION/records"
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
seed_start=$(date +%s.%N)
# (-s, -S and --parallel are global options; the bodies are concatenated JSON
# objects, which jq reads as a stream.)
curl -sS --no-progress-meter --parallel --parallel-max 32 -K "$tmp/seed.curl" \
  >"$tmp/seed.out" 2>"$tmp/seed.err" &
child_pid=$!
wait "$child_pid" || { cat "$tmp/seed.err" >&2; die "seeding failed"; }
child_pid=""
seed_end=$(date +%s.%N)
jq -r 'select(.id != null) | .id' <"$tmp/seed.out" >"$tmp/ids.txt" ||
  die "seed responses are not JSON"
seeded=$(wc -l <"$tmp/ids.txt")
[[ "$seeded" -eq "$SEED_RECORDS" ]] ||
  die "seeded $seeded of $SEED_RECORDS records: $(grep -m1 error "$tmp/seed.out" || true)"
printf 'seeded:   %d records of %d principals in %.1f s (curl, 32 in flight)\n' \
  "$seeded" "$((SEED_PRINCIPALS < SEED_RECORDS ? SEED_PRINCIPALS : SEED_RECORDS))" \
  "$(echo "$seed_end - $seed_start" | bc -l)"

# --- 4. wrk runs ------------------------------------------------------------
export PV_TOKEN="$tenant_key" PV_IDS="$tmp/ids.txt" PV_TENANT="$TENANT" \
  PV_COLLECTION="$COLLECTION" \
  PV_PRINCIPALS="$((SEED_PRINCIPALS < SEED_RECORDS ? SEED_PRINCIPALS : SEED_RECORDS))"

clk_tck=$(getconf CLK_TCK)
# CPU time (user + system, in clock ticks) the server process has used.
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# run NAME SCRIPT PATH -> sets R_<NAME>_{rps,p50,p99,non2xx,sockerr,cpu_us}
run() {
  local name=$1 script=$2 path=$3 out line ticks0 ticks1
  ticks0=$(server_ticks)
  "$WRK" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    --timeout 10s -s "$here/wrk/$script" "$base$path" >"$tmp/wrk_$name.out" 2>&1 &
  child_pid=$!
  wait "$child_pid" || { cat "$tmp/wrk_$name.out" >&2; die "wrk failed for $name"; }
  child_pid=""
  ticks1=$(server_ticks)
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
}

run healthz healthz.lua /healthz
run get get_record.lua "/v1/tenants/$TENANT/collections/$COLLECTION/records"
run post post_record.lua "/v1/tenants/$TENANT/collections/$COLLECTION/records"

# --- 5. summary -------------------------------------------------------------
ms() { echo "scale=2; $1 / 1000" | bc -l | sed 's/^\./0./'; }
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

get_ok=$(echo "$R_get_rps >= 15000 && $R_get_p99 < 10000" | bc -l)
if [[ "$get_ok" == 1 ]]; then verdict="MET"; else verdict="NOT MET"; fi
printf 'goal GET >= 15000/s with p99 < 10 ms: %s (%.0f/s, p99 %s ms)\n' \
  "$verdict" "$R_get_rps" "$(ms "$R_get_p99")"
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (end)"
errors=$((R_healthz_non2xx + R_healthz_sockerr + R_get_non2xx + R_get_sockerr + R_post_non2xx + R_post_sockerr))
if ((errors > 0)); then
  echo "http_load: $errors requests failed (see above)" >&2
  exit 1
fi
