"""Make a test CA trusted by a peer venv the way the peer reads trust, not through --ca-file.

Run with the venv's own interpreter so it patches that venv:
    VENV/bin/python trust.py add CA_PEM   # every store = its pristine copy + CA_PEM
    VENV/bin/python trust.py reset        # every store = its pristine copy

Stores patched (whichever the venv has):
  * sslyze's bundled trust stores (mozilla_nss, apple, google_aosp, microsoft_windows, openjdk,
    oracle_java .pem). pshtt calls a site "publicly trusted" only if the chain validates in
    ALL of them, so the CA goes into every one;
  * certifi's cacert.pem, which requests (pshtt's first HTTPS fetch) verifies against.

Why not pshtt --ca-file: with it pshtt sets STORE = "Custom" and looks for a trust store whose
name contains "Custom", but sslyze 3/4 names the supplied one "Supplied CA file", so the expiry,
self-signed and hostname checks are silently never run.

The pristine copy of each file is kept beside it as FILE.peers-orig on the first run, so `add`
with another CA replaces the previous one instead of piling up.
"""

import importlib.util
import pathlib
import sys

SUFFIX = ".peers-orig"


def store_files() -> list[pathlib.Path]:
    files: list[pathlib.Path] = []
    spec = importlib.util.find_spec("sslyze")
    if spec is not None and spec.origin is not None:
        pem_dir = (
            pathlib.Path(spec.origin).parent
            / "plugins"
            / "certificate_info"
            / "trust_stores"
            / "pem_files"
        )
        files += sorted(pem_dir.glob("*.pem"))
    spec = importlib.util.find_spec("certifi")
    if spec is not None and spec.origin is not None:
        files.append(pathlib.Path(spec.origin).parent / "cacert.pem")
    return files


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("add", "reset") or (argv[1] == "add") != (len(argv) == 3):
        print("usage: trust.py add CA_PEM | trust.py reset", file=sys.stderr)
        return 2
    extra = b""
    if argv[1] == "add":
        extra = pathlib.Path(argv[2]).read_bytes()
        if b"-----BEGIN CERTIFICATE-----" not in extra:
            print(f"trust.py: {argv[2]} holds no PEM certificate", file=sys.stderr)
            return 1
    files = store_files()
    if not files:
        print(f"trust.py: no trust store found for {sys.executable}", file=sys.stderr)
        return 1
    for f in files:
        orig = f.with_name(f.name + SUFFIX)
        if not orig.exists():
            orig.write_bytes(f.read_bytes())
        body = orig.read_bytes()
        if extra:
            body = body.rstrip(b"\n") + b"\n\n# added by tests/bench/peers/trust.py\n" + extra
        f.write_bytes(body)
    print(f"trust.py: {argv[1]} -> {len(files)} stores in {sys.prefix}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
