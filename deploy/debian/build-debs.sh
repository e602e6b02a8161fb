#!/usr/bin/env bash
# Build the three .deb packages from already-built binaries, with dpkg-deb from a staged
# tree (no cargo-deb: nothing to compile or install, and every file of the packages is
# listed here, in one place).
#
#   deploy/debian/build-debs.sh BIN_DIR OUT_DIR
#
# BIN_DIR holds scanctl, scan-coordinator and scan-worker (target/dist for releases:
# `cargo build --profile dist`; test.sh passes target/debug). The binaries are stripped
# while staging. Packages (VERSION from the workspace Cargo.toml):
#   govscan-coordinator  /usr/bin/scan-coordinator, scan-coordinator.service,
#                        /etc/govscan/coordinator.env (0640), /etc/govscan/coordinator-redis-url (0600)
#   govscan-worker       /usr/bin/scan-worker, scan-worker@.service,
#                        /etc/govscan/worker.env (0640), /etc/govscan/worker-redis-url (0600)
#   scanctl              /usr/bin/scanctl
# The services run as a DynamicUser (no account to create); systemd reads the env files and
# the Redis URL credential (LoadCredential=) as root before dropping privileges.
# Environment: DEB_COMPRESS (xz by default; test.sh uses none), ARCH (dpkg's by default).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
deploy="$(dirname "$here")"
root="$(dirname "$deploy")"
bin_dir="${1:?usage: build-debs.sh BIN_DIR OUT_DIR}"
out_dir="${2:?usage: build-debs.sh BIN_DIR OUT_DIR}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
arch="${ARCH:-$(dpkg --print-architecture)}"
compress="${DEB_COMPRESS:-xz}"
mkdir -p "$out_dir"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# control PACKAGE DESCRIPTION: the DEBIAN/control of a package.
control() {
  local pkg="$1" desc="$2" dir="$stage/$1"
  mkdir -p "$dir/DEBIAN"
  cat > "$dir/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: govscan maintainers <govscan@localhost>
Depends: libc6 (>= 2.34), libgcc-s1
Section: net
Priority: optional
Description: $desc
 govscan scans Taiwan's government websites for HTTPS compliance (NDC programme).
CONTROL
}

# binary PACKAGE NAME: install and strip a binary.
binary() {
  install -D -m 0755 "$bin_dir/$2" "$stage/$1/usr/bin/$2"
  strip --strip-all "$stage/$1/usr/bin/$2"
}

# service PACKAGE: a unit, the env file (0640) and the Redis URL credential (0600), kept
# as conffiles (an operator's edits survive upgrades), and a daemon-reload after install.
service() {
  local pkg="$1" unit="$2" env="$3" dir="$stage/$1"
  install -D -m 0644 "$deploy/systemd/$unit" "$dir/usr/lib/systemd/system/$unit"
  install -D -m 0640 "$deploy/env/$env.env" "$dir/etc/govscan/$env.env"
  install -D -m 0600 "$deploy/env/redis-url" "$dir/etc/govscan/$env-redis-url"
  printf '/etc/govscan/%s.env\n/etc/govscan/%s-redis-url\n' "$env" "$env" > "$dir/DEBIAN/conffiles"
  cat > "$dir/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
# Not when installed into another root (dpkg --root / DPKG_ROOT): that root is not running.
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
POSTINST
  chmod 0755 "$dir/DEBIAN/postinst"
  install -D -m 0644 "$deploy/README.md" "$dir/usr/share/doc/$pkg/README.deploy.md"
}

control govscan-coordinator "govscan coordinator: gRPC API, jobs sharded into a Redis queue"
binary govscan-coordinator scan-coordinator
service govscan-coordinator scan-coordinator.service coordinator

control govscan-worker "govscan scan worker: takes shards from Redis, scans, writes results"
binary govscan-worker scan-worker
service govscan-worker scan-worker@.service worker

control scanctl "scanctl: scan sites, submit and follow cluster jobs, NDC reports"
binary scanctl scanctl

for pkg in govscan-coordinator govscan-worker scanctl; do
  dpkg-deb --root-owner-group -Z"$compress" --build "$stage/$pkg" \
    "$out_dir/${pkg}_${version}_${arch}.deb" >/dev/null
  echo "$out_dir/${pkg}_${version}_${arch}.deb"
done
