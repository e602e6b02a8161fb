"""Turn pshtt / SSLyze / our scanner's output into per-site verdicts that can be compared.

    python normalize.py pshtt  OUT/pshtt.json   > pshtt.jsonl
    python normalize.py sslyze OUT/sslyze.json  > sslyze.jsonl
    python normalize.py ours   scan.jsonl       > ours.jsonl     # scanctl's JSON Lines
    python normalize.py diff   A.jsonl B.jsonl [--fields https_ok,forced_https]
    python normalize.py check  EXPECTED.json VERDICTS.jsonl   # {host: {field: bool}}; exit 1 on a miss

Every verdict line is {"host", "tool", "https_ok", "forced_https", ...}: a field is true/false
where the tool determines it and null where it does not (SSLyze does no HTTP, so its
forced_https is null; pshtt does not probe TLS versions). See README.md for the definitions.
Standard library only (runs under either venv's python or the machine's python3).
"""

import datetime
import json
import sys

FIELDS = [
    "https_reachable",
    "http_reachable",
    "https_ok",
    "forced_https",
    "cert_untrusted",
    "cert_expired",
    "cert_not_yet_valid",
    "hostname_mismatch",
    "self_signed",
    "chain_incomplete",
    "redirect_downgrade",
    "hsts",
    "tls_legacy_supported",
    "weak_key",
    "weak_signature",
]


def verdict(host: str, tool: str, **kw) -> dict:
    v = {"host": host, "tool": tool}
    for f in FIELDS:
        v[f] = kw.pop(f, None)
    v.update(kw)
    return v


# ---------------------------------------------------------------- pshtt


def from_pshtt(rows: list[dict]) -> list[dict]:
    """pshtt 0.7.6 JSON (a list of domain results with their 4 endpoints).

    Only the root endpoints count (http://HOST/, https://HOST/), as in our scanner: a www.
    sibling that does not exist only makes pshtt's domain-level "Unknown Error" true.

    https_ok     = "Valid HTTPS" and "HTTPS Publicly Trusted" is true and
                   "HTTPS Full Connection" and not "Downgrades HTTPS".
                   "Valid HTTPS" alone is not enough: when the chain does not validate, pshtt's
                   sslyze step raises before setting any flag and "Valid HTTPS" stays true
                   (untrusted and expired certificates both come out "valid"); only
                   "HTTPS Publicly Trusted" (the chain validates in every sslyze store) is false.
    forced_https = https_ok and "Strictly Forces HTTPS" (every http endpoint is down or
                   redirects immediately to https) and http://HOST/ is live (our rule: a closed
                   port 80 is not forced). pshtt looks at the first hop only.
    """
    out = []
    for r in rows:
        ep = r.get("endpoints") or {}
        http, https = ep.get("http") or {}, ep.get("https") or {}
        trusted = r.get("HTTPS Publicly Trusted") is True
        https_ok = bool(
            r.get("Valid HTTPS")
            and trusted
            and r.get("HTTPS Full Connection")
            and not r.get("Downgrades HTTPS")
        )
        forced = bool(https_ok and r.get("Strictly Forces HTTPS") and http.get("live"))
        https_live = bool(https.get("live"))
        out.append(
            verdict(
                r["Domain"],
                "pshtt",
                https_reachable=https_live,
                http_reachable=bool(http.get("live")),
                https_ok=https_ok,
                forced_https=forced,
                cert_untrusted=https_live and not trusted,
                cert_expired=bool(r.get("HTTPS Expired Cert")),
                hostname_mismatch=bool(r.get("HTTPS Bad Hostname")),
                self_signed=bool(r.get("HTTPS Self Signed Cert")),
                chain_incomplete=bool(r.get("HTTPS Probably Missing Intermediate Cert")),
                redirect_downgrade=bool(r.get("Downgrades HTTPS")),
                hsts=bool(r.get("HSTS")),
                raw={
                    k: r.get(k)
                    for k in (
                        "Valid HTTPS",
                        "HTTPS Publicly Trusted",
                        "Defaults to HTTPS",
                        "Strictly Forces HTTPS",
                        "Canonical URL",
                        "Unknown Error",
                    )
                },
                error=bool(http.get("unknown_error") or https.get("unknown_error")),
            )
        )
    return out


# ---------------------------------------------------------------- SSLyze


def _time(s: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def name_matches(host: str, names: list[str]) -> bool:
    """RFC 6125 as browsers do it: exact, or a leftmost `*` matching exactly one label."""
    host = host.lower().rstrip(".")
    for n in names:
        n = n.lower().rstrip(".")
        if n == host:
            return True
        if n.startswith("*.") and "." in host:
            if host.split(".", 1)[1] == n[2:]:
                return True
    return False


def _accepted(scan: dict, key: str) -> bool | None:
    attempt = scan.get(key) or {}
    if attempt.get("status") != "COMPLETED":
        return None
    return bool((attempt.get("result") or {}).get("accepted_cipher_suites"))


def from_sslyze(doc: dict, store: str = "Mozilla") -> list[dict]:
    """SSLyze 6 --json_out. https_ok = connectivity COMPLETED, TLS 1.2 or 1.3 accepted, and every
    certificate deployment validates in the Mozilla store (SSLyze 6 validates with cryptography's
    verifier, which checks the host name and the validity dates too). No HTTP: forced_https is
    null. Expiry, name and self-signature are read from the received leaf, not from the error
    text; cert_untrusted means the chain fails for another reason (unknown root, bad chain)."""
    out = []
    for bad in doc.get("invalid_server_strings") or []:
        # names SSLyze could not resolve never reach a scan
        host = bad["server_string"].rsplit(":", 1)[0]
        out.append(
            verdict(host, "sslyze", https_reachable=False, https_ok=False, error=[bad.get("error_message")])
        )
    for r in doc.get("server_scan_results", []):
        host = r["server_location"]["hostname"]
        if r.get("connectivity_status") != "COMPLETED":
            out.append(
                verdict(
                    host,
                    "sslyze",
                    https_reachable=False,
                    https_ok=False,
                    error=(r.get("connectivity_error_trace") or "").strip().splitlines()[-1:],
                )
            )
            continue
        scan = r.get("scan_result") or {}
        when = _time(doc.get("date_scans_started") or datetime.datetime.now(datetime.timezone.utc).isoformat())
        versions = {
            v: _accepted(scan, f"tls_1_{v}_cipher_suites") for v in ("0", "1", "2", "3")
        }
        highest = (r.get("connectivity_result") or {}).get("highest_tls_version_supported")
        modern = bool(versions["2"] or versions["3"] or highest in ("TLS_1_2", "TLS_1_3"))
        legacy = None
        if versions["0"] is not None or versions["1"] is not None:
            legacy = bool(versions["0"] or versions["1"])
        cert = ((scan.get("certificate_info") or {}).get("result")) or {}
        deployments = cert.get("certificate_deployments") or []
        trusted = bool(deployments)
        errors = []
        expired = not_yet = mismatch = self_signed = weak_key = weak_sig = False
        for d in deployments:
            chain = d.get("received_certificate_chain") or []
            pv = [p for p in d.get("path_validation_results") or [] if p["trust_store"]["name"] == store]
            if not pv or not pv[0].get("was_validation_successful"):
                trusted = False
                errors += [p.get("validation_error") for p in pv]
            if not chain:
                continue
            leaf = chain[0]
            if _time(leaf["not_valid_after"]) < when:
                expired = True
            if _time(leaf["not_valid_before"]) > when:
                not_yet = True
            sans = (leaf.get("subject_alternative_name") or {}).get("dns_names") or []
            if not name_matches(host, sans):
                mismatch = True
            if leaf["subject"]["rfc4514_string"] == leaf["issuer"]["rfc4514_string"]:
                self_signed = True
            for c in chain:
                if c["subject"]["rfc4514_string"] == c["issuer"]["rfc4514_string"]:
                    continue  # a root's own signature does not matter
                pk = c.get("public_key") or {}
                if pk.get("algorithm") == "RSAPublicKey" and (pk.get("key_size") or 0) < 2048:
                    weak_key = True
                alg = ((c.get("signature_hash_algorithm") or {}).get("name") or "").lower()
                if alg in ("sha1", "md5"):
                    weak_sig = True
        explained = expired or not_yet or mismatch
        out.append(
            verdict(
                host,
                "sslyze",
                https_reachable=True,
                https_ok=bool(modern and trusted),
                cert_untrusted=(not trusted) and (self_signed or not explained),
                cert_expired=expired,
                cert_not_yet_valid=not_yet,
                hostname_mismatch=mismatch,
                self_signed=self_signed,
                tls_legacy_supported=legacy,
                weak_key=weak_key,
                weak_signature=weak_sig,
                tls_highest=highest,
                validation_errors=[e[:160] for e in errors if e],
            )
        )
    return out


# ---------------------------------------------------------------- ours (scanctl JSON Lines)


def from_ours(lines: list[dict]) -> list[dict]:
    """Our scanner's output (../shared/spec/CHECKS.md): https_ok and forced_https as given,
    the other fields from the finding codes."""
    out = []
    for r in lines:
        codes = {f.get("code") for f in r.get("findings") or []}
        unreachable = bool(codes & {"https_unreachable", "dns_nxdomain", "dns_failed", "timeout"})
        out.append(
            verdict(
                r["host"],
                "ours",
                https_reachable=not unreachable,
                http_reachable=not bool(codes & {"http_unreachable", "dns_nxdomain", "dns_failed"}),
                https_ok=bool(r.get("https_ok")),
                forced_https=bool(r.get("forced_https")),
                cert_untrusted=bool(codes & {"cert_untrusted", "cert_self_signed"}),
                cert_expired="cert_expired" in codes,
                cert_not_yet_valid="cert_not_yet_valid" in codes,
                hostname_mismatch="cert_hostname_mismatch" in codes,
                self_signed="cert_self_signed" in codes,
                chain_incomplete="cert_chain_incomplete" in codes,
                redirect_downgrade="redirect_downgrade" in codes,
                hsts=bool(r.get("https_ok")) and "hsts_missing" not in codes,
                tls_legacy_supported=bool(codes & {"tls_legacy_supported", "tls_legacy_only"}),
                weak_key="cert_weak_key" in codes,
                weak_signature="cert_weak_signature" in codes,
                codes=sorted(c for c in codes if c),
            )
        )
    return out


# ---------------------------------------------------------------- diff / check


def read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def diff(a: list[dict], b: list[dict], fields: list[str]) -> list[dict]:
    """Hosts where two tools disagree on a field both determine (neither is null)."""
    bmap = {v["host"]: v for v in b}
    rows = []
    for va in a:
        vb = bmap.get(va["host"])
        if vb is None:
            continue
        for f in fields:
            x, y = va.get(f), vb.get(f)
            if x is not None and y is not None and x != y:
                rows.append({"host": va["host"], "field": f, va["tool"]: x, vb["tool"]: y})
    return rows


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd in ("pshtt", "sslyze", "ours"):
        if cmd == "pshtt":
            with open(argv[2], encoding="utf-8") as f:
                verdicts = from_pshtt(json.load(f))
        elif cmd == "sslyze":
            with open(argv[2], encoding="utf-8") as f:
                verdicts = from_sslyze(json.load(f))
        else:
            verdicts = from_ours(read_jsonl(argv[2]))
        for v in sorted(verdicts, key=lambda v: v["host"]):
            print(json.dumps(v, sort_keys=False))
        return 0
    if cmd == "diff" and len(argv) >= 4:
        fields = ["https_ok", "forced_https"]
        if len(argv) == 6 and argv[4] == "--fields":
            fields = argv[5].split(",")
        rows = diff(read_jsonl(argv[2]), read_jsonl(argv[3]), fields)
        for r in rows:
            print(json.dumps(r))
        print(f"{len(rows)} disagreements", file=sys.stderr)
        return 0
    if cmd == "check" and len(argv) == 4:
        with open(argv[2], encoding="utf-8") as f:
            expected = json.load(f)
        got = {v["host"]: v for v in read_jsonl(argv[3])}
        misses = 0
        for host, fields in expected.items():
            v = got.get(host)
            for f, want in fields.items():
                have = None if v is None else v.get(f)
                if have is None:
                    continue  # the tool does not determine it
                if have != want:
                    misses += 1
                    print(f"MISS {host} {f}: expected {want}, got {have}")
        checked = sum(1 for h in expected if h in got)
        print(f"check: {checked} hosts, {misses} misses")
        return 1 if misses or checked == 0 else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
