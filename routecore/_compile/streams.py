"""The TLS, TCP and UDP listeners of one Gateway port as the twins read them (``route_tls`` /
``route_stream``).

Invariants:
- a TLS listener's groups are its routes' effective hostnames (route hostname intersected with
  the listener's), each with the outcome of the one route that wins it: the oldest
  (creationTimestamp, then "{namespace}/{name}"); SNI picks a group as an HTTP Host picks a host
  group (exact name, then wildcards longest first, then none);
- a TCP or UDP listener has at most one group (hostname None): its oldest route (digest §3.3);
- an outcome takes the backendRefs of every rule of the route (a v1 route has one rule), each
  choice carrying its rule; choices of a TLS listener carry its ``tls_mode``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import attrs
from attrs import frozen

from .._outcome import Choice
from .table import Builder, age_key

STREAM_PROTOCOLS = ("TLS", "TCP", "UDP")


@frozen
class StreamGroup:
    hostname: Optional[str]  # TLS: "a.example.com", "*.example.com" or None (any SNI)
    outcome: int
    route: str  # "namespace/name" of the route that wins the group


@frozen
class StreamListenerSpec:
    name: str  # the listener's key (Decision.listener)
    hostname: Optional[str]
    protocol: str  # "TLS" | "TCP" | "UDP"
    tls_mode: Optional[str]
    groups: Tuple[StreamGroup, ...]  # in SNI precedence order
    no_match: int


def _group_rank(hostname: Optional[str]) -> tuple:
    if hostname is None:
        return (2, 0, "")
    if hostname.startswith("*."):
        return (1, -len(hostname), hostname)
    return (0, 0, hostname)


def stream_outcome(b: Builder, route, listener) -> int:
    choices: List[Choice] = []
    weights: List[int] = []
    for rule, resolved in zip(route.rules, b.attachments.rule_backends(route, False)):
        cs, ws = b.rule_choices(route, resolved, rule, listener.key, listener.port, "http", route.key)
        choices += cs
        weights += ws
    if listener.protocol == "TLS":
        mode = listener.tls_mode
        choices = [attrs.evolve(c, tls_mode=mode) for c in choices]
    return b.outcome(choices, weights)


def stream_listener(b: Builder, attachments, gateway, listener) -> StreamListenerSpec:
    by_host: Dict[Optional[str], list] = {}
    for route, hosts in attachments.listener_routes(gateway, listener):
        for h in hosts:
            by_host.setdefault(h, []).append(route)
    groups = []
    for host, routes in by_host.items():
        winner = min(routes, key=age_key)
        groups.append(StreamGroup(host, stream_outcome(b, winner, listener), winner.key))
    groups.sort(key=lambda g: _group_rank(g.hostname))
    mode = listener.tls_mode if listener.protocol == "TLS" else None
    no_match = b.static(Choice(matched=False, status=404, listener=listener.key, tls_mode=mode))
    return StreamListenerSpec(listener.key, listener.hostname, listener.protocol, mode, tuple(groups), no_match)
