"""Compilation: from models to per-view rule tables, with precedence computed once per match.

Invariants:
- ``Entry.sort_key`` is the whole of the spec's precedence after the hostname part (digest §4),
  so sorting entries by it and taking the first that matches is the spec's decision;
- within a ``HostGroup`` entries are sorted by ``sort_key``; host groups of a listener are what a
  request host ranks (exact host first, then wildcards longest first, then no hostname);
- every Choice a table can return exists in ``TableSpec.choices``: matching never builds one.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import attrs
from attrs import frozen

from ._models import CORE_GROUP, GATEWAY_GROUP, Config, HTTPRoute, HeaderModifier, Listener, Rule
from ._outcome import Backend, Choice, HeaderOps, Mirror
from ._paths import hostname_matches
from ._regex import compile_regex, required_literal

EXACT, PREFIX, REGEX = 0, 1, 2
PATH_TYPES = {"Exact": EXACT, "PathPrefix": PREFIX, "RegularExpression": REGEX}


@frozen
class Cond:
    """One header or query-parameter condition: ``name`` is lower-cased for headers."""

    name: str
    value: str
    regex: object = None  # compiled RE2 program for RegularExpression, else None


@frozen
class Entry:
    sort_key: tuple
    path_type: int
    path: str  # Exact: the path; PathPrefix: without trailing "/" ("/" is ""); regex: the pattern
    regex: object
    literal: Optional[str]  # a substring every path matching ``regex`` contains (prefilter)
    method: Optional[str]
    headers: Tuple[Cond, ...]
    queries: Tuple[Cond, ...]
    outcome: int
    route: str
    rule: int
    match: int


@frozen
class HostGroup:
    hostname: Optional[str]  # "a.example.com", "*.example.com" or None for any host
    entries: Tuple[Entry, ...]


@frozen
class ListenerSpec:
    name: Optional[str]
    hostname: Optional[str]
    groups: Tuple[HostGroup, ...]
    no_match: int  # outcome when no entry matches


@frozen
class TableSpec:
    listeners: Tuple[ListenerSpec, ...]
    choices: Tuple[Choice, ...]
    grpc_choices: Tuple[Optional[Choice], ...]  # the same choice answered to a gRPC client
    outcomes: Tuple[Tuple[int, Tuple[int, ...]], ...]  # (first choice, cumulative weights)
    no_listener: int
    misdirected: int  # HTTPS: the SNI selects another listener than the Host does (421)
    header_names: Tuple[str, ...]
    mesh: bool
    normalize_path: bool
    seed: int
    regex_first: bool = False  # RegularExpression paths rank above PathPrefix ("before-prefix")


def normalize_prefix(value: str) -> str:
    return value.rstrip("/")


def sort_key(route: HTTPRoute, rule_index: int, match_index: int, m, regex_before_prefix: bool):
    ptype = PATH_TYPES[m.path.type]
    if ptype == EXACT:
        klass, length = 0, 0
    elif ptype == PREFIX:
        klass, length = (2 if regex_before_prefix else 1), -len(normalize_prefix(m.path.value))
    else:
        klass, length = (1 if regex_before_prefix else 2), -len(m.path.value)
    ts = (1, 0) if route.creation_timestamp is None else (0, route.creation_timestamp)
    return (klass, length, 0 if m.method else 1, -len(m.headers), -len(m.query_params), ts,
            route.key, rule_index, match_index)


def intersect_hostname(route_host: str, listener_host: Optional[str]) -> Optional[str]:
    """The hostname a route hostname effectively has on a listener, or None if they are disjoint."""
    if listener_host is None or route_host == listener_host:
        return route_host
    r_wild, l_wild = route_host.startswith("*."), listener_host.startswith("*.")
    if r_wild and l_wild:
        if listener_host.endswith(route_host[1:]):
            return listener_host
        if route_host.endswith(listener_host[1:]):
            return route_host
        return None
    if r_wild:
        return listener_host if hostname_matches(route_host, listener_host) else None
    if l_wild:
        return route_host if hostname_matches(listener_host, route_host) else None
    return None


def effective_hostnames(route: HTTPRoute, listener_host: Optional[str]) -> List[Optional[str]]:
    if not route.hostnames:
        return [listener_host]
    out = []
    for h in route.hostnames:
        eff = intersect_hostname(h, listener_host)
        if eff is not None and eff not in out:
            out.append(eff)
    return out


class _Builder:
    """Accumulates the choices, outcomes and header names of one table."""

    def __init__(self, router, mesh: bool):
        self.router = router
        self.mesh = mesh
        self.choices: List[Choice] = []
        self.grpc: List[Optional[Choice]] = []
        self.outcomes: List[Tuple[int, Tuple[int, ...]]] = []
        self.header_names: Dict[str, None] = {}
        self._rule_outcomes: Dict[tuple, int] = {}

    def outcome(self, choices: List[Choice], weights: List[int]) -> int:
        start = len(self.choices)
        for c in choices:
            self.choices.append(c)
            grpc = None
            if c.status == 404:
                grpc = attrs.evolve(c, grpc_status=12)
            elif c.status == 500:
                grpc = attrs.evolve(c, grpc_status=14)
            self.grpc.append(grpc)
        cum, total = [], 0
        for w in weights:
            total += w
            cum.append(total)
        self.outcomes.append((start, tuple(cum)))
        return len(self.outcomes) - 1

    def static(self, choice: Choice) -> int:
        return self.outcome([choice], [1])

    def rule_outcome(self, route: HTTPRoute, index: int, rule: Rule, listener: Optional[str],
                     port: Optional[int], scheme: str) -> int:
        key = (route.key, index, listener)
        if key not in self._rule_outcomes:
            choices, weights = self.router._rule_choices(route, index, rule, listener, port,
                                                         scheme, self.mesh)
            self._rule_outcomes[key] = self.outcome(choices, weights)
        return self._rule_outcomes[key]

    def entries(self, route: HTTPRoute, listener: Optional[str], port: Optional[int],
                scheme: str) -> List[Entry]:
        out = []
        before = self.router.regex_precedence == "before-prefix"
        indexes = route.rule_indexes or range(len(route.rules))
        for rule, index in zip(route.rules, indexes):
            outcome = self.rule_outcome(route, index, rule, listener, port, scheme)
            for mi, m in enumerate(rule.matches):
                ptype = PATH_TYPES[m.path.type]
                path = normalize_prefix(m.path.value) if ptype == PREFIX else m.path.value
                rx = self.router._regex(m.path.value) if ptype == REGEX else None
                headers = tuple(Cond(h.name, h.value, self.router._regex(h.value)
                                     if h.type == "RegularExpression" else None)
                                for h in m.headers)
                for h in headers:
                    self.header_names.setdefault(h.name)
                queries = tuple(Cond(q.name, q.value, self.router._regex(q.value)
                                     if q.type == "RegularExpression" else None)
                                for q in m.query_params)
                out.append(Entry(
                    sort_key=sort_key(route, index, mi, m, before), path_type=ptype, path=path,
                    regex=rx, literal=required_literal(m.path.value) if ptype == REGEX else None,
                    method=m.method, headers=headers, queries=queries, outcome=outcome,
                    route=route.key, rule=index, match=mi))
        return out

    def spec(self, listeners, no_listener: int, normalize: bool, seed: int,
             misdirected: Optional[int] = None) -> TableSpec:
        return TableSpec(listeners=tuple(listeners), choices=tuple(self.choices),
                         grpc_choices=tuple(self.grpc), outcomes=tuple(self.outcomes),
                         no_listener=no_listener, header_names=tuple(self.header_names),
                         misdirected=no_listener if misdirected is None else misdirected,
                         mesh=self.mesh, normalize_path=normalize, seed=seed,
                         regex_first=self.router.regex_precedence == "before-prefix")


def group_entries(by_host: Dict[Optional[str], List[Entry]]) -> Tuple[HostGroup, ...]:
    groups = [HostGroup(h, tuple(sorted(es, key=lambda e: e.sort_key)))
              for h, es in by_host.items()]
    return tuple(groups)


def listener_accepts(config: Config, gateway, listener: Listener, route: HTTPRoute) -> bool:
    """allowedRoutes (namespaces and kinds) and protocol of a listener, for this route."""
    if listener.protocol not in ("HTTP", "HTTPS"):
        return False
    if listener.allowed_kinds and not any(
            k.group == GATEWAY_GROUP and k.kind == route.kind for k in listener.allowed_kinds):
        return False
    if listener.allowed_from == "All":
        return True
    if listener.allowed_from == "Same":
        return route.namespace == gateway.namespace
    if listener.allowed_from == "Selector":
        labels = {"kubernetes.io/metadata.name": route.namespace}
        for ns in config.namespaces:
            if ns.name == route.namespace:
                labels = ns.label_map
        return listener.selector is not None and listener.selector.matches(labels)
    return False


def attaches_to_listener(ref, gateway, listener: Listener) -> bool:
    return (ref.group == GATEWAY_GROUP and ref.kind == "Gateway"
            and ref.namespace == gateway.namespace and ref.name == gateway.name
            and (ref.section_name is None or ref.section_name == listener.name)
            and (ref.port is None or ref.port == listener.port))


def header_ops(filters, type_: str) -> Tuple[HeaderOps, ...]:
    return tuple(HeaderOps.from_model(f) for f in filters
                 if isinstance(f, HeaderModifier) and f.type == type_)


def core_backend(ref) -> Backend:
    return Backend(namespace=ref.namespace, name=ref.name, port=ref.port, group=ref.group,
                   kind=ref.kind, weight=ref.weight)


def is_core_service(ref) -> bool:
    return ref.group == CORE_GROUP and ref.kind == "Service"
