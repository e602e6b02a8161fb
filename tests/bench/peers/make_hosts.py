"""Write an /etc/hosts-format file for a fleet by asking the fleet's own DNS server.

    python make_hosts.py --dns 127.0.0.1:PORT SITES_LIST [--www] > hosts

The peers cannot be pointed at a DNS server on another port, so run.sh gives them this file as
/etc/hosts inside a private mount namespace. Each host of SITES_LIST (the scanner's CSV or a
plain list) is looked up once (A records, over UDP, a few retries); with --www the `www.`
sibling too, which pshtt always tries. Names that do not resolve are left out and counted on
stderr (pshtt and SSLyze then report them unresolvable, as they should). Only loopback DNS
servers are accepted. Standard library only.
"""

import argparse
import ipaddress
import os
import socket
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sitelist  # noqa: E402


def query(name: str, qid: int) -> bytes:
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD, one question
    qname = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split("."))
    return header + qname + b"\x00" + struct.pack(">HH", 1, 1)  # A, IN


def skip_name(msg: bytes, i: int) -> int:
    while True:
        n = msg[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


def parse_a(msg: bytes, qid: int) -> list[str] | None:
    """A addresses of an answer, [] for NXDOMAIN/no data, None if the message is not ours."""
    if len(msg) < 12:
        return None
    rid, flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", msg[:12])
    if rid != qid or not flags & 0x8000:
        return None
    i = 12
    for _ in range(qd):
        i = skip_name(msg, i) + 4
    out = []
    for _ in range(an):
        i = skip_name(msg, i)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[i : i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(msg[i : i + 4]))
        i += rdlen
    return out


def resolve(sock: socket.socket, server: tuple[str, int], name: str, qid: int) -> list[str]:
    for _attempt in range(3):
        sock.sendto(query(name, qid), server)
        try:
            while True:
                msg, _ = sock.recvfrom(4096)
                got = parse_a(msg, qid)
                if got is not None:
                    return got
        except TimeoutError:
            continue
    return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dns", required=True, help="the fleet's DNS server, HOST:PORT on loopback")
    ap.add_argument("--www", action="store_true", help="also look up each www. sibling")
    ap.add_argument("sites")
    args = ap.parse_args()
    host, _, port = args.dns.rpartition(":")
    server = (host.strip("[]"), int(port))
    if not ipaddress.ip_address(server[0]).is_loopback:
        print(f"make_hosts.py: {server[0]} is not a loopback address", file=sys.stderr)
        return 2
    names = sitelist.hosts(args.sites)
    if args.www:
        names += [f"www.{n}" for n in names if not n.startswith("www.")]
    fam = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    missing = 0
    with socket.socket(fam, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        for k, name in enumerate(names):
            addrs = resolve(sock, server, name, (k % 65535) + 1)
            if not addrs:
                missing += 1
                continue
            print(f"{addrs[0]} {name}")
    print(f"make_hosts.py: {len(names) - missing} of {len(names)} names resolved", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
