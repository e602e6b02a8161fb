"""SSLyze's own CLI (`python -m sslyze ...`), with its concurrency limits raised.

SSLyze 6's CLI has no flag to raise concurrency (only --slow_connection, which lowers it); its
Scanner defaults to 10 servers scanned at once and 5 connections per server. This wrapper
replaces those defaults with SSLYZE_CONCURRENT_SERVERS / SSLYZE_PER_SERVER_CONNECTIONS (when
set) and then runs the unchanged CLI, so arguments and --json_out are SSLyze's own.
"""

import os
import sys

import sslyze.__main__ as cli

servers = int(os.environ.get("SSLYZE_CONCURRENT_SERVERS") or 0) or None
per_server = int(os.environ.get("SSLYZE_PER_SERVER_CONNECTIONS") or 0) or None
_Scanner = cli.Scanner


def scanner(
    per_server_concurrent_connections_limit=None, concurrent_server_scans_limit=None, **kw
):
    return _Scanner(
        per_server_concurrent_connections_limit=per_server_concurrent_connections_limit
        or per_server,
        concurrent_server_scans_limit=concurrent_server_scans_limit or servers,
        **kw,
    )


cli.Scanner = scanner
sys.argv[0] = "sslyze"
cli.main()
