"""A tiny stand-in fleet on 127.88.0.x:80/443 to check the peers' set-up without the real farm.

    python toy_fleet.py DIR      # needs `cryptography` (the sslyze venv has it); runs until SIGTERM

Writes DIR/ca.pem (the CA to trust), DIR/other-ca.pem (the root of untrusted.gov.test),
DIR/unrelated-ca.pem (a CA that signed nothing: trusting it leaves every site invalid), DIR/hosts
(/etc/hosts format), DIR/sites.txt (one host a line) and DIR/expected.json (the verdict a
browser gives each site once ca.pem is trusted), then serves:

  valid.gov.test        127.88.0.1  good cert, http 301 -> https, HSTS 1 year
  shared.gov.test       127.88.0.1  same address, own cert chosen by SNI, http 301 -> https
  noredirect.gov.test   127.88.0.2  good cert, http answers 200 (not forced)
  expired.gov.test      127.88.0.3  leaf expired 30 days ago, http 301 -> https
  wronghost.gov.test    127.88.0.4  cert for other.gov.test only, http 301 -> https
  untrusted.gov.test    127.88.0.5  leaf from other-ca.pem, http 301 -> https
  httponly.gov.test     127.88.0.6  nothing on 443, http 200

Loopback only. Kill it with SIGTERM/SIGINT; it closes its sockets and exits.
"""

import datetime
import http.server
import json
import pathlib
import signal
import socket
import ssl
import sys
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)

# host -> (address, cert kind, http behaviour, https served, expected verdict)
SITES = {
    "valid.gov.test": ("127.88.0.1", "good", "redirect", True, (True, True)),
    "shared.gov.test": ("127.88.0.1", "good", "redirect", True, (True, True)),
    "noredirect.gov.test": ("127.88.0.2", "good", "page", True, (True, False)),
    "expired.gov.test": ("127.88.0.3", "expired", "redirect", True, (False, False)),
    "wronghost.gov.test": ("127.88.0.4", "wronghost", "redirect", True, (False, False)),
    "untrusted.gov.test": ("127.88.0.5", "untrusted", "redirect", True, (False, False)),
    "httponly.gov.test": ("127.88.0.6", None, "page", False, (False, False)),
}


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 10 * DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca, sans: list[str], not_before, not_after):
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(sans[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_key(path: pathlib.Path, key) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def build(out: pathlib.Path) -> dict[str, ssl.SSLContext]:
    out.mkdir(parents=True, exist_ok=True)
    ca = make_ca("Toy Fleet Test Root")
    other = make_ca("Toy Fleet Untrusted Root")
    (out / "ca.pem").write_bytes(pem(ca[1]))
    (out / "other-ca.pem").write_bytes(pem(other[1]))
    # A CA that signed nothing here: trusting it must leave every site untrusted.
    (out / "unrelated-ca.pem").write_bytes(pem(make_ca("Toy Fleet Unrelated Root")[1]))
    contexts: dict[str, ssl.SSLContext] = {}
    for host, (_addr, kind, _http, https, _exp) in SITES.items():
        if not https:
            continue
        if kind == "good":
            key, cert = make_leaf(ca, [host], NOW - DAY, NOW + 200 * DAY)
        elif kind == "expired":
            key, cert = make_leaf(ca, [host], NOW - 400 * DAY, NOW - 30 * DAY)
        elif kind == "wronghost":
            key, cert = make_leaf(ca, ["other.gov.test"], NOW - DAY, NOW + 200 * DAY)
        elif kind == "untrusted":
            key, cert = make_leaf(other, [host], NOW - DAY, NOW + 200 * DAY)
        else:
            raise ValueError(kind)
        crt, k = out / f"{host}.crt", out / f"{host}.key"
        issuer = other if kind == "untrusted" else ca
        crt.write_bytes(pem(cert) + pem(issuer[1]))  # leaf + root, as many servers send
        write_key(k, key)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, k)
        contexts[host] = ctx
    (out / "hosts").write_text("".join(f"{a} {h}\n" for h, (a, *_r) in SITES.items()))
    (out / "sites.txt").write_text("".join(f"{h}\n" for h in SITES))
    (out / "expected.json").write_text(
        json.dumps(
            {h: {"https_ok": e[0], "forced_https": e[1]} for h, (*_r, e) in SITES.items()},
            indent=1,
        )
    )
    return contexts


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def log_message(self, *_args) -> None:
        pass

    def do_HEAD(self) -> None:
        self.do_GET(body=False)

    def do_GET(self, body: bool = True) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        site = SITES.get(host)
        tls = isinstance(self.connection, ssl.SSLSocket)
        if site is None:
            self.send_error(421, "unknown host")
            return
        if not tls and site[2] == "redirect":
            self.send_response(301)
            self.send_header("Location", f"https://{host}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        page = f"<!doctype html><title>{host}</title><p>hello from {host}</p>\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if tls:
            self.send_header("Strict-Transport-Security", "max-age=31536000")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if body:
            self.wfile.write(page)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None

    def finish_request(self, request, client_address) -> None:
        # The handshake runs in the request's own thread, so a slow or failing client
        # (sslyze probes TLS 1.0, SSL 3, ...) never blocks the accept loop.
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                request.close()
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        pass


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: toy_fleet.py DIR", file=sys.stderr)
        return 2
    contexts = build(pathlib.Path(sys.argv[1]))
    servers: list[Server] = []
    addresses = sorted({a for a, *_r in SITES.values()})
    for addr in addresses:
        http_srv = Server((addr, 80), Handler)
        servers.append(http_srv)
        hosts = [h for h, s in SITES.items() if s[0] == addr and s[3]]
        if not hosts:
            continue
        https_srv = Server((addr, 443), Handler)
        default = contexts[hosts[0]]

        def pick(sock, server_name, _ctx, default=default):
            sock.context = contexts.get((server_name or "").lower(), default)

        default.sni_callback = pick
        https_srv.tls = default
        servers.append(https_srv)
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        for s in servers
    ]
    for t in threads:
        t.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"toy fleet: {len(SITES)} sites on {len(addresses)} addresses", flush=True)
    stop.wait()
    stoppers = [threading.Thread(target=s.shutdown) for s in servers]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()
    for s in servers:
        s.server_close()
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    sys.exit(main())
