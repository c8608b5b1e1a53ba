#!/usr/bin/env bash
# The README's quick start and walkthrough, as a user runs them: `make run`
# (in a fresh data directory, on a free port), then the curl walkthrough
# exactly as written, checking what it prints.
# Usage: readme_walkthrough_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
readme=$src/README.md

work=$(mktemp -d)
server_pid=
cleanup() {
  # make runs the server as a child: stop the whole process group.
  if [ -n "$server_pid" ]; then kill -TERM -- "-$server_pid" 2>/dev/null || true; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# The walkthrough block sits between the two markers, inside a ```sh fence.
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' "$readme" |
  sed '1,2d;$d' | sed '$d' > "$work/walkthrough.sh"
[ -s "$work/walkthrough.sh" ] || fail "no walkthrough block found in the README"
grep -q 'curl' "$work/walkthrough.sh" || fail "the walkthrough has no curl commands"

cd "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
setsid make -s -C "$src" run BUILD="$build" DATA="$work/data" LISTEN="127.0.0.1:$port" \
  > make-run.out 2> server.log &
server_pid=$!
for _ in $(seq 1200); do
  curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" > /dev/null ||
  { cat make-run.out server.log; fail "make run did not serve"; }
grep -q "Operator-admin API key" make-run.out || fail "make run did not initialize data"

PIIVAULT_ADDR="http://127.0.0.1:$port" bash -euo pipefail walkthrough.sh > out.txt ||
  { cat out.txt; fail "the walkthrough exited non-zero"; }

cat out.txt
# Tenant, collection, record read-back and search results are all printed.
grep -q '"id":"acme"' out.txt || fail "tenant creation output missing"
grep -q '"name":"customers"' out.txt || fail "collection output missing"
grep -q '"email":"Ada@example.com"' out.txt || fail "record not read back normalized"
grep -q '"phone":"+442079460958"' out.txt || fail "phone not in E.164"
record_id=$(grep -o '"id":"rec_[a-z2-7]*"' out.txt | head -1)
[ -n "$record_id" ] || fail "no record id printed"
[ "$(grep -c "$record_id" out.txt)" -ge 2 ] || fail "search did not return the record"
grep -q '"records":\[{' out.txt || fail "search returned no records"
grep -q '{"principal":"cust-1001","region":"us"}' out.txt || fail "relocation output missing"
grep -q '{"id":"us","countries":\["US"\],"principals":1,"records":1' out.txt ||
  fail "locations report does not count the relocated principal in us"
echo "1 passed, 0 failed"
