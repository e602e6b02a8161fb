#!/usr/bin/env bash
# End-to-end check of the peers' set-up on the toy fleet (toy_fleet.py), as root:
#   1. with the toy CA trusted, pshtt and SSLyze give every site the verdict a browser gives;
#   2. with an unrelated CA trusted instead, neither calls any site https_ok;
#   3. the machine's /etc/hosts and the venvs' trust stores are as they were.
#
#   smoke.sh [WORK_DIR]      (default: a fresh temporary directory; needs setup.sh done)
# Prints "N passed, M failed" and exits non-zero on a failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${PEERS_VENV:-$repo/target/peers-venv}"
work="${1:-$(mktemp -d /tmp/peers-smoke.XXXXXX)}"
mkdir -p "$work"
py="$venv/sslyze/bin/python"
[[ -x "$py" && -x "$venv/pshtt/bin/pshtt" ]] || { echo "smoke.sh: run setup.sh first" >&2; exit 1; }

hosts_before="$(sha256sum /etc/hosts)"
stores_before="$(cat "$venv"/*/lib/python3*/site-packages/sslyze/plugins/certificate_info/trust_stores/pem_files/mozilla_nss.pem | sha256sum)"

"$py" "$here/toy_fleet.py" "$work/toy" >"$work/toy.log" 2>&1 &
toy_pid=$!
trap 'kill "$toy_pid" 2>/dev/null; wait "$toy_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q 'toy fleet:' "$work/toy.log" 2>/dev/null && break; sleep 0.2; done
grep -q 'toy fleet:' "$work/toy.log" || { cat "$work/toy.log" >&2; echo "smoke.sh: toy fleet did not start" >&2; exit 1; }

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

# 1. trusted
"$here/run.sh" "$work/toy/hosts" "$work/toy/sites.txt" "$work/toy/ca.pem" "$work/trusted" 4 >"$work/trusted.times.log" 2>&1 ||
    bad "run.sh (trusted CA) exited non-zero: $(tail -3 "$work/trusted.times.log")"
for tool in pshtt sslyze; do
    if [[ -s "$work/trusted/$tool.json" ]] &&
        python3 "$here/normalize.py" "$tool" "$work/trusted/$tool.json" >"$work/trusted/$tool.jsonl" &&
        python3 "$here/normalize.py" check "$work/toy/expected.json" "$work/trusted/$tool.jsonl" >"$work/trusted/$tool.check"; then
        ok "$tool agrees with the browser on every toy site with the toy CA trusted ($(tail -1 "$work/trusted/$tool.check"))"
    else
        bad "$tool with the toy CA trusted: $(cat "$work/trusted/$tool.check" 2>/dev/null | tr '\n' ';')"
    fi
done
if python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); sys.exit(0 if all(t[k]["cpu_s"] > 0 and t[k]["wall_s"] > 0 and t[k]["max_rss_kb"] > 0 for k in ("pshtt","sslyze")) else 1)' "$work/trusted/times.json"; then
    ok "times.json has wall, CPU and RSS for both tools"
else
    bad "times.json incomplete"
fi

# 2. a CA that signed nothing
"$here/run.sh" "$work/toy/hosts" "$work/toy/sites.txt" "$work/toy/unrelated-ca.pem" "$work/untrusted" 4 >"$work/untrusted.times.log" 2>&1 ||
    bad "run.sh (unrelated CA) exited non-zero"
for tool in pshtt sslyze; do
    python3 "$here/normalize.py" "$tool" "$work/untrusted/$tool.json" >"$work/untrusted/$tool.jsonl" || true
    n_ok="$(grep -c '"https_ok": true' "$work/untrusted/$tool.jsonl" || true)"
    n="$(wc -l <"$work/untrusted/$tool.jsonl")"
    if [[ "$n" -eq 7 && "$n_ok" -eq 0 ]]; then
        ok "$tool calls no toy site https_ok when the toy CA is not trusted"
    else
        bad "$tool with an unrelated CA: $n_ok of $n sites https_ok"
    fi
done

# 3. nothing outside the run changed
[[ "$(sha256sum /etc/hosts)" == "$hosts_before" ]] && ok "/etc/hosts untouched" || bad "/etc/hosts changed"
stores_after="$(cat "$venv"/*/lib/python3*/site-packages/sslyze/plugins/certificate_info/trust_stores/pem_files/mozilla_nss.pem | sha256sum)"
[[ "$stores_after" == "$stores_before" ]] && ok "trust stores back to pristine" || bad "trust stores left modified"

echo "smoke: $work"
echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
