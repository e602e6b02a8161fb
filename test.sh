#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs the few system packages the tests
# drive for real (redis-server, openssl, chromium, certutil, postgresql, iproute2; cloud-init,
# python3-yaml, systemd and binutils for the deployment checks) when they are missing, builds
# the binaries the integration tests run as separate processes, checks the deployment files
# against them (deploy/check.sh: .debs built from these binaries and installed into a
# throw-away root, systemd-analyze, cloud-init schema, compose/k8s references), then runs
# every test.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium fonts-noto-cjk)
command -v certutil >/dev/null || need+=(libnss3-tools)
command -v cloud-init >/dev/null || need+=(cloud-init)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v strip >/dev/null || need+=(binutils)
# The cluster across hosts (tests/tests/hosts.rs) makes network namespaces with `ip netns`.
command -v ip >/dev/null || need+=(iproute2)
# The archive tests use the PostgreSQL on 127.0.0.1:5432 when one answers, else start their
# own (initdb + pg_ctl on a free port): they need the client and the server binaries.
if ! command -v psql >/dev/null || ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]} (needs root and Debian's package archive)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# When test.sh installed cloud-init, it is for its schema validator only: never let it
# configure this machine at the next boot (a machine that had it already is left alone).
if [[ " ${need[*]} " == *" cloud-init "* ]]; then touch /etc/cloud/cloud-init.disabled; fi

cargo build --workspace --bins
deploy/check.sh "${CARGO_TARGET_DIR:-target}/debug"
cargo test --workspace --no-fail-fast "$@"

# The fuzz targets, briefly: fuzz/run.sh, 5 s each from the committed corpora. Their
# instrumented build costs a fresh 2-core machine ~7 min (installing cargo-fuzz ~1-2 min more),
# so they run where cargo-fuzz is installed, or with SCAN_FUZZ=1 (which installs it);
# SCAN_FUZZ=0 skips them. `cargo test` above replays the corpora through the same entry points
# everywhere (engine/tests/fuzz_corpus.rs).
if [ "${SCAN_FUZZ:-}" = 1 ] && ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
if [ "${SCAN_FUZZ:-}" != 0 ] && cargo fuzz --version >/dev/null 2>&1; then
  fuzz/run.sh 5
else
  echo "test.sh: fuzz targets not run (cargo-fuzz not installed, or SCAN_FUZZ=0; SCAN_FUZZ=1 installs it)" >&2
fi

# cargo deny (deny.toml): the licenses, banned and duplicate crates, and sources of the
# dependency tree, offline (2 s). Where cargo-deny is installed, or with SCAN_DENY=1 (which
# installs it: `cargo install cargo-deny --locked` took 30 min on this 2-core machine while two
# other builds shared it); SCAN_DENY=0 skips it. Advisories need RustSec's database, a git
# repository fetched from the network: `cargo deny check advisories` where there is one.
if [ "${SCAN_DENY:-}" = 1 ] && ! cargo deny --version >/dev/null 2>&1; then
  cargo install cargo-deny --locked
fi
if [ "${SCAN_DENY:-}" != 0 ] && cargo deny --version >/dev/null 2>&1; then
  cargo deny --offline check licenses bans sources
else
  echo "test.sh: cargo deny not run (cargo-deny not installed, or SCAN_DENY=0; SCAN_DENY=1 installs it)" >&2
fi
