"""Print the hosts of a site list, one a line, in order, each once.

    python sitelist.py SITES_LIST

SITES_LIST is the scanner's input (../shared/spec/CHECKS.md): a CSV with the header
`agency,category,parent,url` (UTF-8, BOM allowed) or a plain list of URLs or hosts, one a line.
A URL's scheme, port, path and a trailing dot are dropped; the host is lower-cased.
"""

import csv
import sys
import urllib.parse


def host_of(entry: str) -> str | None:
    entry = entry.strip()
    if not entry or entry.startswith("#"):
        return None
    url = entry if "://" in entry else "http://" + entry
    host = urllib.parse.urlsplit(url).hostname
    return host.rstrip(".").lower() if host else None


def hosts(path: str) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        text = f.read()
    lines = text.splitlines()
    entries: list[str]
    if lines and lines[0].replace(" ", "").lower().startswith("agency,category,parent,url"):
        rows = csv.DictReader(lines)
        entries = [row.get("url") or "" for row in rows]
    else:
        entries = lines
    seen: dict[str, None] = {}
    for e in entries:
        h = host_of(e)
        if h:
            seen.setdefault(h, None)
    return list(seen)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: sitelist.py SITES_LIST", file=sys.stderr)
        sys.exit(2)
    for h in hosts(sys.argv[1]):
        print(h)
