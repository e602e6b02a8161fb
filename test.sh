#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs the few system packages the tests
# drive for real (redis-server, openssl, chromium, certutil, postgresql) when they are missing, builds the
# binaries the integration tests run as separate processes, then runs every test.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium fonts-noto-cjk)
command -v certutil >/dev/null || need+=(libnss3-tools)
# The archive tests use the PostgreSQL on 127.0.0.1:5432 when one answers, else start their
# own (initdb + pg_ctl on a free port): they need the client and the server binaries.
if ! command -v psql >/dev/null || ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]} (needs root and Debian's package archive)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --workspace --bins
cargo test --workspace --no-fail-fast "$@"
