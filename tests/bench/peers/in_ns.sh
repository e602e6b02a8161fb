#!/usr/bin/env bash
# in_ns.sh NSDIR CMD [ARGS...]: run CMD in a private mount namespace where /etc/hosts,
# /etc/nsswitch.conf and /etc/resolv.conf are NSDIR's files (bind mounts that exist only inside
# the namespace: the machine's own files are never touched). NSDIR/nsswitch.conf says
# "hosts: files", so every name is answered from NSDIR/hosts and no DNS query leaves the
# machine. Needs root (unshare -m, mount).
set -euo pipefail
ns="$1"; shift
exec unshare --mount --propagation private -- /bin/bash -c '
    set -e
    ns="$1"; shift
    mount --bind "$ns/hosts" /etc/hosts
    mount --bind "$ns/nsswitch.conf" /etc/nsswitch.conf
    mount --bind "$ns/resolv.conf" /etc/resolv.conf
    exec "$@"' in_ns "$ns" "$@"
