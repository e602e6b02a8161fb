#!/usr/bin/env bash
# The deployment checks this machine can run (test.sh runs them after building):
#   1. build the three .debs from BIN_DIR (test.sh: target/debug; uncompressed, so it takes
#      seconds) and inspect them with dpkg-deb --contents: paths, modes (env files 0640,
#      Redis URL credentials 0600), conffiles;
#   2. install them with dpkg into a throw-away root and run each binary's --version there;
#   3. systemd-analyze verify and systemd-analyze security (offline, on the installed units):
#      each unit's exposure must be 3.0 or lower;
#   4. cloud-init schema on deploy/cloud-init/worker.yaml (and a broken copy must fail), and
#      `sh -n` on the script it writes;
#   5. check_refs.py: compose, k8s, env files, units and cloud-init against --help.
#
#   deploy/check.sh BIN_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="$(cd "${1:?usage: check.sh BIN_DIR}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "deploy/check.sh: FAIL: $*" >&2; exit 1; }
ok() { echo "deploy/check.sh: ok: $*"; }

# 1. build and inspect
DEB_COMPRESS=none "$here/debian/build-debs.sh" "$bin_dir" "$work/debs" > "$work/debs.txt"
[ "$(wc -l < "$work/debs.txt")" -eq 3 ] || fail "expected 3 packages: $(cat "$work/debs.txt")"
contents() { dpkg-deb --contents "$work"/debs/"$1"_*.deb; }
# has PACKAGE MODE PATH: the package holds PATH with that mode (ls -l style), owned by root.
has() {
  contents "$1" | awk -v mode="$2" -v path="./$3" '$1 == mode && $2 == "root/root" && $NF == path { found = 1 } END { exit !found }' \
    || fail "$1 does not hold $3 with mode $2 (root/root):\n$(contents "$1")"
}
has govscan-coordinator -rwxr-xr-x usr/bin/scan-coordinator
has govscan-coordinator -rw-r--r-- usr/lib/systemd/system/scan-coordinator.service
has govscan-coordinator -rw-r----- etc/govscan/coordinator.env
has govscan-coordinator -rw------- etc/govscan/coordinator-redis-url
has govscan-worker -rwxr-xr-x usr/bin/scan-worker
has govscan-worker -rw-r--r-- usr/lib/systemd/system/scan-worker@.service
has govscan-worker -rw-r----- etc/govscan/worker.env
has govscan-worker -rw------- etc/govscan/worker-redis-url
has scanctl -rwxr-xr-x usr/bin/scanctl
for pkg in govscan-coordinator govscan-worker; do
  dpkg-deb --info "$work"/debs/"$pkg"_*.deb conffiles | grep -qx "/etc/govscan/${pkg#govscan-}.env" \
    || fail "$pkg: the env file is not a conffile"
done
ok "3 packages built and inspected ($(du -ch "$work"/debs/*.deb | tail -1 | cut -f1) uncompressed)"

# 2. install into a throw-away root (dependencies are the host's libc: not in that root)
root="$work/root"
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null \
  -i "$work"/debs/*.deb > "$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
dpkg --root="$root" -l | grep -q '^ii  govscan-worker' || fail "govscan-worker is not installed"
[ "$(stat -c %a "$root/etc/govscan/worker.env")" = 640 ] || fail "worker.env is not 0640 once installed"
[ "$(stat -c %a "$root/etc/govscan/worker-redis-url")" = 600 ] || fail "worker-redis-url is not 0600 once installed"
for b in scan-coordinator scan-worker scanctl; do
  v="$("$root/usr/bin/$b" --version)" || fail "$b --version"
  [[ "$v" == "$b "* ]] || fail "$b --version printed '$v'"
  ok "installed $v"
done

# 3. systemd-analyze on the installed units (with the host's own units beside them in the
#    throw-away root, for the targets they are ordered after)
units="$root/usr/lib/systemd/system"
cp -an /usr/lib/systemd/system/. "$units/"
# ExecReload= sends SIGHUP with the base system's /bin/kill (procps, on every Debian), which
# the throw-away root of our packages alone does not hold.
mkdir -p "$root/bin" && cp -n /bin/kill "$root/bin/kill"
cp "$units/scan-worker@.service" "$work/scan-worker@01.service"
for unit in "$units/scan-coordinator.service" "$work/scan-worker@01.service"; do
  # verify resolves ExecStart= and EnvironmentFile= inside the throw-away root.
  out="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$root" --man=no "$unit" 2>&1)" \
    || fail "systemd-analyze verify $(basename "$unit"): $out"
  [ -z "$out" ] || fail "systemd-analyze verify $(basename "$unit") warns: $out"
  score="$(systemd-analyze security --offline=true --root="$root" --threshold=30 --no-pager "$unit" 2>&1 \
    | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')"
  [ -n "$score" ] || fail "no exposure score for $(basename "$unit")"
  awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || fail "$(basename "$unit") exposure $score > 3.0"
  ok "$(basename "$unit"): verify clean, security exposure $score"
done

# 4. cloud-init schema, and a broken copy is refused (the check can fail)
cloud-init schema --config-file "$here/cloud-init/worker.yaml" > "$work/schema.txt" 2>&1 \
  || fail "cloud-init schema: $(cat "$work/schema.txt")"
sed 's/^package_update: true$/package_update: "sometimes"/' "$here/cloud-init/worker.yaml" > "$work/broken.yaml"
if cloud-init schema --config-file "$work/broken.yaml" > /dev/null 2>&1; then
  fail "cloud-init schema accepted a broken worker.yaml"
fi
ok "cloud-init/worker.yaml: $(cat "$work/schema.txt")"
# ... and the join script it writes is valid sh, its settings file valid sh assignments
/usr/bin/python3 -c '
import sys, yaml
for f in yaml.safe_load(open(sys.argv[1]))["write_files"]:
    open(sys.argv[2] + "/" + f["path"].rsplit("/", 1)[1], "w").write(f["content"])' \
  "$here/cloud-init/worker.yaml" "$work"
sh -n "$work/govscan-join" || fail "the govscan-join script of worker.yaml is not valid sh"
(set -e; . "$work/join.env"; [ -n "$GOVSCAN_REDIS_URL" ]) || fail "join.env of worker.yaml does not source"
ok "cloud-init/worker.yaml: govscan-join and join.env parse"

# 5. references
/usr/bin/python3 "$here/check_refs.py" "$bin_dir" || fail "deployment files refer to what the binaries do not read"
ok "compose, k8s, env files, units and cloud-init refer only to real flags"
