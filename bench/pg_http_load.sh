#!/usr/bin/env bash
# HTTP load test of `piivault serve` on PostgreSQL storage, with a plain-SQL
# baseline (pgbench) against the same PostgreSQL server in the same run.
#
# Builds nothing: uses an existing binary. In one run it
#   1. starts a throw-away PostgreSQL 15 cluster (scripts/start-postgres) and
#      creates the databases pv_control, pv_eu, pv_us (piivault's stores) and
#      pv_baseline (with pgcrypto),
#   2. deploys piivault on them: the default config of `piivault init` with
#      the three sqlite:// backends replaced by the PostgreSQL databases,
#      `piivault init --dir DIR` on it, `piivault serve` on a free loopback
#      port,
#   3. seeds records like bench/http_load.sh (same tenant, collection, fields,
#      SEED_RECORDS/SEED_PRINCIPALS) and runs wrk with the same scripts:
#      GET /healthz, GET of random seeded records, POST of unique records,
#   4. seeds the same rows into a plain table per baseline variant and runs
#      pgbench with the same duration and client count: a read (one random
#      row by id, every field decrypted) and a write (one row, every field
#      encrypted) per transaction,
#   5. prints requests/s resp. TPS, p50/p99, the ratios piivault / baseline
#      and the CPU split (piivault, postgres, wrk/pgbench) of every phase,
#      one line per goal of issue 15 (MET or NOT MET), the server's RSS and
#      the size of piivault's databases, and appends CSV rows (RESULTS_CSV:
#      piivault's endpoints, and each pgbench run as pgbench_<read|write>_<v>
#      with postgres' CPU per transaction),
# then stops the server and the cluster and removes the temp dir, also on
# failure or interruption.
#
# Baseline variants (BASELINES, default "pgp aes plain"; the first is the one
# the ratio goal is about):
#   pgp    pgcrypto pgp_sym_encrypt/pgp_sym_decrypt with a fixed passphrase
#          (pgcrypto's defaults: AES-128, iterated-salted S2K key derivation
#          per value), e-mail blind index hmac(lower(email), key, 'sha256')
#   aes    pgcrypto raw encrypt/decrypt(..., 'aes') with a fixed 256-bit key
#          (CBC, zero IV, no integrity check: cheaper and weaker than piivault)
#   plain  no encryption at all: the cost of the SQL itself
#
# Environment (all optional):
#   PIIVAULT_BIN    binary (default: <repo>/build/bin/piivault)
#   WRK             wrk binary (default: wrk)
#   PSQL, PGBENCH   default: PostgreSQL 15's (PIIVAULT_PG_BIN, default
#                   /usr/lib/postgresql/15/bin), else the ones on PATH
#   DURATION        wrk -d and pgbench -T per run (default: 10s)
#   WRK_THREADS     wrk -t and pgbench -j (default: 2)
#   CONNECTIONS     wrk -c and pgbench -c (default: 64)
#   SEED_RECORDS    records/rows seeded before the runs (default: 2000)
#   SEED_PRINCIPALS principals they belong to (default: 500)
#   POOL_SIZE       [storage] pool_size, connections per backend (default: 16)
#   SERVER_THREADS  [server] threads, 0 = one per core (default: 0)
#   BASELINES       baseline variants to run, see above (default: pgp aes plain)
#   PG_STATS=1      restart the cluster with pg_stat_statements and print the
#                   SQL statements per piivault request (adds some overhead
#                   to every phase, piivault's and pgbench's alike)
#   BENCH_TMPDIR    parent of the temp dir (default: $TMPDIR or /tmp)
#   KEEP_LOG=1      copy the server log to ./pg_http_load_server.log at the end
#   RESULTS_CSV     append CSV rows to this file (bench/lib.sh has the columns;
#                   bench/plot.sh draws them)
#   LABEL           the rows' label, e.g. before / after
#   PROFILE_DIR     if set, `perf record` samples the server during each wrk run
#                   into PROFILE_DIR/perf_<endpoint>.data (perf report -i ...)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
BASELINES="${BASELINES:-pgp aes plain}"
PG_STATS="${PG_STATS:-0}"
# The fixed key of the baselines, as do-it-yourself setups keep one in their
# config (a passphrase for pgp, 32 bytes in hex for aes and the blind index).
BASELINE_KEY=6b1f0c3e9a5d47f28e0b6c1d2a3f4e5b7c8d9e0f1a2b3c4d5e6f708192a3b4c5

die() { echo "pg_http_load: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$here/lib.sh"   # seeding, wrk runs and server handling, shared

bench_check_tools
bench_pg_tools
PGBENCH="${PGBENCH:-$(pick_tool pgbench)}"
[[ -n "$PGBENCH" && -x "$PGBENCH" ]] || die "pgbench not found (apt-get install postgresql-15)"
for v in $BASELINES; do
  [[ "$v" =~ ^(pgp|aes|plain)$ ]] || die "unknown baseline variant '$v' (pgp, aes, plain)"
done
[[ -n "${BASELINES// /}" ]] || die "BASELINES is empty"
# pgbench -T takes seconds.
case "$DURATION" in
  *h) secs=$((${DURATION%h} * 3600)) ;;
  *m) secs=$((${DURATION%m} * 60)) ;;
  *) secs=${DURATION%s} ;;
esac
((secs > 0)) || die "DURATION must be at least 1s"

bench_make_tmp pghttp pg_http_load

echo "== piivault HTTP load test on PostgreSQL, with a pgbench baseline"
bench_print_setup
echo "pgbench:  $("$PGBENCH" --version) -c$CONNECTIONS -j$WRK_THREADS -T$secs -M prepared -n"

# --- 1. PostgreSQL ----------------------------------------------------------
bench_pg_start

if [[ "$PG_STATS" == 1 ]]; then
  # A preload library needs a restart, which pg_ctl refuses as root: run it
  # as the data dir's owner (start-postgres runs the cluster as nobody).
  sql postgres "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
  as_pg_owner=()
  if [[ "$(id -u)" -eq 0 ]]; then
    as_pg_owner=(setpriv --reuid="$(stat -c %u "$pg_dir/data")"
                 --regid="$(stat -c %g "$pg_dir/data")" --clear-groups
                 env HOME=/nonexistent)
  fi
  "${as_pg_owner[@]}" "$pg_tools/pg_ctl" restart -D "$pg_dir/data" -m fast -w -t 60 \
    -l "$pg_dir/server.log" >"$tmp/pg_restart.log" 2>&1 ||
    { cat "$tmp/pg_restart.log" >&2; die "could not restart PostgreSQL with pg_stat_statements"; }
fi
sql postgres "CREATE DATABASE pv_baseline" >/dev/null
sql pv_baseline "CREATE EXTENSION pgcrypto" >/dev/null
if [[ "$PG_STATS" == 1 ]]; then
  sql pv_baseline "CREATE EXTENSION pg_stat_statements" >/dev/null
fi
echo "postgres: $(sql postgres "SHOW server_version" | cut -d' ' -f1) on ${pg_base#*@}" \
  "(fsync=$(sql postgres "SHOW fsync"), synchronous_commit=$(sql postgres "SHOW synchronous_commit")," \
  "shared_buffers=$(sql postgres "SHOW shared_buffers"))"

# --- 2. piivault on PostgreSQL ----------------------------------------------
bench_pg_deploy "$tmp/data"
admin_key="$(tr -d '[:space:]' <"$tmp/data/admin.key")"
bench_start_server "$tmp/data/piivault.toml"
bench_wait_healthy
echo "server:   $base (pid $server_pid, pool_size $POOL_SIZE, threads $SERVER_THREADS)"

# --- 3. tenant, tenant-admin, collection; seed records ----------------------
bench_setup_collection "$admin_key"
bench_seed
bench_export_wrk_env
principals="$(bench_principals)"

# --- 4. baseline tables: the same rows, plain SQL ---------------------------
# The SQL of variant V for encrypting a text expression X (enc), decrypting a
# column C (dec), the e-mail blind index (bidx), the column type (typ). KEY
# is replaced by the key: a literal when seeding, a pgbench variable in runs.
enc() {
  case $1 in
    pgp) echo "pgp_sym_encrypt($2, KEY)" ;;
    aes) echo "encrypt(convert_to($2, 'UTF8'), decode(KEY, 'hex'), 'aes')" ;;
    plain) echo "$2" ;;
  esac
}
dec() {
  case $1 in
    pgp) echo "pgp_sym_decrypt($2, KEY)" ;;
    aes) echo "convert_from(decrypt($2, decode(KEY, 'hex'), 'aes'), 'UTF8')" ;;
    plain) echo "$2" ;;
  esac
}
bidx() {
  case $1 in
    plain) echo "lower($2)" ;;
    *) echo "hmac(lower($2), KEY, 'sha256')" ;;
  esac
}
typ() { if [[ $1 == plain ]]; then echo text; else echo bytea; fi; }
key_literal="'$BASELINE_KEY'"

for v in $BASELINES; do
  t="contacts_$v"; ty="$(typ "$v")"
  email="'seed-' || i || '@example.org'"
  seed_start=$(date +%s.%N)
  # ids 0..SEED_RECORDS-1 for the reads; the writes continue after them.
  sql pv_baseline "CREATE TABLE $t (
      id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH $SEED_RECORDS) PRIMARY KEY,
      principal text NOT NULL, email $ty NOT NULL, email_bidx $ty NOT NULL,
      name $ty, phone $ty, birth_date $ty, loyalty_points $ty);
    CREATE INDEX ON $t (principal);
    CREATE INDEX ON $t (email_bidx);" >/dev/null
  sql pv_baseline "$(
    cat <<EOF | sed "s/KEY/$key_literal/g"
INSERT INTO $t (id, principal, email, email_bidx, name, phone, birth_date, loyalty_points)
SELECT i, 'p-' || (i % $SEED_PRINCIPALS), $(enc "$v" "$email"), $(bidx "$v" "$email"),
       $(enc "$v" "'Anna Maria Muller'"), $(enc "$v" "'+49 151 2345 6789'"),
       $(enc "$v" "'1987-04-12'"), $(enc "$v" "(i % 1000)::text")
FROM generate_series(0, $((SEED_RECORDS - 1))) AS i
EOF
  )" >/dev/null
  sql pv_baseline "VACUUM ANALYZE $t" >/dev/null
  # The pgbench scripts: -M prepared sends the variables as parameters.
  {
    echo "\\set id random(0, :rows - 1)"
    echo "SELECT principal, $(dec "$v" email), $(dec "$v" name), $(dec "$v" phone)," \
      "$(dec "$v" birth_date), $(dec "$v" loyalty_points) FROM $t WHERE id = :id;"
  } | sed 's/KEY/:key/g' >"$tmp/read_$v.sql"
  wemail="'load-' || :client_id || '-' || :n || '@example.org'"
  {
    echo "\\set n random(1, 2000000000)"
    echo "\\set p random(0, :principals - 1)"
    echo "\\set pts random(0, 999)"
    echo "INSERT INTO $t (principal, email, email_bidx, name, phone, birth_date, loyalty_points)" \
      "VALUES ('p-' || :p, $(enc "$v" "$wemail"), $(bidx "$v" "$wemail")," \
      "$(enc "$v" "'Anna Maria Müller'"), $(enc "$v" "'+49 151 2345 6789'")," \
      "$(enc "$v" "'1987-04-12'"), $(enc "$v" ":pts::text"));"
  } | sed 's/KEY/:key/g' >"$tmp/write_$v.sql"
  seed_end=$(date +%s.%N)
  printf 'baseline: %-5s %d rows of %d principals in %.1f s (%s)\n' "$v" \
    "$(sql pv_baseline "SELECT count(*) FROM $t")" \
    "$(sql pv_baseline "SELECT count(DISTINCT principal) FROM $t")" \
    "$(echo "$seed_end - $seed_start" | bc -l)" "$(dec "$v" email | sed "s/KEY/key/")"
done

# --- CPU accounting ---------------------------------------------------------
# cpu_snapshot -> "SERVER POSTGRES CLIENTS BUSY TOTAL" in clock ticks:
#   SERVER   piivault serve (user + system)
#   POSTGRES the postmaster and all its children, including the exited ones
#            (the postmaster reaps them: their time is in its cutime/cstime)
#   CLIENTS  this script's reaped children: wrk, pgbench (and a few psql/awk)
#   BUSY, TOTAL  all CPUs from /proc/stat (busy = not idle, not iowait)
cpu_snapshot() {
  local pm srv pg self
  pm="$(head -n1 "$pg_dir/data/postmaster.pid")"
  srv="$(server_ticks)"
  # After "pid (comm) ": $1 state, $2 ppid, $12/$13 utime/stime,
  # $14/$15 cutime/cstime.
  pg="$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '
    { pid = $1; sub(/^.*\) /, "")
      if (pid == pm) t += $12 + $13 + $14 + $15; else if ($2 == pm) t += $12 + $13 }
    END { print t + 0 }')"
  self="$(sed 's/^.*) //' "/proc/$$/stat" | awk '{print $14 + $15}')"
  echo "$srv $pg $self $(awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6}' /proc/stat)"
}
# cpu_delta NAME REQUESTS SNAP0 SNAP1 -> sets C_<NAME>_{srv,pg,cli,other,idle}
# (percent of all CPUs) and C_<NAME>_{srv_us,pg_us} (CPU µs per request).
cpu_delta() {
  local name=$1 n=$2 s0 p0 c0 b0 t0 s1 p1 c1 b1 t1
  read -r s0 p0 c0 b0 t0 <<<"$3"
  read -r s1 p1 c1 b1 t1 <<<"$4"
  local total=$((t1 - t0)); ((total > 0)) || total=1
  local srv=$((s1 - s0)) pg=$((p1 - p0)) cli=$((c1 - c0)) busy=$((b1 - b0))
  printf -v "C_${name}_srv" '%.0f' "$(echo "100 * $srv / $total" | bc -l)"
  printf -v "C_${name}_pg" '%.0f' "$(echo "100 * $pg / $total" | bc -l)"
  printf -v "C_${name}_cli" '%.0f' "$(echo "100 * $cli / $total" | bc -l)"
  printf -v "C_${name}_other" '%.0f' "$(echo "o = 100 * ($busy - $srv - $pg - $cli) / $total; if (o < 0) o = 0; o" | bc -l)"
  printf -v "C_${name}_idle" '%.0f' "$(echo "100 * ($total - $busy) / $total" | bc -l)"
  printf -v "C_${name}_srv_us" '%.0f' "$(echo "$srv * 1000000 / $clk_tck / $n" | bc -l)"
  printf -v "C_${name}_pg_us" '%.0f' "$(echo "$pg * 1000000 / $clk_tck / $n" | bc -l)"
}

# pg_stat_statements (PG_STATS=1): statements per request of a piivault run.
stats_reset() {
  [[ "$PG_STATS" == 1 ]] || return 0
  sql pv_baseline "SELECT pg_stat_statements_reset()" >/dev/null
}
stats_report() {  # stats_report NAME REQUESTS
  [[ "$PG_STATS" == 1 ]] || return 0
  local name=$1 n=$2
  echo "    SQL per request ($n requests; pg_stat_statements, all databases):"
  sql pv_baseline "
    SELECT d.datname, round(sum(s.calls) / $n::numeric, 2), round(sum(s.rows) / $n::numeric, 2)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname LIKE 'pv\\_%' AND d.datname <> 'pv_baseline'
    GROUP BY 1 ORDER BY 1" |
    awk -F'|' '{printf "      %-11s %6s statements %6s rows\n", $1, $2, $3}'
  sql pv_baseline "
    SELECT round(s.calls / $n::numeric, 2), d.datname,
           left(regexp_replace(s.query, '\\s+', ' ', 'g'), 80)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname LIKE 'pv\\_%' AND d.datname <> 'pv_baseline'
      AND s.calls >= $n / 20
    ORDER BY s.calls DESC LIMIT 10" |
    awk -F'|' '{printf "      %6s x %-10s %s\n", $1, $2, $3}'
  local out="$tmp/pgss_$name.txt"
  sql pv_baseline "SELECT d.datname, s.calls, s.query FROM pg_stat_statements s
    JOIN pg_database d ON d.oid = s.dbid ORDER BY s.calls DESC" >"$out"
}

# A phase starts from a clean WAL state: no checkpoint of an earlier phase's
# writes in the middle of it.
checkpoint() { sql postgres "CHECKPOINT" >/dev/null; }

# wrk_phase NAME SCRIPT PATH: wrk_run with CPU accounting (and PG_STATS).
wrk_phase() {
  local name=$1 snap0 snap1 requests
  checkpoint
  stats_reset
  snap0="$(cpu_snapshot)"
  wrk_run "$@"
  snap1="$(cpu_snapshot)"
  requests="$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$tmp/wrk_$name.out")"
  cpu_delta "$name" "$requests" "$snap0" "$snap1"
  stats_report "$name" "$requests"
}

# pgbench_phase NAME SCRIPTFILE -> sets B_<NAME>_{tps,p50,p99,n} and C_<NAME>_*
pgbench_phase() {
  local name=$1 file=$2 snap0 snap1 out tps n failed
  out="$tmp/pgbench_$name.out"
  mkdir -p "$tmp/pgblog_$name"
  checkpoint
  snap0="$(cpu_snapshot)"
  "$PGBENCH" -n -M prepared -c "$CONNECTIONS" -j "$WRK_THREADS" -T "$secs" \
    -D key="$BASELINE_KEY" -D rows="$SEED_RECORDS" -D principals="$principals" \
    -f "$file" -l --log-prefix="$tmp/pgblog_$name/tx" "$pg_base/pv_baseline" \
    >"$out" 2>&1 &
  child_pid=$!
  bench_wait_child "$out" "pgbench failed for $name"
  snap1="$(cpu_snapshot)"
  echo "--- pgbench $name ($(basename "$file"))"
  grep -E '^(number of (transactions|failed)|latency average|initial connection|tps)' "$out" |
    sed 's/^/    /'
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")"
  n="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")"
  failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")"
  [[ -n "$tps" && -n "$n" && "$n" -gt 0 ]] || { cat "$out" >&2; die "no result from pgbench $name"; }
  [[ "${failed:-0}" -eq 0 ]] || { cat "$out" >&2; die "pgbench $name: $failed transactions failed"; }
  if grep -qi 'error\|abort' "$out"; then cat "$out" >&2; die "pgbench $name reported errors"; fi
  printf -v "B_${name}_tps" '%s' "$tps"
  printf -v "B_${name}_n" '%s' "$n"
  # Latencies (µs, third column of the per-transaction log) -> p50, p99.
  local pct p50 p99 mean
  pct="$(cat "$tmp/pgblog_$name"/tx.* | awk '{print $3}' | sort -n | awk '
    { a[NR] = $1; sum += $1 }
    END { i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
          if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
          print a[i50], a[i99], (NR ? int(sum / NR) : 0) }')"
  read -r p50 p99 mean <<<"$pct"
  echo "    transaction log: p50 $(ms "$p50") ms, p99 $(ms "$p99") ms, mean $(ms "$mean") ms"
  printf -v "B_${name}_p50" '%s' "$p50"
  printf -v "B_${name}_p99" '%s' "$p99"
  rm -rf "$tmp/pgblog_$name"
  cpu_delta "$name" "$n" "$snap0" "$snap1"
}

# --- 5. the runs: reads, then writes ----------------------------------------
records_path="/v1/tenants/$TENANT/collections/$COLLECTION/records"
wrk_phase healthz healthz.lua /healthz
wrk_phase get get_record.lua "$records_path"
for v in $BASELINES; do pgbench_phase "read_$v" "$tmp/read_$v.sql"; done
wrk_phase post post_record.lua "$records_path"
for v in $BASELINES; do pgbench_phase "write_$v" "$tmp/write_$v.sql"; done

# --- 6. summary -------------------------------------------------------------
first="${BASELINES%% *}"
label() {
  case $1 in
    healthz) echo "piivault GET /healthz" ;;
    get) echo "piivault GET record" ;;
    post) echo "piivault POST record" ;;
    read_pgp | write_pgp) echo "pgbench ${1%_*}, pgcrypto pgp" ;;
    read_aes | write_aes) echo "pgbench ${1%_*}, pgcrypto aes" ;;
    read_plain | write_plain) echo "pgbench ${1%_*}, no crypto" ;;
  esac
}
echo
echo "== results (wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION keep-alive; pgbench -j$WRK_THREADS" \
  "-c$CONNECTIONS -T$secs -M prepared; same PostgreSQL)"
printf '%-30s %9s %8s %8s %9s %6s | %5s %5s %5s %5s %5s | %7s %7s\n' "run" "per s" \
  "p50 ms" "p99 ms" "piivault/" "errors" "pv%" "pg%" "cli%" "oth%" "idle%" \
  "pv us" "pg us"
row() {  # row NAME RATE P50 P99 RATIO ERRORS
  local c="C_$1"
  local srv="${c}_srv" pg="${c}_pg" cli="${c}_cli" oth="${c}_other" idle="${c}_idle"
  local su="${c}_srv_us" pu="${c}_pg_us"
  printf '%-30s %9.0f %8s %8s %9s %6s | %5s %5s %5s %5s %5s | %7s %7s\n' "$(label "$1")" \
    "$2" "$(ms "$3")" "$(ms "$4")" "$5" "$6" "${!srv}" "${!pg}" "${!cli}" "${!oth}" \
    "${!idle}" "${!su}" "${!pu}"
}
for name in healthz get read post write; do
  case $name in
    healthz | get | post)
      n2="R_${name}_non2xx"; se="R_${name}_sockerr"
      r="R_${name}_rps"; p50="R_${name}_p50"; p99="R_${name}_p99"
      row "$name" "${!r}" "${!p50}" "${!p99}" "" "$(( ${!n2} + ${!se} ))" ;;
    read | write)
      if [[ $name == read ]]; then ours=$R_get_rps; else ours=$R_post_rps; fi
      for v in $BASELINES; do
        t="B_${name}_${v}_tps"; p50="B_${name}_${v}_p50"; p99="B_${name}_${v}_p99"
        row "${name}_$v" "${!t}" "${!p50}" "${!p99}" \
          "$(printf '%.2fx' "$(echo "$ours / ${!t}" | bc -l)")" 0
      done ;;
  esac
done
echo "(piivault/: piivault's GET resp. POST requests/s divided by that run's TPS;"
echo " pv% pg% cli% oth% idle%: share of all $(nproc) CPUs used by piivault, postgres, wrk or"
echo " pgbench, anything else, and idle during the run; pv us, pg us: CPU µs per request"
echo " resp. transaction of piivault and of postgres. wrk/pgbench, postgres and piivault"
echo " share the same $(nproc) cores.)"
t="B_read_${first}_tps"; read_ratio="$(echo "$R_get_rps / ${!t}" | bc -l)"
t="B_write_${first}_tps"; write_ratio="$(echo "$R_post_rps / ${!t}" | bc -l)"
printf 'ratio GET / %s read:   %.2fx (%.0f/s vs %.0f TPS)\n' "$first" "$read_ratio" \
  "$R_get_rps" "$(echo "$R_get_rps / $read_ratio" | bc -l)"
printf 'ratio POST / %s write: %.2fx (%.0f/s vs %.0f TPS)\n' "$first" "$write_ratio" \
  "$R_post_rps" "$(echo "$R_post_rps / $write_ratio" | bc -l)"
# The goals (issue 15): against the plain select / insert of the same row
# (the "plain" variant: the cost of the SQL alone), same connections.
if [[ " $BASELINES " == *" plain "* ]]; then
  bench_goal "GET rate / plain SQL select rate" "$(ratio "$R_get_rps" "$B_read_plain_tps")" ">=" 0.5
  bench_goal "POST rate / plain SQL insert rate" "$(ratio "$R_post_rps" "$B_write_plain_tps")" ">=" 0.5
else
  echo "goal GET, POST / plain SQL: not measured (BASELINES has no plain)"
fi
# piivault's three databases on disk (the baseline's not counted).
disk_kb="$(bench_pg_disk_kb)"
bench_server_memory
echo "server RSS: $(mib "$mem_rss_kb") MiB now, $(mib "$mem_hwm_kb") MiB peak (VmRSS, VmHWM);" \
  "databases pv_* $(mib "$disk_kb") MiB ($SEED_RECORDS seeded records and the POSTs)"
bench_csv_wrk pg healthz "$SEED_RECORDS" "$disk_kb"
bench_csv_wrk pg get "$SEED_RECORDS" "$disk_kb" healthz
bench_csv_wrk pg post "$SEED_RECORDS" "$disk_kb" healthz
# The pgbench runs: TPS, latencies and postgres' CPU per transaction; the
# ratio_rps of piivault's GET resp. POST to it.
for name in read write; do
  if [[ $name == read ]]; then ours=$R_get_rps; else ours=$R_post_rps; fi
  for v in $BASELINES; do
    t="B_${name}_${v}_tps"; p50="B_${name}_${v}_p50"; p99="B_${name}_${v}_p99"
    pu="C_${name}_${v}_pg_us"
    bench_csv_row pg "pgbench_${name}_$v" "$SEED_RECORDS" "${!t}" "${!p50}" "${!p99}" \
      "${!pu}" "" "" "" "" "" "$(ratio "$ours" "${!t}")" "" ""
  done
done
if [[ -n "$RESULTS_CSV" ]]; then echo "csv:      rows appended to $RESULTS_CSV"; fi
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (end)"
errors=$((R_healthz_non2xx + R_healthz_sockerr + R_get_non2xx + R_get_sockerr + R_post_non2xx + R_post_sockerr))
if ((errors > 0)); then
  echo "pg_http_load: $errors requests failed (see above)" >&2
  exit 1
fi
