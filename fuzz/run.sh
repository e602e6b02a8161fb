#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 5), one at a time (one process), from the
# committed corpus (read only: new inputs go to a temporary directory). A crash stops the run
# with its input in fuzz/artifacts/<target>/. Needs cargo-fuzz (`cargo install cargo-fuzz`);
# RUSTC_BOOTSTRAP=1 lets the stable toolchain take the sanitizer flags cargo-fuzz passes.
#
#   fuzz/run.sh            # 5 s each, as ./test.sh does when cargo-fuzz is installed
#   fuzz/run.sh 300 page   # one target, five minutes
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-5}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sitelist page probe_answer certificate aia hsts)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  status=0
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$scratch/$t.log" 2>&1 || status=$?
  # libFuzzer's progress lines hidden; its summary, and everything when it failed.
  if [ "$status" -ne 0 ]; then
    tail -n 80 "$scratch/$t.log" >&2
    echo "fuzz/run.sh: target $t failed (input in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  echo "fuzz/run.sh: $t: $(grep -E '^stat::number_of_executed_units' "$scratch/$t.log" | awk '{print $2}') runs in ${secs}s, no failure"
done
