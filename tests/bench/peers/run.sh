#!/usr/bin/env bash
# Run the peers (pshtt, SSLyze) offline against a fleet on loopback and time them.
#
#   run.sh HOSTS_FILE SITES_LIST CA_PEM OUT_DIR [CONCURRENCY]
#
# HOSTS_FILE  /etc/hosts-format "ADDRESS NAME..." lines for the fleet (make_hosts.py writes one
#             from the fleet's DNS server); the peers resolve names from it and nothing else.
# SITES_LIST  the scanner's input: CSV `agency,category,parent,url` or one URL/host a line.
# CA_PEM      the fleet's CA, made trusted in every store the peers read (trust.py) for the run.
# OUT_DIR     gets pshtt.json, sslyze.json, times.json, and logs/ with the tools' own output.
# CONCURRENCY pshtt processes run at once over shards of the list (pshtt itself scans one
#             domain after another and has no concurrency option). Default 4 x cores (8 on
#             this 2-core machine: 8, 12 and 16 measured within noise, 32 slower, 4 slower).
#
# Environment:
#   PEERS_VENV                    venv root made by setup.sh (default target/peers-venv)
#   PEERS_TOOLS                   which to run, default "pshtt sslyze"
#   PSHTT_TIMEOUT                 pshtt --timeout seconds (default 5, pshtt's own default)
#   SSLYZE_CONCURRENT_SERVERS     servers SSLyze scans at once (default 10, SSLyze's own: on 2
#                                 cores 10 beat 20, 30 and 40; its CLI has no flag for it)
#   SSLYZE_PER_SERVER_CONNECTIONS connections per server (default SSLyze's 5)
#   SSLYZE_COMMANDS               scan commands (default: certificate + protocol versions, the
#                                 part of SSLyze's work our scanner also does)
#
# Must run as root: the peers run in a private mount namespace (in_ns.sh) whose /etc/hosts is
# HOSTS_FILE and whose nsswitch.conf is "hosts: files", so no DNS query leaves the machine and
# the machine's own /etc/hosts is untouched.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
die() { echo "peers/run.sh: $*" >&2; exit 1; }

[[ $# -ge 4 && $# -le 5 ]] || die "usage: run.sh HOSTS_FILE SITES_LIST CA_PEM OUT_DIR [CONCURRENCY]"
hosts_file="$(realpath "$1")"; sites="$(realpath "$2")"; ca="$(realpath "$3")"
out="$4"; conc="${5:-$((4 * $(nproc)))}"
[[ -r "$hosts_file" ]] || die "cannot read HOSTS_FILE $1"
[[ -r "$sites" ]] || die "cannot read SITES_LIST $2"
grep -q -- '-----BEGIN CERTIFICATE-----' "$ca" 2>/dev/null || die "CA_PEM $3 holds no PEM certificate"
[[ "$conc" =~ ^[1-9][0-9]*$ ]] || die "CONCURRENCY must be a positive integer, got '$conc'"
[[ $EUID -eq 0 ]] || die "must run as root (unshare -m and bind mounts for the private /etc/hosts)"

venv="${PEERS_VENV:-$repo/target/peers-venv}"
tools="${PEERS_TOOLS:-pshtt sslyze}"
pshtt_timeout="${PSHTT_TIMEOUT:-5}"
sslyze_servers="${SSLYZE_CONCURRENT_SERVERS:-10}"
sslyze_commands="${SSLYZE_COMMANDS:---certinfo --tlsv1_3 --tlsv1_2 --tlsv1_1 --tlsv1 --mozilla_config=disable}"
for t in $tools; do
    case "$t" in
    pshtt | sslyze) [[ -x "$venv/$t/bin/python" ]] || die "no $venv/$t venv: run tests/bench/peers/setup.sh first" ;;
    *) die "unknown tool '$t' in PEERS_TOOLS" ;;
    esac
done
py="$venv/sslyze/bin/python"
[[ -x "$py" ]] || py="$venv/pshtt/bin/python"

mkdir -p "$out/logs"
out="$(cd "$out" && pwd)"
rm -f "$out"/pshtt.json "$out"/sslyze.json "$out"/times.json "$out"/*.time

# The sites, one host a line.
"$py" "$here/sitelist.py" "$sites" >"$out/hosts.txt"
n="$(wc -l <"$out/hosts.txt")"
[[ "$n" -gt 0 ]] || die "no site in $sites"

# The namespace's /etc files: the fleet's names and nothing that reaches a real resolver.
ns="$out/ns"
mkdir -p "$ns"
{
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n'
    cat "$hosts_file"
} >"$ns/hosts"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\nprotocols: files\nservices: files\n' >"$ns/nsswitch.conf"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$ns/resolv.conf"
unresolved="$("$here/in_ns.sh" "$ns" bash -c 'while read -r h; do getent hosts "$h" >/dev/null || echo "$h"; done' <"$out/hosts.txt" | wc -l)"
if [[ "$unresolved" -eq "$n" ]]; then die "none of the $n sites resolves through $hosts_file"; fi
[[ "$unresolved" -eq 0 ]] || echo "peers/run.sh: warning: $unresolved of $n sites are not in $hosts_file" >&2

# Make CA_PEM trusted for the run; the venvs' stores go back to pristine on any exit.
reset_trust() {
    for t in pshtt sslyze; do
        [[ -x "$venv/$t/bin/python" ]] && "$venv/$t/bin/python" "$here/trust.py" reset 2>/dev/null || true
    done
}
trap reset_trust EXIT
for t in pshtt sslyze; do
    [[ -x "$venv/$t/bin/python" ]] && "$venv/$t/bin/python" "$here/trust.py" add "$ca"
done

now_ns() { date +%s%N; }
declare -A wall_ns

for tool in $tools; do
    case "$tool" in
    pshtt)
        # Offline third-party data: empty HSTS preload lists and a tiny public suffix list.
        # pshtt reads them from --cache-third-parties instead of downloading them.
        cache="$out/pshtt-cache"
        mkdir -p "$cache"
        echo '[]' >"$cache/preloaded.json"
        echo '[]' >"$cache/preload-pending.json"
        printf '// tiny offline public suffix list for the benchmark\ntest\ngov.test\ntw\ngov.tw\ncom\norg\nnet\n' \
            >"$cache/public-suffix-list.txt"
        # Round-robin shards, one pshtt process each, CONCURRENCY of them at once.
        shards="$out/pshtt-shards"
        rm -rf "$shards"
        mkdir -p "$shards"
        k="$((conc < n ? conc : n))"
        awk -v k="$k" -v d="$shards" '{ f = sprintf("%s/shard-%04d.csv", d, (NR - 1) % k); print > f }' "$out/hosts.txt"
        start="$(now_ns)"
        set +e
        /usr/bin/time -v -o "$out/pshtt.time" "$here/in_ns.sh" "$ns" \
            env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE \
            bash -c 'ls "$1"/shard-*.csv | xargs -P "$2" -I{} sh -c '"'"'"$0" "$1" --json --output "$1.json" --timeout "$2" --cache-third-parties "$3" 2>"$1.log" >/dev/null'"'"' "$3" {} "$4" "$5"' \
            _ "$shards" "$k" "$venv/pshtt/bin/pshtt" "$pshtt_timeout" "$cache"
        status=$?
        set -e
        wall_ns[pshtt]="$(($(now_ns) - start))"
        cat "$shards"/*.log >"$out/logs/pshtt.log" 2>/dev/null || true
        "$py" - "$out/pshtt.json" "$shards" <<'EOF'
import glob, json, sys
rows = []
for f in sorted(glob.glob(sys.argv[2] + "/shard-*.csv.json")):
    with open(f, encoding="utf-8") as fh:
        rows += json.load(fh)
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    json.dump(rows, fh, indent=1, sort_keys=True)
print(f"pshtt: {len(rows)} domains", file=sys.stderr)
EOF
        [[ "$status" -eq 0 ]] || echo "peers/run.sh: warning: pshtt exited $status (see $out/logs/pshtt.log)" >&2
        ;;
    sslyze)
        sed 's/$/:443/' "$out/hosts.txt" >"$out/sslyze-targets.txt"
        start="$(now_ns)"
        set +e
        # shellcheck disable=SC2086 # SSLYZE_COMMANDS is a list of flags
        SSLYZE_CONCURRENT_SERVERS="$sslyze_servers" SSLYZE_PER_SERVER_CONNECTIONS="${SSLYZE_PER_SERVER_CONNECTIONS:-}" \
            /usr/bin/time -v -o "$out/sslyze.time" "$here/in_ns.sh" "$ns" \
            "$venv/sslyze/bin/python" "$here/sslyze_run.py" --quiet --json_out "$out/sslyze.json" \
            --targets_in "$out/sslyze-targets.txt" $sslyze_commands >"$out/logs/sslyze.log" 2>&1
        status=$?
        set -e
        wall_ns[sslyze]="$(($(now_ns) - start))"
        [[ "$status" -eq 0 ]] || echo "peers/run.sh: warning: sslyze exited $status (see $out/logs/sslyze.log)" >&2
        ;;
    esac
done

# times.json: per tool, wall seconds, user+sys CPU seconds of the whole process tree, and the
# largest single process's peak RSS (GNU time reports the maximum over the waited-for children,
# not the sum: pshtt's total is about CONCURRENCY times its figure).
args=()
for tool in $tools; do args+=("$tool" "$out/$tool.time" "${wall_ns[$tool]}"); done
"$py" - "$out/times.json" "$n" "$conc" "$sslyze_servers" "$sslyze_commands" "${args[@]}" <<'EOF'
import json, re, sys
out, n, conc, servers, commands, rest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6:]
res = {"sites": n}
for i in range(0, len(rest), 3):
    tool, tfile, wall_ns = rest[i], rest[i + 1], int(rest[i + 2])
    text = open(tfile, encoding="utf-8").read()
    def num(label):
        m = re.search(re.escape(label) + r":\s*([0-9.]+)", text)
        return float(m.group(1)) if m else None
    user, sys_ = num("User time (seconds)"), num("System time (seconds)")
    wall = wall_ns / 1e9
    cpu = round(user + sys_, 3)
    res[tool] = {
        "wall_s": round(wall, 3),
        "user_s": user,
        "sys_s": sys_,
        "cpu_s": cpu,
        "max_rss_kb": int(num("Maximum resident set size (kbytes)") or 0),
        "exit_status": int(num("Exit status") or 0),
        "sites_per_s": round(n / wall, 3) if wall > 0 else None,
        "cpu_s_per_1000_sites": round(cpu * 1000 / n, 3),
        "concurrency": f"{conc} processes" if tool == "pshtt" else f"{servers} servers x {__import__('os').environ.get('SSLYZE_PER_SERVER_CONNECTIONS') or 5} connections",
    }
    if tool == "sslyze":
        res[tool]["commands"] = commands
with open(out, "w", encoding="utf-8") as fh:
    json.dump(res, fh, indent=1)
print(json.dumps(res, indent=1))
EOF
