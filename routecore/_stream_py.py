"""The pure-Python reading of ``route_tls`` and ``route_stream`` (the TLS, TCP and UDP listeners of
a Gateway port: routecore._compile.streams), shared by the pure twin and by explain.

Invariants: the listener for an SNI is chosen as an HTTP Host chooses one (exact hostname, then
the longest wildcard, then none), among the port's TLS listeners only; then the group as a Host
picks a host group; an empty or absent SNI matches only listeners and groups without hostname.
``route_stream`` takes the port's first TCP listener, else its first UDP one (``protocol``
narrows it to one of them).
"""
from __future__ import annotations

from typing import Optional, Tuple

from ._paths import host_key
from ._predicates import host_rank, listener_rank
from ._request import text


def tls_listener(spec, sni) -> Tuple[Optional[object], str]:
    """(the TLS listener spec that takes ``sni``, or None; the SNI's host key)."""
    hk = host_key(text(sni)) if sni is not None else ""
    best, best_rank = None, None
    for lis in spec.streams:
        if lis.protocol != "TLS":
            continue
        rank = listener_rank(lis.hostname, hk) if hk or lis.hostname is None else None
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = lis, rank
    return best, hk


def tls_outcome(spec, sni) -> int:
    lis, hk = tls_listener(spec, sni)
    if lis is None:
        return spec.no_listener
    best, best_rank = None, None
    for g in lis.groups:
        rank = host_rank(g.hostname, hk) if hk or g.hostname is None else None
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = g, rank
    return best.outcome if best is not None else lis.no_match


def stream_listener(spec, protocol: Optional[str] = None):
    for lis in spec.streams:
        if lis.protocol in ("TCP", "UDP") and protocol in (None, lis.protocol):
            return lis
    return None


def stream_outcome(spec, protocol: Optional[str] = None) -> int:
    if protocol not in (None, "TCP", "UDP"):
        raise ValueError(f"protocol must be 'TCP', 'UDP' or None, got {protocol!r}")
    lis = stream_listener(spec, protocol)
    if lis is None:
        return spec.no_listener
    return lis.groups[0].outcome if lis.groups else lis.no_match
