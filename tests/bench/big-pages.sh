#!/usr/bin/env bash
# Peak RSS of `scanctl scan` while every site in flight serves a 100 MB page (issue 10, part
# 1): the scanner reads each page up to its 2 MiB cap, and what it holds meanwhile is the
# figure. For BENCHMARKS.md.
#
#   tests/bench/big-pages.sh SCAN_FARM SCANCTL SITES CONCURRENCY [PAGE_BYTES]
#
# Starts `scan-farm --fleet SITES --page-bytes PAGE_BYTES` (national mix, default 100 MB
# pages) on 127.114.0.0/16, lab ports 18080/18443 (no root needed), runs SCANCTL over its list
# at CONCURRENCY sites in flight under /usr/bin/time -v, and prints the scanner's peak RSS,
# wall time and the verdict counts. No silent sites, and a 60 s step timeout: every page is
# read up to the cap even on a loaded machine, all sites in flight holding theirs at once
# (the worst case for memory), instead of timing out. The farm's own memory (its two shared pages) is not
# counted: it is another process.
set -euo pipefail
farm_bin="${1:?usage: big-pages.sh SCAN_FARM SCANCTL SITES CONCURRENCY [PAGE_BYTES]}"
scanctl="${2:?scanctl binary}"
sites="${3:?number of sites}"
concurrency="${4:?sites in flight}"
page="${5:-100000000}"
work="$(mktemp -d)"
farm_pid=
cleanup() { [ -n "$farm_pid" ] && kill "$farm_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$farm_bin" --fleet "$sites" --page-bytes "$page" --silent-per-mille 0 --dir "$work/farm" \
  --first-address 127.114.0.1 --dns 127.114.0.1:0 --http-port 18080 --https-port 18443 \
  > "$work/farm.txt" 2> "$work/farm.log" &
farm_pid=$!
until grep -q 'serving until' "$work/farm.txt" 2>/dev/null; do
  kill -0 "$farm_pid" 2>/dev/null || { cat "$work/farm.log" >&2; exit 1; }
  sleep 0.5
done
dns="$(sed -n 's/^dns: *//p' "$work/farm.txt")"

/usr/bin/time -v "$scanctl" scan "$work/farm/sites.csv" --dns-server "$dns" \
  --ca-file "$work/farm/farm-ca.pem" --allow-private-targets --http-port 18080 --https-port 18443 \
  --concurrency "$concurrency" --step-timeout 60 --site-timeout 300 --format jsonl --output "$work/results.jsonl" --quiet \
  2> "$work/time.txt"
rss_kb="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")"
wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")"
adopted="$(grep -c '"https_ok":true' "$work/results.jsonl" || true)"
truncated="$(grep -c '"truncated":true' "$work/results.jsonl" || true)"
grep -o '"code":"[a-z_]*"' "$work/results.jsonl" | sort | uniq -c | sort -rn | head -8
echo "sites=$sites in_flight=$concurrency page_bytes=$page peak_rss_mb=$((rss_kb / 1024)) wall=$wall results=$(wc -l < "$work/results.jsonl") adopted=$adopted pages_cut_at_cap=$truncated"
