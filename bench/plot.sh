#!/usr/bin/env bash
# Draws SVG charts from the CSV the benchmarks append to (RESULTS_CSV of
# bench/http_load.sh, bench/pg_http_load.sh and bench/scale_load.sh; the
# columns are in bench/lib.sh), with gnuplot.
#
#   bench/plot.sh RESULTS.csv [OUTDIR]      (OUTDIR default: docs/perf)
#
# Writes, for each backend B (sqlite, pg) that has rows:
#   rate_B.svg   requests/s per endpoint, one bar per label (e.g. before and
#                after) side by side: the load tests' endpoints (healthz,
#                get, post; on pg also the pgbench baselines, their TPS)
#   p99_B.svg    the same for the p99 latency (ms)
# (log-scale y: /healthz and the plain SQL baselines are ten times faster
# than a record request, which would flatten it on a linear scale).
# and, when bench/scale_load.sh rows are there:
#   scale.svg    GET p99 (ms, left axis) and GET rate (requests/s, right
#                axis) against the number of records (log scale), one line
#                per backend
# Of several rows for the same label, backend and endpoint (and records, for
# the scale curve) the last one counts: rerunning a benchmark replaces its
# point. Labels keep the order they first appear in.
set -euo pipefail

die() { echo "plot: $*" >&2; exit 1; }
[[ $# -ge 1 && $# -le 2 ]] || die "usage: bench/plot.sh RESULTS.csv [OUTDIR]"
csv=$1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${2:-$here/../docs/perf}"
[[ -s "$csv" ]] || die "no CSV at $csv"
command -v gnuplot >/dev/null || die "gnuplot not found (apt-get install gnuplot-nox)"
head -n1 "$csv" | grep -q '^date,git_rev,label,backend,endpoint,records,rps,p50_us,p99_us,' ||
  die "$csv does not start with the header bench/lib.sh writes"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# table BACKEND COLUMN SCALE -> $work/BACKEND_COLUMN.dat: one line per
# endpoint (first-seen order), one column per label, the value / SCALE; "?"
# where a label has no row for that endpoint.
table() {
  awk -F, -v backend="$1" -v col="$2" -v scale="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
    $idx["backend"] != backend || $idx["endpoint"] ~ /^scale_/ { next }
    {
      label = $idx["label"]; if (label == "") label = "(no label)"
      gsub(/ /, "_", label)
      ep = $idx["endpoint"]
      if (!(label in seen_label)) { seen_label[label] = 1; labels[++nl] = label }
      if (!(ep in seen_ep)) { seen_ep[ep] = 1; eps[++ne] = ep }
      v[label, ep] = $idx[col] / scale
    }
    END {
      if (ne == 0) exit 1
      printf "endpoint"; for (l = 1; l <= nl; l++) printf " %s", labels[l]; print ""
      for (e = 1; e <= ne; e++) {
        printf "%s", eps[e]
        for (l = 1; l <= nl; l++)
          printf " %s", ((labels[l], eps[e]) in v) ? v[labels[l], eps[e]] : "?"
        print ""
      }
    }' "$csv" >"$work/$1_$2.dat"
}

# bars BACKEND COLUMN SCALE FILE TITLE YLABEL: grouped bars of table's data.
bars() {
  table "$1" "$2" "$3" || return 1
  local dat="$work/$1_$2.dat" n
  n=$(($(head -n1 "$dat" | wc -w) - 1))
  gnuplot <<EOF
set terminal svg size 900,480 dynamic noenhanced font "sans,12" background "white"
set output "$out/$4"
set title "$5"
set ylabel "$6"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics mytics
set key top right
set xtics rotate by -25
plot for [i=2:$((n + 1))] "$dat" using i:xtic(1) title columnheader(i)
EOF
  echo "plot: $out/$4"
}

drew=0
for backend in sqlite pg; do
  if bars "$backend" rps 1 "rate_$backend.svg" \
    "$backend: requests/s per endpoint (higher is better)" "requests/s"; then
    bars "$backend" p99_us 1000 "p99_$backend.svg" \
      "$backend: p99 latency per endpoint (lower is better)" "p99 (ms)"
    drew=1
  fi
done

# The scale curve: scale_get rows, the last one per backend and records.
awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
  $idx["endpoint"] == "scale_get" {
    k = $idx["backend"] " " $idx["records"]
    if (!(k in v)) keys[++n] = k
    v[k] = ($idx["p99_us"] / 1000) " " $idx["rps"]
  }
  END { for (i = 1; i <= n; i++) print keys[i], v[keys[i]] }' "$csv" |
  sort -k1,1 -k2,2n >"$work/scale.dat"
if [[ -s "$work/scale.dat" ]]; then
  plots=()
  for backend in sqlite pg; do
    grep -q "^$backend " "$work/scale.dat" || continue
    grep "^$backend " "$work/scale.dat" >"$work/scale_$backend.dat"
    plots+=("\"$work/scale_$backend.dat\" using 2:3 axes x1y1 with linespoints lw 2 pt 7 title \"$backend GET p99 (ms)\"")
    plots+=("\"$work/scale_$backend.dat\" using 2:4 axes x1y2 with linespoints lw 2 dt 2 pt 5 title \"$backend GET requests/s\"")
  done
  gnuplot <<EOF
set terminal svg size 900,480 dynamic noenhanced font "sans,12" background "white"
set output "$out/scale.svg"
set title "GET of random records as the vault grows"
set xlabel "records"
set logscale x
set format x "%.0s%c"
set ylabel "GET p99 (ms)"
set y2label "GET requests/s"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid xtics ytics
set key outside bottom center horizontal
plot $(IFS=,; echo "${plots[*]}")
EOF
  echo "plot: $out/scale.svg"
  drew=1
fi
((drew)) || die "no rows to draw in $csv"
