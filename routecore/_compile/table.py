# cython: annotation_typing=False
"""Compilation: from models to per-view rule tables, with precedence computed once per match.

Invariants:
- ``Entry.sort_key`` is the whole of the spec's precedence after the hostname part (digest §4;
  §10 for GRPCRoute, whose method matches become path matches here: ``grpc_path_match``),
  so sorting entries by it and taking the first that matches is the spec's decision;
- an Entry's path type is what its rank and regex say (``Entry.path_type``): rank class 0 is
  Exact paths' alone, and only regex paths carry a program (both twins read it so);
- within a ``HostGroup`` entries are sorted by ``sort_key``; host groups of a listener are what a
  request host ranks (exact host first, then wildcards longest first, then no hostname);
- every Choice a table can return exists in ``TableSpec.choices``: matching never builds one;
- this file is the one source: setup.py compiles it as it is with Cython (the extension
  ``routecore._compile.table``, imported in its place when built; ``annotation_typing=False``:
  the annotations are not enforced), the ``cython.cfunc`` helpers becoming C functions; without
  the extension it runs as plain Python (tests/test_compile_source.py compares both).
"""
from __future__ import annotations

from itertools import accumulate
from operator import itemgetter
from types import SimpleNamespace
from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional, Sequence, Tuple

import attrs
from attrs import field, frozen

from .._config.models import (CORE_GROUP, CORS, GATEWAY_GROUP, Config, ExtensionRef, HTTPRoute,
                              HeaderModifier, Listener, RequestMirror, RequestRedirect, Rule,
                              URLRewrite)
from .._outcome import Backend, Choice, HeaderOps, Mirror
from .._paths import hostname_matches
from .._config.regex import compile_regex
from .listeners import supported_kinds
from .outcomes import Outcomes

try:
    import cython  # (compiled: the cython.cfunc helpers below become C functions)
except ImportError:  # pragma: no cover - plain Python without Cython: the decorator does nothing
    cython = SimpleNamespace(cfunc=lambda f: f)

if TYPE_CHECKING:
    from .options import RouterOptions

EXACT, PREFIX, REGEX = 0, 1, 2
# the grpc-status of a Choice's status answered to a gRPC client: 12 UNIMPLEMENTED, 14
# UNAVAILABLE, 3 INVALID_ARGUMENT (Builder.outcome makes that form of such a Choice)
GRPC_STATUS = {404: 12, 500: 14, 400: 3}
PATH_TYPES = {"Exact": EXACT, "PathPrefix": PREFIX, "RegularExpression": REGEX}


@frozen
class Cond:
    """One header or query-parameter condition: ``name`` is lower-cased for headers."""

    name: str
    value: str
    regex: object = None  # compiled RE2 program for RegularExpression, else None


class Entry(NamedTuple):
    """One match of one rule in a table: a tuple whose first five items are its ``sort_key``
    (one object per entry, the key's parts stored once; ``route``, ``rule`` and ``match`` are
    the key's last three). The sort keys of the entries of a host group are unique (one route
    of a key per listener), so entries compare as their keys do: a group is sorted as it is,
    without a key function. Ten items (a tuple subclass of ten is a 128-byte block, of eleven
    or twelve 144: issue 15 item 5): the path type is not one, it is what the rank's class and
    the regex say (``path_type``); the header and query-parameter conditions are one pair
    (``conds``, shared: ``NO_CONDS`` for most entries), read as ``headers`` and ``queries``."""

    # the precedence key (see ``sort_key`` / ``grpc_sort_key``): the rank (class, path length,
    # method, header and query-parameter counts, negated where more ranks first: one tuple,
    # shared by the entries of equal ranks, see Builder._rank), route age, then "{ns}/{name}",
    # rule index, match index
    rank: Tuple[int, int, int, int, int]
    age: tuple
    route: str
    rule: int
    match: int
    path: str  # Exact: the path; PathPrefix: without trailing "/" ("/" is ""); regex: the pattern
    regex: object  # the compiled pattern of a regex path (its prefilter literal: the table's)
    method: Optional[str]
    conds: Tuple[Tuple[Cond, ...], Tuple[Cond, ...]]  # (headers, queries)
    outcome: int

    @property
    def sort_key(self) -> tuple:
        return self[:KEY_LEN]

    @property
    def path_type(self) -> int:
        """EXACT, PREFIX or REGEX: class 0 of a rank is Exact paths' alone (HTTPRoute and
        GRPCRoute: ``sort_key``, ``grpc_sort_key``), and a regex entry alone has a program
        (the native build reads it the same way: _match_c_build.pxi ``_path_type``)."""
        return EXACT if self[0][0] == 0 else PREFIX if self[6] is None else REGEX

    @property
    def headers(self) -> Tuple[Cond, ...]:
        return self[8][0]

    @property
    def queries(self) -> Tuple[Cond, ...]:
        return self[8][1]


KEY_LEN = 5  # the items of an Entry that are its sort_key
entry_key = itemgetter(slice(0, KEY_LEN))  # Entry.sort_key, as a key function (C speed)
_new_entry = tuple.__new__  # an Entry from its items in one tuple, without NamedTuple's __new__
_ONE = (1,)  # the cumulative weights of a one-choice outcome
NO_CONDS = ((), ())  # Entry.conds of an entry without header or query-parameter conditions


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
    outcomes: Outcomes  # outcomes[i]: (first choice, cumulative weights)
    no_listener: int
    misdirected: int  # HTTPS: the SNI selects another listener than the Host does (421)
    header_names: Tuple[str, ...]
    mesh: bool
    options: "RouterOptions"  # the Router's, whole
    # the view's key in its Router: ("gateway", ns, name, port) or
    # ("service", ns, name, port, client_namespace); for repr only
    parent: Optional[tuple] = None
    bad_request: int = 0  # a refused path or an invalid Host (400)
    # the TLS, TCP and UDP listeners of the port (routecore._compile.streams.StreamListenerSpec),
    # TLS first by SNI order of declaration, then TCP, then UDP
    streams: tuple = ()
    # the options the twins read per table, copied from ``options`` at construction (plain
    # attributes, not properties: the pure twin reads two of them per request)
    normalize_path: bool = field(init=False, eq=False, repr=False)
    merge_slashes: bool = field(init=False, eq=False, repr=False)
    regex_first: bool = field(init=False, eq=False, repr=False)
    seed: int = field(init=False, eq=False, repr=False)
    # "%2F", "%5C" and "\\" in the path: see routecore._paths
    escaped_slashes: str = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self):
        for name in ("normalize_path", "merge_slashes", "regex_first", "seed", "escaped_slashes"):
            object.__setattr__(self, name, getattr(self.options, name))


def view_repr(spec: Optional[TableSpec], native: bool) -> str:
    """The repr of a view (either twin): its parent and port, listeners, rules, twin."""
    twin = "native" if native else "pure"
    if spec is None:
        return f"<routecore view (not initialised) {twin}>"
    rules = len({(c.route, c.rule) for c in spec.choices if c.route is not None})
    p = spec.parent
    if p is not None and p[0] == "gateway":
        return (f"<GatewayView {p[1]}/{p[2]}:{p[3]} listeners={len(spec.listeners)} "
                f"rules={rules} {twin}>")
    if p is not None:
        client = f" client={p[4]}" if p[4] is not None else ""
        return f"<ServiceView {p[1]}/{p[2]}:{p[3]}{client} rules={rules} {twin}>"
    return f"<{'ServiceView' if spec.mesh else 'GatewayView'} rules={rules} {twin}>"


# -n at index n: sort keys hold many equal path lengths, and CPython shares only the ints from
# -5 to 256 (path values are at most 1024 characters: longer ones, which load refuses, get their own)
_NEGATIVE = tuple(range(0, -1025, -1))


def _negative(n: int) -> int:
    """-n, one int object per value (see _NEGATIVE)."""
    return _NEGATIVE[n] if n < 1025 else -n


def normalize_prefix(value: str) -> str:
    return value.rstrip("/")


def route_age(route) -> tuple:
    """The age part of the precedence key: older first; no creationTimestamp ranks last."""
    return (1, 0) if route.creation_timestamp is None else (0, route.creation_timestamp)


def path_rank(ptype: int, value: str, regex_first: bool) -> Tuple[int, int, str]:
    """(class, length part, table path) of an HTTPRoute path match: the first two parts of its
    sort_key (Exact, then the longest prefix first, regexes after prefixes unless
    ``regex_first``) and the path a table holds (a prefix without its trailing "/")."""
    if ptype == EXACT:
        return 0, 0, value
    if ptype == PREFIX:
        path = normalize_prefix(value)
        return (2 if regex_first else 1), _negative(len(path)), path
    return (1 if regex_first else 2), _negative(len(value)), value


def sort_key(route: HTTPRoute, rule_index: int, match_index: int, m, regex_first: bool,
             age: Optional[tuple] = None, route_key: Optional[str] = None):
    """``age`` and ``route_key``: route_age(route) and route.key, when the caller has them (the
    keys of one route then share those objects)."""
    klass, length, _ = path_rank(PATH_TYPES[m.path_type], m.path_value, regex_first)
    return ((klass, length, 0 if m.method else 1, -len(m.headers), -len(m.query_params)),
            route_age(route) if age is None else age, route.key if route_key is None else route_key,
            rule_index, match_index)


def grpc_path_match(mm, regex_first: bool) -> Tuple[int, str]:
    """(path type, value) of the path match a GRPCRoute method match stands for, on the
    request path ``/<service>/<method>``. ``mm`` None (no method match) matches every path.

    Service only is a segment-wise prefix ``/<service>``, except with ``regex_first`` (the
    "before-prefix" order), where it becomes the equivalent regex so that, as the spec ranks
    it, it still comes before a method-only match (the native twin tries regexes before
    prefixes there). Method only and RegularExpression matches are regexes, missing parts
    ``[^/]+``; match-all is the regex ``.*`` so that it ranks after every method match.
    """
    if mm is None:
        return REGEX, ".*"
    s, m = mm.service, mm.method
    if mm.type == "RegularExpression":
        return REGEX, "/({})/({})".format("[^/]+" if s is None else s, "[^/]+" if m is None else m)
    if s is not None and m is not None:
        return EXACT, f"/{s}/{m}"
    if s is not None:
        return (REGEX, f"/{_re2_escape(s)}(/.*)?") if regex_first else (PREFIX, f"/{s}")
    return REGEX, f"/[^/]+/{_re2_escape(m)}"


def _re2_escape(text: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "\\" + c for c in text)


def grpc_sort_key(route, rule_index: int, match_index: int, m, regex_first: bool):
    """Digest §10 after the hostname part, same shape as ``sort_key``: the rank (a class, then
    most characters in the service, then in the method, most header matches), oldest,
    "{ns}/{name}", rule, match.

    The classes keep the spec's order among Exact method matches (service+method > service
    only > method only; no method match last, it has no characters) and put RegularExpression
    matches (implementation-specific) where RegularExpression paths go: after every Exact
    method match ("after-prefix"), or right after service+method ("before-prefix"). They also
    keep the native index's invariant: it tries the exact-path bucket (service+method), then
    prefixes (service only; none with "before-prefix", see ``grpc_path_match``), then regexes
    in key order, which is this order.
    """
    mm = m.method
    if mm is None:
        klass = 4
    elif mm.type == "RegularExpression":
        klass = 1 if regex_first else 3
    elif mm.service is not None and mm.method is not None:
        klass = 0
    elif mm.service is not None:
        klass = 2 if regex_first else 1
    else:
        klass = 3 if regex_first else 2
    service = len(mm.service) if mm is not None and mm.service else 0
    method = len(mm.method) if mm is not None and mm.method else 0
    return ((klass, -service, -method, -len(m.headers), 0), route_age(route), route.key, rule_index,
            match_index)


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


MAX_REGEXES = 4096  # the least bound of a carried CompileCache's regexes


class CompileCache:
    """What the views of one Router share: one compiled RE2 program per pattern, one Backend per
    backendRef object (the frozen Backend is shared by every Choice that sends to it).

    The regex cache is carried from a Router to the next one an update makes, and bounded: past
    ``limit`` patterns (the larger of MAX_REGEXES and twice the patterns of the first Router
    carried from), the next carry starts an empty one that reads the full one, without keeping
    it, for that update only. Tables hold their own programs: a pattern dropped from the cache
    costs a compile when a view using it is built again, never a wrong answer."""

    def __init__(self, regexes: Optional[Dict[str, object]] = None, limit: Optional[int] = None,
                 previous: Optional[Dict[str, object]] = None, new=None):
        # routecore._match_c.new_frozen (when the extension is built; the Router passes it): makes
        # the Choices three times faster than their __init__, same objects; None: __init__
        self.new = new
        self._regexes: Dict[str, object] = {} if regexes is None else regexes
        self._limit = limit
        self._previous = previous  # the dropped cache, read while this one is filled
        self._backends: Dict[int, tuple] = {}  # id(backendRef) -> (backendRef, Backend)

    def carry(self) -> "CompileCache":
        """The cache of an updated Router: the same compiled regexes (a pattern compiles to the
        same program) up to the bound, no Backends (the next views' backendRefs are other
        objects; the old entries would only keep the old ones alive)."""
        limit = self._limit
        if limit is None:
            limit = max(MAX_REGEXES, 2 * len(self._regexes))
        if len(self._regexes) > limit:
            return CompileCache({}, limit, self._regexes, self.new)
        return CompileCache(self._regexes, limit, new=self.new)

    def regex(self, pattern: str):
        rx = self._regexes.get(pattern)
        if rx is None:
            if self._previous is not None:
                rx = self._previous.get(pattern)
            if rx is None:
                rx = compile_regex(pattern)
            self._regexes[pattern] = rx
        return rx

    def backend(self, ref) -> Backend:
        hit = self._backends.get(id(ref))
        if hit is None or hit[0] is not ref:
            hit = self._backends[id(ref)] = (ref, core_backend(ref))  # the ref keeps id() unique
        return hit[1]


# Choice's fields in declaration order: _choice passes them by position (a keyword call costs
# twice as much, and rule_choices makes one Choice per rule and backendRef), or to
# CompileCache.new, which sets them without calling __init__ (all it would do: no field has a
# validator or a converter, and Choice has no __attrs_post_init__)
_CHOICE_FIELDS = ("matched", "status", "backend", "route", "kind", "rule", "rule_name",
                  "listener", "mirrors", "timeouts", "retry", "session_persistence",
                  "request_headers", "response_headers", "redirect", "rewrite", "prefix", "port",
                  "default_scheme", "grpc_status", "cors", "extensions", "backend_tls", "tls_mode")
if tuple(f.name for f in attrs.fields(Choice)) != _CHOICE_FIELDS or any(
        f.validator is not None or f.converter is not None for f in attrs.fields(Choice)) \
        or hasattr(Choice, "__attrs_post_init__"):
    raise ImportError("routecore._outcome.Choice's fields changed: update _choice")  # pragma: no cover


@cython.cfunc
def _choice(new, head: tuple, tail: tuple, status, backend, request_headers, response_headers,
            redirect, rewrite, extensions, backend_tls) -> Choice:
    """A matched rule's Choice: ``head`` = (route, kind, rule, rule_name, listener, mirrors,
    timeouts, retry, session_persistence), ``tail`` = (prefix, port, default_scheme,
    grpc_status, cors), as rule_choices makes them once per rule; ``new``: CompileCache.new."""
    values = (True, status, backend, *head, request_headers, response_headers, redirect,
              rewrite, *tail, extensions, backend_tls, None)
    return Choice(*values) if new is None else new(Choice, _CHOICE_FIELDS, values)


class Builder:
    """Accumulates the choices, outcomes and header names of one table, from the attachment
    records (``routecore._compile.attach.Attachments``: the backends' resolution), the Router's
    options and the shared compile cache; it never calls back into the Router.

    Invariant: ``spec()`` seals the Builder: its choices become the tuples the spec (and the
    native table made from it) hold, its ``Outcomes`` the spec's own, so a built view keeps one
    array of each, not three (the builder, the spec, the table); a sealed Builder takes no more
    outcomes (``outcome`` raises): an update goes on from a ``carry()`` of it, which copies."""

    def __init__(self, attachments, options: "RouterOptions", cache: CompileCache, mesh: bool):
        self.attachments = attachments
        self.options = options
        self.cache = cache
        self.mesh = mesh
        # lists while building; the spec's tuples once sealed (see the class docstring)
        self.choices: Sequence[Choice] = []
        self.grpc: Sequence[Optional[Choice]] = []
        self.outcomes = Outcomes()
        self.header_names: Dict[str, None] = {}
        self._weights: Dict[tuple, tuple] = {}  # equal cumulative weights share one tuple
        self._policies = None  # the attachments' BackendTLSPolicies, False when none (first use)
        self._cond_tuples: Dict[tuple, Tuple[Cond, ...]] = {}  # see _conds
        self._cond_pairs: Dict[tuple, tuple] = {}  # see _match_conds
        # Entry.rank -> that tuple: the entries of one rank share it (a few hundred ranks
        # for ten thousands of entries: 4 items less per entry than the rank's parts inline)
        self._ranks: Dict[tuple, tuple] = {}

    def outcome(self, choices: List[Choice], weights: List[int]) -> int:
        return _add_outcome(self, choices, weights)

    def static(self, choice: Choice) -> int:
        return self.outcome([choice], [1])

    def rule_outcome(self, route: HTTPRoute, rule: Rule, resolved,
                     listener: Optional[str], port: Optional[int], scheme: str,
                     route_key: Optional[str] = None) -> int:
        """A new outcome of one rule on ``listener``: ``resolved`` is the rule's RuleBackends;
        ``route_key``: ``route.key`` when the caller has it (its Choices then share it). A
        build enters each route once per listener, so an outcome is never asked for twice."""
        return self.outcome(*self.rule_choices(route, resolved, rule, listener, port, scheme,
                                               route.key if route_key is None else route_key))

    def _extension_known(self, ext) -> bool:
        return (ext.group, ext.kind) in self.options.extensions

    def rule_choices(self, route: HTTPRoute, resolved, rule: Rule, listener, port, scheme,
                     route_key: str):
        """The Choices of one rule and their weights; ``resolved`` (RuleBackends) says which
        backendRefs and mirror targets resolve."""
        index = resolved.rule
        prefix = None
        matches = rule.matches
        if len(matches) == 1 and route.kind == "HTTPRoute":
            first = matches[0]
            if first.path_type == "PathPrefix":
                prefix = normalize_prefix(first.path_value)
        filters = rule.filters
        if filters:
            mirrors = tuple(Mirror(core_backend(f.backend_ref), f.percent)
                            for f, problem in zip([f for f in filters if isinstance(f, RequestMirror)],
                                                  resolved.mirror_problems) if problem is None)
            cors = next((f for f in filters if isinstance(f, CORS)), None)
            rule_ext = tuple(f for f in filters if isinstance(f, ExtensionRef))
        else:  # the same values, without scanning an empty tuple five times
            mirrors, cors, rule_ext = (), None, ()
        # a Choice's fields but the per-backendRef ones, in declaration order (see _choice)
        cache = self.cache
        new = cache.new
        head = (route_key, route.kind, index, rule.name, listener, mirrors, rule.timeouts,
                rule.retry, rule.session_persistence)
        tail = (prefix, port, scheme, None, cors)
        if rule_ext and any(not self._extension_known(e) for e in rule_ext):
            return [_choice(new, head, tail, 500, None, (), (), None, None, rule_ext, None)], [1]
        if filters:
            req_ops = header_ops(filters, "RequestHeaderModifier")
            resp_ops = header_ops(filters, "ResponseHeaderModifier")
            redirect = next((f for f in filters if isinstance(f, RequestRedirect)), None)
            rewrite = next((f for f in filters if isinstance(f, URLRewrite)), None)
        else:
            req_ops, resp_ops, redirect, rewrite = (), (), None, None
        if redirect is not None:
            return [_choice(new, head, tail, redirect.status_code, None, req_ops, resp_ops,
                            redirect, None, rule_ext, None)], [1]
        # the share of an invalid backendRef, and the answer when no backend can be chosen
        # (built when first needed; one object however many shares it answers)
        error = None
        choices, weights = [], []
        backend = cache.backend
        policies = self._policies
        if policies is None:
            policies = self._policies = self.attachments.policies \
                if self.attachments.config.backend_tls_policies else False
        for ref, problem in zip(rule.backend_refs, resolved.problems):
            if ref.weight <= 0:
                continue
            ref_filters = ref.filters
            ref_ext = tuple(f for f in ref_filters if isinstance(f, ExtensionRef)) if ref_filters else ()
            tls = policies.for_backend(ref) if policies is not False else None
            if problem is not None or (tls is not None and not tls.policy) or (ref_ext and any(
                    not self._extension_known(e) for e in ref_ext)):
                if error is None:
                    error = _choice(new, head, tail, 500, None, req_ops, resp_ops, None, None,
                                    rule_ext, None)
                choices.append(error)
            elif not ref_filters:
                choices.append(_choice(new, head, tail, None, backend(ref), req_ops, resp_ops,
                                       None, rewrite, rule_ext, tls))
            else:
                b_redirect = next((f for f in ref_filters if isinstance(f, RequestRedirect)), None)
                b_rewrite = next((f for f in ref_filters if isinstance(f, URLRewrite)), rewrite)
                choices.append(_choice(
                    new, head, tail, b_redirect.status_code if b_redirect else None,
                    None if b_redirect else backend(ref),
                    req_ops + header_ops(ref_filters, "RequestHeaderModifier"),
                    resp_ops + header_ops(ref_filters, "ResponseHeaderModifier"),
                    b_redirect, b_rewrite, rule_ext + ref_ext, None if b_redirect else tls))
            weights.append(ref.weight)
        if not choices:  # no backendRefs, or every weight is 0
            if error is None:
                error = _choice(new, head, tail, 500, None, req_ops, resp_ops, None, None,
                                rule_ext, None)
            return [error], [1]
        return choices, weights

    def entries(self, route: HTTPRoute, listener: Optional[str], port: Optional[int],
                scheme: str) -> Tuple[Entry, ...]:
        """The entries of every match of ``route`` on ``listener``, each rule's outcome made."""
        if route.kind == "GRPCRoute":
            return self._grpc_entries(route, listener, port, scheme)
        out = []
        regex_first = self.options.regex_first
        prefix_class, regex_class = (2, 1) if regex_first else (1, 2)
        # the parts of ``sort_key`` that are the same for every match of the route
        age = route_age(route)
        route_key = route.key
        regex = self.cache.regex
        match_conds, no_conds = self._match_conds, NO_CONDS
        # (module globals read once: a global read costs more than a local's, per match)
        new_entry, entry_type, negative = _new_entry, Entry, _NEGATIVE
        ranks = self._ranks.setdefault
        rule_choices = self.rule_choices
        append = out.append
        for rule, resolved in zip(route.rules, self.attachments.rule_backends(route, self.mesh)):
            index = resolved.rule
            choices, weights = rule_choices(route, resolved, rule, listener, port, scheme, route_key)
            oc = _add_outcome(self, choices, weights)
            for mi, m in enumerate(rule.matches):
                ptype, path = m.path_type, m.path_value
                # (path_rank, inline: one call less per match; the class and length part)
                if ptype == "PathPrefix":
                    klass, path, rx = prefix_class, path.rstrip("/"), None
                    n = len(path)
                    length = negative[n] if n < 1025 else -n
                elif ptype == "Exact":
                    klass = length = 0
                    rx = None
                else:
                    klass, rx = regex_class, regex(path)
                    n = len(path)
                    length = negative[n] if n < 1025 else -n
                method, headers, queries = m.method, m.headers, m.query_params
                if headers or queries:
                    n_headers, n_queries = -len(headers), -len(queries)
                    conds = match_conds(headers, queries)
                else:
                    n_headers = n_queries = 0
                    conds = no_conds
                rank = (klass, length, 0 if method else 1, n_headers, n_queries)
                append(new_entry(entry_type, (
                    ranks(rank, rank), age, route_key, index, mi,
                    path, rx, method, conds, oc)))
        return tuple(out)

    def _grpc_entries(self, route, listener: Optional[str], port: Optional[int],
                      scheme: str) -> Tuple[Entry, ...]:
        out = []
        regex_first = self.options.regex_first
        route_key = route.key
        for rule, resolved in zip(route.rules, self.attachments.rule_backends(route, self.mesh)):
            index = resolved.rule
            oc = self.outcome(*self.rule_choices(route, resolved, rule, listener, port, scheme,
                                                 route_key))
            for mi, m in enumerate(rule.matches):
                ptype, value = grpc_path_match(m.method, regex_first)
                path = normalize_prefix(value) if ptype == PREFIX else value
                rx = self.cache.regex(value) if ptype == REGEX else None
                conds = self._match_conds(m.headers, ()) if m.headers else NO_CONDS
                rank, *key = grpc_sort_key(route, index, mi, m, regex_first)
                out.append(_new_entry(Entry, (self._ranks.setdefault(rank, rank), *key,
                                              path, rx, None, conds, oc)))
        return tuple(out)

    def _conds(self, matches, header: bool) -> Tuple[Cond, ...]:
        """The Conds of a match's header (``header``) or query-parameter matches: equal ones
        share one tuple (many rules test the same header); the header names are recorded."""
        key = (header,) + tuple([(c.name, c.value, c.type) for c in matches])
        hit = self._cond_tuples.get(key)
        if hit is None:
            regex = self.cache.regex
            hit = self._cond_tuples[key] = tuple(
                Cond(c.name, c.value, regex(c.value) if c.type == "RegularExpression" else None)
                for c in matches)
        if header:  # (every time: the tuples are shared with the Builders carried from this one)
            for c in hit:
                self.header_names.setdefault(c.name)
        return hit

    def _match_conds(self, headers, queries) -> tuple:
        """Entry.conds of a match: (the Conds of its header matches, of its query-parameter
        matches); equal ones are one pair of shared tuples (see _conds); the header names are
        recorded."""
        key = (tuple([(c.name, c.value, c.type) for c in headers]) if headers else (),
               tuple([(c.name, c.value, c.type) for c in queries]) if queries else ())
        hit = self._cond_pairs.get(key)
        if hit is None:
            hit = self._cond_pairs[key] = (self._conds(headers, True) if headers else (),
                                           self._conds(queries, False) if queries else ())
        else:  # (every time: the pairs are shared with the Builders carried from this one)
            for c in hit[0]:
                self.header_names.setdefault(c.name)
        return hit

    def carry(self, attachments, cache: CompileCache) -> "Builder":
        """A copy to go on building from, for another configuration's records and cache (the
        outcomes built so far keep their indexes)."""
        out = Builder(attachments, self.options, cache, self.mesh)
        out.choices, out.grpc, out.outcomes = list(self.choices), list(self.grpc), self.outcomes.copy()
        out.header_names = dict(self.header_names)
        out._weights = self._weights
        out._cond_tuples = self._cond_tuples
        out._cond_pairs = self._cond_pairs
        out._ranks = self._ranks
        return out

    def spec(self, listeners, no_listener: int, misdirected: Optional[int] = None,
             bad_request: Optional[int] = None, streams: tuple = ()) -> TableSpec:
        if bad_request is None:
            bad_request = self.static(Choice(matched=False, status=400))
        # sealed (see the class docstring): a tuple of a tuple is that tuple, a second spec
        # shares the first one's arrays
        self.choices, self.grpc = tuple(self.choices), tuple(self.grpc)
        return TableSpec(bad_request=bad_request, listeners=tuple(listeners), streams=streams,
                         choices=self.choices, grpc_choices=self.grpc, outcomes=self.outcomes,
                         no_listener=no_listener, header_names=tuple(self.header_names),
                         misdirected=no_listener if misdirected is None else misdirected,
                         mesh=self.mesh, options=self.options)


@cython.cfunc
def _add_outcome(b: Builder, choices: List[Choice], weights: List[int]) -> int:
    """Builder.outcome (a C function where this module is compiled: entries calls it per rule):
    the outcome's index; its choices appended to the Builder's, their gRPC forms to ``grpc``."""
    own, grpc = b.choices, b.grpc
    if type(own) is not list or type(grpc) is not list:
        raise RuntimeError("this Builder made a spec already: carry() it to add outcomes")
    start = len(own)
    own.extend(choices)
    for c in choices:
        status = c.status
        code = None if status is None else GRPC_STATUS.get(status)
        grpc.append(None if code is None else attrs.evolve(c, grpc_status=code))
    if len(weights) == 1 and weights[0] == 1:
        cum = _ONE
    else:
        cum = tuple(accumulate(weights))
        cum = b._weights.setdefault(cum, cum)
    # (Outcomes.append, written out: one outcome per rule and listener)
    outcomes = b.outcomes
    outcomes.firsts.append(start)
    weights_list = outcomes.weights
    weights_list.append(cum)
    return len(weights_list) - 1


def group_entries(by_host: Dict[Optional[str], List[Entry]]) -> Tuple[HostGroup, ...]:
    groups = [HostGroup(h, tuple(sorted(es)))  # (sort_key order: see Entry)
              for h, es in by_host.items()]
    return tuple(groups)


def listener_accepts(config: Config, gateway, listener: Listener, route: HTTPRoute,
                     refused: frozenset = frozenset()) -> bool:
    """allowedRoutes (namespaces and kinds) and protocol of a listener, for this route.

    ``refused``: keys of the listeners that take no route (routecore._compile.listeners: not
    accepted, e.g. conflicted)."""
    if listener.key in refused:
        return False
    if route.kind not in supported_kinds(listener)[0]:
        return False
    if listener.allowed_from == "All":
        return True
    if listener.allowed_from == "Same":  # a ListenerSet entry: the set's namespace
        return route.namespace == (listener.owner_namespace or gateway.namespace)
    if listener.allowed_from == "Selector":
        labels = {"kubernetes.io/metadata.name": route.namespace}
        for ns in config.namespaces:
            if ns.name == route.namespace:
                labels = ns.label_map
        return listener.selector is not None and listener.selector.matches(labels)
    return False


def age_key(route) -> tuple:
    """Oldest first (no creationTimestamp: last), then "{namespace}/{name}"."""
    return route_age(route), route.key


def hostnames_intersect(a: List[Optional[str]], b: List[Optional[str]]) -> bool:
    """Whether two lists of effective hostnames (None: any host) share a host."""
    return any(x is None or y is None or intersect_hostname(x, y) is not None for x in a for y in b)


def listener_routes(config: Config, gateway, listener: Listener, routes, refused: frozenset = frozenset()):
    """The routes ``listener`` takes, as [(route, effective hostnames)] in ``routes`` order (the
    hostnames a tuple, one object per distinct value of ``route.hostnames``), and
    {(kind, "ns/name"): older route} of those refused because an older route of the other kind
    (HTTPRoute vs GRPCRoute) has an intersecting hostname on this listener (digest §10, GEP-1016
    "cross serving"). Routes are admitted oldest first; a refused route refuses nothing."""
    candidates = []
    # (per parentRef object, (kind, namespace) and hostnames value: routes share these objects
    # and values by the thousand, and the answers depend on nothing else)
    attaches: Dict[int, bool] = {}
    accepts: Dict[tuple, bool] = {}
    effective: Dict[tuple, Tuple[Optional[str], ...]] = {}  # (tuples: shared, never changed)
    append = candidates.append
    for route in routes:
        for ref in route.parent_refs:
            hit = attaches.get(id(ref))
            if hit is None:  # (route.parent_refs keeps ref, and so its id, for the loop)
                hit = attaches[id(ref)] = attaches_to_listener(ref, gateway, listener)
            if hit:
                break
        else:
            continue
        who = (route.kind, route.namespace)
        ok = accepts.get(who)
        if ok is None:
            ok = accepts[who] = listener_accepts(config, gateway, listener, route, refused)
        if not ok:
            continue
        hosts = effective.get(route.hostnames)
        if hosts is None:
            hosts = effective[route.hostnames] = tuple(effective_hostnames(route, listener.hostname))
        if hosts:
            append((route, hosts))
    kept: list = []
    dropped: Dict[tuple, object] = {}
    if len({r.kind for r, _ in candidates}) > 1:
        for route, hosts in sorted(candidates, key=lambda rh: age_key(rh[0])):
            older = next((r for r, h in kept
                          if r.kind != route.kind and hostnames_intersect(hosts, h)), None)
            if older is None:
                kept.append((route, hosts))
            else:
                dropped[(route.kind, route.key)] = older
    return [rh for rh in candidates if (rh[0].kind, rh[0].key) not in dropped], dropped


def service_ref_covers(ref, namespace: str, name: str, port: Optional[int],
                       port_name: Optional[str]) -> bool:
    """Whether a parentRef attaches to this Service port (``port`` None: every port)."""
    return (ref.group == CORE_GROUP and ref.kind == "Service" and ref.namespace == namespace
            and ref.name == name and (ref.port is None or ref.port == port)
            and (ref.section_name is None or ref.section_name == port_name))


def attaches_to_listener(ref, gateway, listener: Listener) -> bool:
    """A Gateway parentRef covers the Gateway's own listeners, a ListenerSet parentRef the
    entries of that set (digest §4.5)."""
    if listener.owner is None:
        parent = ref.kind == "Gateway" and ref.namespace == gateway.namespace and ref.name == gateway.name
    else:
        parent = ref.kind == "ListenerSet" and (ref.namespace, ref.name) == listener.owner
    return (ref.group == GATEWAY_GROUP and parent
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
