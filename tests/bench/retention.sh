#!/usr/bin/env bash
# Redis memory per site and per finished job, and the client's memory reading a 100,000-site
# job: the figures behind `maxmemory` in deploy/redis/govscan.conf and "bounded clients".
#
#   tests/bench/retention.sh BIN_DIR [OLD_SCANCTL]       (root: the farm uses ports 80/443)
#
# 1. A real job: scan-farm --fleet 2000 (national mix), redis-server, scan-coordinator and one
#    scan-worker from BIN_DIR; Redis `used_memory` before submitting, after submitting, when
#    done, and `MEMORY USAGE` of each key of the job (what retention later drops).
# 2. A 100,000-site finished job made of the real job's 2,000 results, each copied 50 times
#    under its own URL, written straight into Redis (scanning 100,000 sites would measure the
#    scanner, not the storage); `used_memory` and `MEMORY USAGE` of its results.
# 3. Peak RSS (`/usr/bin/time`) of `scanctl results`, `report --job` and `diff --jobs` on that
#    job, with BIN_DIR's scanctl and, when given, OLD_SCANCTL (a build from before streaming).
set -euo pipefail
bin="$(cd "${1:?usage: retention.sh BIN_DIR [OLD_SCANCTL]}" && pwd)"
old="${2:-}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin/scan-farm" --fleet 2000 --dir "$work/farm" --first-address 127.88.0.1 > "$work/farm.txt" 2> "$work/farm.log" &
pids+=($!)
until grep -q 'serving until' "$work/farm.txt" 2>/dev/null; do sleep 0.2; done
dns="$(sed -n 's/^dns: *//p' "$work/farm.txt")"
rport="$(free_port)"; cport="$(free_port)"
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" > "$work/redis.log" &
pids+=($!)
until redis-cli -p "$rport" ping > /dev/null 2>&1; do sleep 0.1; done
r() { redis-cli -p "$rport" "$@"; }
used() { r info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
"$bin/scan-coordinator" --listen "127.0.0.1:$cport" --redis "redis://127.0.0.1:$rport" 2> "$work/coordinator.log" &
pids+=($!)
"$bin/scan-worker" --redis "redis://127.0.0.1:$rport" --concurrency 500 --dns-server "$dns" \
  --ca-file "$work/farm/farm-ca.pem" --allow-private-targets 2> "$work/worker.log" &
pids+=($!)
export SCANCTL_COORDINATOR="http://127.0.0.1:$cport"
sleep 1
m0="$(used)"
job="$("$bin/scanctl" submit "$work/farm/sites.csv" 2>/dev/null)"
m1="$(used)"
"$bin/scanctl" watch "$job" 2>/dev/null
m2="$(used)"
usage() { r memory usage "govscan:job:$1$2" samples 0; }
echo "== a real job of 2,000 sites"
echo "used_memory: before $m0, submitted $m1 (+$((m1 - m0))), done $m2 (+$((m2 - m0)))"
for k in "" :sites :shards :results; do echo "MEMORY USAGE govscan:job:ID$k: $(usage "$job" "$k")"; done
"$bin/scanctl" results "$job" --format jsonl > "$work/results.jsonl" 2>/dev/null
echo "result JSON: $(wc -c < "$work/results.jsonl") bytes for $(wc -l < "$work/results.jsonl") results"

echo "== a finished job of 100,000 sites (the 2,000 results × 50, each under its own URL)"
big="00000000-0000-7000-8000-000000100000"
python3 - "$work/results.jsonl" "$big" > "$work/big.resp" <<'PY'
import json, sys, time
now = int(time.time() * 1000)  # ended now: within the coordinator's retention
lines = open(sys.argv[1]).read().splitlines()
job = sys.argv[2]
def resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)
w = sys.stdout.buffer
i = 0
for k in range(50):
    for line in lines:
        r = json.loads(line)
        host = f"c{k}-{r['host']}"
        r["url"] = r["url"].replace(r["host"], host, 1)
        r["host"] = host
        w.write(resp("HSET", f"govscan:job:{job}:results", i, json.dumps(r, ensure_ascii=False, separators=(",", ":"))))
        i += 1
w.write(resp("HSET", f"govscan:job:{job}", "name", "100k", "label", "", "state", "done", "total", i,
             "shards", i // 100, "done", i, "failed", 0, "taken", i, "created_ms", now, "finished_ms", now))
w.write(resp("ZADD", "govscan:jobs", now, job))
PY
m3="$(used)"
r --pipe < "$work/big.resp" > /dev/null
m4="$(used)"
echo "used_memory: +$((m4 - m3)) for 100,000 results; MEMORY USAGE results: $(usage "$big" :results)"

echo "== client peak RSS reading the 100,000-site job (/usr/bin/time %M)"
# Peak RSS, exit status and bytes written of a command.
rss() {
  /usr/bin/time -o "$work/time.txt" -f '%M KB peak RSS, exit %x' "$@" > "$work/out" 2> "$work/err" || true
  echo "$(tail -1 "$work/time.txt"), $(wc -c < "$work/out") bytes out $(head -c 300 "$work/err")"
}
for which in new old; do  # new: BIN_DIR
  ctl="$bin/scanctl"
  if [ "$which" = old ]; then [ -n "$old" ] || continue; ctl="$old"; fi
  echo "$which results --format jsonl: $(rss "$ctl" results "$big" --format jsonl)"
  echo "$which report --job --format json: $(rss "$ctl" report --job "$big" --format json)"
  echo "$which diff --jobs --format json: $(rss "$ctl" diff --jobs "$big" "$big" --format json)"
done
