#!/usr/bin/env bash
# Install the peers for the benchmark into their own virtual environments, from PyPI, pinned:
#   VENV_ROOT/pshtt   CPython 3.10, pshtt 0.7.6 (+ its sslyze 4.1.0 / nassl 4.0.2)
#   VENV_ROOT/sslyze  CPython 3.11+, SSLyze 6.3.1 (the current release, what people run today)
# Usage: setup.sh [VENV_ROOT]   (default: target/peers-venv, relative to the repository root)
# Idempotent: a second run only checks the pins and prints the versions.
#
# Why two interpreters: pshtt 0.7.6 requires sslyze>=3,<5; sslyze 4.x requires nassl 4.x, whose
# wheels exist only up to cp310 (no sdist), so pshtt needs a Python <= 3.10. SSLyze 6 needs
# nassl 5 / cryptography >= 43 and runs on the machine's 3.11.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
root="${1:-$repo/target/peers-venv}"
mkdir -p "$root"
root="$(cd "$root" && pwd)"

PSHTT_VERSION=0.7.6
SSLYZE_VERSION=6.3.1

die() { echo "peers/setup.sh: $*" >&2; exit 1; }

# A CPython 3.10 (or 3.8/3.9: nassl 4.0.2 has wheels for cp37..cp310) for pshtt.
find_py310() {
    if [[ -n "${PEERS_PYTHON_PSHTT:-}" ]]; then echo "$PEERS_PYTHON_PSHTT"; return; fi
    local c
    for c in python3.10 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10 \
        /root/.pyenv/versions/3.10*/bin/python3.10 \
        /usr/bin/python3.10 /usr/local/bin/python3.10 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9*/bin/python3.9; do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import ssl, venv' 2>/dev/null; then
            command -v "$c"; return
        fi
    done
    return 1
}

# A CPython >= 3.9 for SSLyze 6 (the machine's default python3 is 3.11 here).
find_py_sslyze() {
    if [[ -n "${PEERS_PYTHON_SSLYZE:-}" ]]; then echo "$PEERS_PYTHON_SSLYZE"; return; fi
    local c
    for c in python3.11 python3.12 python3 /usr/bin/python3; do
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys, ssl, venv; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
            command -v "$c"; return
        fi
    done
    return 1
}

# make_venv DIR PYTHON: create DIR as a venv of PYTHON unless it already is one of that version.
make_venv() {
    local dir="$1" py="$2" want have
    want="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [[ -x "$dir/bin/python" ]]; then
        have="$("$dir/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
        if [[ "$have" == "$want" ]]; then return; fi
        echo "peers/setup.sh: $dir is Python '$have', want $want: recreating" >&2
        rm -rf "$dir"
    fi
    "$py" -m venv "$dir" || die "cannot create a venv at $dir with $py"
}

py310="$(find_py310)" || die "no CPython 3.10 (or 3.9) found. pshtt $PSHTT_VERSION pins sslyze<5, whose nassl 4 has wheels only up to cp310 and no sdist, so it cannot install on 3.11+. Install one (pyenv 3.10.x; Debian bookworm's apt has no python3.10) or set PEERS_PYTHON_PSHTT=/path/to/python3.10."
pysl="$(find_py_sslyze)" || die "no CPython >= 3.9 found for SSLyze $SSLYZE_VERSION; set PEERS_PYTHON_SSLYZE."

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

make_venv "$root/pshtt" "$py310"
"$root/pshtt/bin/pip" install --quiet -c "$here/constraints-pshtt.txt" "pshtt==$PSHTT_VERSION" ||
    die "pip could not install pshtt==$PSHTT_VERSION into $root/pshtt (see the pip error above)"

make_venv "$root/sslyze" "$pysl"
"$root/sslyze/bin/pip" install --quiet -c "$here/constraints-sslyze.txt" "sslyze==$SSLYZE_VERSION" ||
    die "pip could not install sslyze==$SSLYZE_VERSION into $root/sslyze (see the pip error above)"

# Check that both import (nassl is a compiled extension: a wrong wheel fails here, not later).
"$root/pshtt/bin/python" -c 'import pshtt.pshtt, sslyze, nassl, certifi' ||
    die "pshtt venv installed but does not import"
"$root/sslyze/bin/python" -c 'import sslyze, nassl' || die "sslyze venv installed but does not import"

ver() { "$1/bin/python" -c "import importlib.metadata as m; print(' '.join(p + '==' + m.version(p) for p in '$2'.split()))"; }
echo "peers venv root: $root"
echo "  pshtt : $("$root/pshtt/bin/python" -V 2>&1) ($py310): $(ver "$root/pshtt" "pshtt sslyze nassl cryptography requests certifi publicsuffixlist")"
echo "  sslyze: $("$root/sslyze/bin/python" -V 2>&1) ($pysl): $(ver "$root/sslyze" "sslyze nassl cryptography")"
