"""The spec's matching predicates read literally: shared by the pure twin and explain.

Invariants: each predicate is the Gateway API's rule for one part of a match (hostname
specificity, listener choice, one header/query condition, one entry), with no index or shortcut;
the native twin computes the same answers through its indexes.
"""
from __future__ import annotations

from typing import Optional

from ._compile.table import EXACT, PREFIX
from ._paths import hostname_matches, prefix_matches


def host_rank(pattern: Optional[str], host: str):
    """Route hostname specificity for ``host``; lower sorts first; None when it does not match."""
    if pattern is None:
        return (0, 0)
    if not hostname_matches(pattern, host):
        return None
    if pattern.startswith("*."):
        return (0, -len(pattern))
    return (-len(pattern), -len(pattern))


def listener_rank(hostname: Optional[str], host: str):
    if hostname is None:
        return (2, 0)
    if not hostname_matches(hostname, host):
        return None
    return (1, -len(hostname)) if hostname.startswith("*.") else (0, 0)


def choose_listener(spec, hk: str):
    """The listener of a table (TableSpec) that takes a request whose host key is ``hk``: the
    most specific by ``listener_rank`` (exact hostname, then the longest wildcard, then none),
    the first on ties; a mesh table's one listener whatever the host; None when none matches."""
    if spec.mesh:
        return spec.listeners[0] if spec.listeners else None
    best, best_rank = None, None
    for lis in spec.listeners:
        rank = listener_rank(lis.hostname, hk)
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = lis, rank
    return best


def cond_ok(cond, value: Optional[str]) -> bool:
    if value is None:
        return False
    if cond.regex is not None:
        return cond.regex.fullmatch(value) is not None
    return value == cond.value


def entry_matches(e, method: str, path: str, headers: dict, query: dict) -> bool:
    if e.path_type == EXACT:
        if path != e.path:
            return False
    elif e.path_type == PREFIX:
        if not prefix_matches(e.path, path):
            return False
    elif path[:1] != "/" or e.regex.fullmatch(path) is None:  # "*", authority-form: no path
        return False
    if e.method is not None and e.method != method:
        return False
    return (all(cond_ok(c, headers.get(c.name)) for c in e.headers)
            and all(cond_ok(c, query.get(c.name)) for c in e.queries))
