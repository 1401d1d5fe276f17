"""Hypothesis strategies and a spec-literal reference decision, for testing a gateway.

``routecore.testing`` needs Hypothesis (``pip install 'routecore[test]'``); ``import routecore``
never imports it. Everything here works on Kubernetes objects as users write them (dicts), so it
can test any Gateway API implementation, not only routecore:

- ``httproutes()``, ``grpcroutes()``: one valid route (knobs: rules, match and filter kinds,
  regexes, hostnames, mesh or gateway parents);
- ``gateways()``: one valid Gateway (listeners on ports 80/443, hostnames, allowedRoutes);
- ``configs()``: a consistent list of objects: routes, Gateways, Services, Namespaces and
  ReferenceGrants (right, or with one field off);
- ``parents(config)``: the entry points of a config (Gateway ports, mesh Service ports and
  client namespaces), as the ``parent`` argument of ``reference_decide``;
- ``requests_for(config)``: request dicts biased to hit, nearly hit and miss its rules;
- ``invalid_httproutes()``: ``InvalidHTTPRoute(obj, path, rule)``: an HTTPRoute that breaks
  exactly one validation rule, the field path a validator must name, and the rule in words;
- ``reference_decide(config, parent, request)``: a deliberately naive decision that reads the
  Gateway API spec literally (every match of every attached route is sorted by the spec's
  precedence, the first that matches wins) and returns a ``ReferenceDecision``.

Alphabets are small on purpose (three namespaces, a handful of paths, header names that differ
only in case...): generated routes collide often, which is where precedence bugs live.

``reference_decide`` uses no routecore internals. Where the spec leaves room it follows the
choices routecore documents in its README ("Choices where the spec leaves room"), each marked
"routecore's choice" below: RE2 full-match regexes and their rank, joined repeated headers,
first query value, path normalisation, request-target forms, Host folding, hostname fallback,
500 for no backend, mesh cross-namespace backends without ReferenceGrant, GRPCRoute method
matches as paths, HTTPRoute/GRPCRoute cross-serving, SNI/421, CORS preflight 204, ExtensionRef.
"""
from __future__ import annotations

import copy
import re
import datetime as _dt
from dataclasses import dataclass
from typing import FrozenSet, NamedTuple, Optional, Tuple

import re2

try:
    from hypothesis import strategies as st
except ModuleNotFoundError as _exc:  # the light `testing` extra brings it
    if _exc.name != "hypothesis":
        raise
    from ._extras import hint as _hint

    raise ImportError(_hint("hypothesis", "testing", "routecore.testing"), name="hypothesis") from None

__all__ = [
    "InvalidHTTPRoute", "ReferenceDecision", "configs", "gateways", "grpcroutes", "httproutes",
    "generic_requests", "injected_httproutes", "invalid_httproutes", "parents", "reference_decide", "register_profiles",
    "requests_for",
]

GATEWAY_GROUP = "gateway.networking.k8s.io"

# --- alphabets -----------------------------------------------------------------------------------

NAMESPACES = ("default", "team", "team-x")
ROUTE_NAMES = ("r", "s")
BACKENDS = ("b1", "b2", "b3")
PATH_VALUES = ("/", "/a", "/a/b", "/ab", "/a/", "/b", "/a/b/", "/a/bc")
# regexes every engine reads the same way
SAFE_REGEXES = ("/a/.*", "/[ab]+", "/a/b", "/a.*", "/(a|b)/b", ".*", "/a/b/?", "/b|/a/b")
# valid RE2 whose literal parts are not plain text: counted repeats, escapes, inline flags
TRICKY_REGEXES = ("/[ab]{1,2}", "/\\x61/b", "/(?i)a/B", "/a{0,10}", "/\\141b?", "/\\pL/b")
REGEXES = SAFE_REGEXES + TRICKY_REGEXES
HEADER_NAMES = ("x-a", "X-A", "x-b")
HEADER_VALUES = ("1", "2", "1,2")
HEADER_REGEXES = ("1|2", "[0-9]+", "1,.*", "2")
QUERY_NAMES = ("q", "Q", "r")
QUERY_VALUES = ("1", "2")
QUERY_REGEXES = ("[12]", "1.*")
ROUTE_HOSTNAMES = ("a.example.com", "*.example.com", "b.a.example.com")
GW_ROUTE_HOSTNAMES = ("a.example.com", "*.example.com", "b.a.example.com", "*.a.example.com",
                      "x.example.com", "other.org")
LISTENER_HOSTNAMES = (None, "*.example.com", "a.example.com")
LISTENER_HOSTNAMES_FULL = (None, "*.example.com", "a.example.com", "*.a.example.com")
TIMESTAMPS = ("2024-01-01T00:00:00Z", "2023-06-01T12:00:00Z", "2024-01-01T01:00:00+02:00",
              "2024-01-01t00:00:00z")
GRPC_SERVICES = ("a.B", "a", "a.Bc", "A.B")
GRPC_METHODS = ("C", "Cd", "c")
GRPC_SERVICE_REGEXES = ("a\\..*", "a|A\\.B", ".*", "(?i)a\\.b")
GRPC_METHOD_REGEXES = ("C.*", "c|C", "[A-Z]d")
NS_LABELS = ({}, {"env": "prod"}, {"env": "dev"}, {"env": "prod", "tier": "edge"})
SELECTORS = (
    {"matchLabels": {"env": "prod"}},
    {"matchLabels": {"kubernetes.io/metadata.name": "team"}},
    {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]},
    {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
    {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
    {"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]},
    {"matchLabels": {"env": "prod"},
     "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                           "values": ["team", "team-x"]}]},
    {},  # the empty selector selects every namespace
)
ROUTE_KINDS = ([{"kind": "HTTPRoute"}], [{"kind": "GRPCRoute"}],
               [{"group": GATEWAY_GROUP, "kind": "HTTPRoute"}, {"kind": "GRPCRoute"}])
# a listener whose protocol conflicts with the others on its port (all of them are refused)
CONFLICTING_LISTENERS = ((80, "HTTPS", None), (80, "HTTPS", "a.example.com"), (80, "TCP", None),
                         (443, "HTTP", "*.a.example.com"))
API_VERSIONS = (f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1beta1")
GRPC_API_VERSIONS = (f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1alpha2")

MATCH_KINDS = ("Exact", "PathPrefix", "RegularExpression", "headers", "queryParams", "method")
FILTER_KINDS = ("RequestRedirect", "URLRewrite", "RequestHeaderModifier", "RequestMirror",
                "ResponseHeaderModifier", "CORS")

# --- small cached strategies (building strategies per draw costs more than using them) -----------

_CACHE: dict = {}
_BOOL = st.booleans()


def _pick(values):
    values = tuple(values)
    key = ("pick", values)
    if key not in _CACHE:
        _CACHE[key] = st.sampled_from(values)
    return _CACHE[key]


def _ints(lo, hi):
    key = ("ints", lo, hi)
    if key not in _CACHE:
        _CACHE[key] = st.integers(lo, hi)
    return _CACHE[key]


def _unique(values, min_size=0, max_size=2, key=None):
    values = tuple(values)
    ck = ("lists", values, min_size, max_size, key)
    if ck not in _CACHE:
        _CACHE[ck] = st.lists(st.sampled_from(values), min_size=min_size, max_size=max_size,
                              unique_by=key) if key else st.lists(
            st.sampled_from(values), min_size=min_size, max_size=max_size, unique=True)
    return _CACHE[ck]


def _one_of(draw, values):
    """A fresh copy of one of these (unhashable) values."""
    return copy.deepcopy(values[draw(_ints(0, len(values) - 1))])


# --- rules ---------------------------------------------------------------------------------------


def _header_modifier(draw):
    mod = {}
    names = iter(draw(st.permutations(["x-a", "X-Set", "x-new", "x-b"])))
    if draw(_BOOL):
        mod["set"] = [{"name": next(names), "value": "s"}]
    if draw(_BOOL):
        mod["add"] = [{"name": next(names), "value": "t"}]
    if draw(_BOOL):
        mod["remove"] = [next(names)]
    return mod or {"set": [{"name": "x-set", "value": "v"}]}


def _mirror_filters(draw, cross_namespace=True):
    out = []
    for _ in range(draw(_ints(1, 2))):
        ref = {"name": draw(_pick(BACKENDS)), "port": 80}
        if cross_namespace and draw(_BOOL):
            ref["namespace"] = draw(_pick(NAMESPACES))
        body = {"backendRef": ref}
        share = draw(_ints(0, 3))
        if share == 1:
            body["percent"] = draw(_pick([0, 50, 100]))
        elif share == 2:
            body["fraction"] = {"numerator": 1, "denominator": draw(_pick([2, 100]))}
        out.append({"type": "RequestMirror", "requestMirror": body})
    return out


class _Knobs:
    """What generated rules may contain (see ``httproutes``)."""

    def __init__(self, *, max_rules=4, min_rules=1, max_matches=3, match_kinds=MATCH_KINDS,
                 filter_kinds=FILTER_KINDS[:4], regexes=True, cross_namespace=False,
                 weights=True, simple=False, rich=False, gateway=False):
        self.max_rules, self.min_rules, self.max_matches = max_rules, min_rules, max_matches
        self.match_kinds = frozenset(match_kinds)
        if not regexes:
            self.match_kinds -= {"RegularExpression"}
        self.regexes = regexes
        self.filter_kinds = frozenset(filter_kinds)
        self.cross_namespace, self.weights = cross_namespace, weights
        self.simple, self.rich, self.gateway = simple, rich, gateway
        path_kinds = [k for k in ("Exact", "PathPrefix", "RegularExpression") if k in self.match_kinds]
        self.path_kinds = tuple(path_kinds) + (None,)
        self.match = st.composite(self._match)()
        self.rule = st.composite(self._rule)()
        self.rules = st.lists(self.rule, min_size=min_rules, max_size=max_rules)
        self.grpc_match = st.composite(self._grpc_match)()
        self.grpc_rule = st.composite(self._grpc_rule)()
        self.grpc_rules = st.lists(self.grpc_rule, max_size=max_rules)

    def _path(self, draw):
        kind = draw(_pick(self.path_kinds))
        if kind is None:
            return None  # the default: PathPrefix "/"
        value = draw(_pick(REGEXES if kind == "RegularExpression" else PATH_VALUES))
        if kind == "PathPrefix" and draw(_BOOL):
            return {"value": value}  # type defaults to PathPrefix
        return {"type": kind, "value": value}

    def _headers(self, draw):
        out = []
        for name in draw(_unique(HEADER_NAMES, key=str.lower)):
            if self.regexes and draw(_ints(0, 3)) == 0:
                out.append({"type": "RegularExpression", "name": name, "value": draw(_pick(HEADER_REGEXES))})
            else:
                h = {"name": name, "value": draw(_pick(HEADER_VALUES))}
                if draw(_BOOL):
                    h["type"] = "Exact"
                out.append(h)
        return out

    def _queries(self, draw):
        out = []
        for name in draw(_unique(QUERY_NAMES)):
            if self.regexes and draw(_ints(0, 3)) == 0:
                out.append({"type": "RegularExpression", "name": name, "value": draw(_pick(QUERY_REGEXES))})
            else:
                out.append({"name": name, "value": draw(_pick(QUERY_VALUES))})
        return out

    def _match(self, draw):
        m = {}
        p = self._path(draw)
        if p is not None:
            m["path"] = p
        if "headers" in self.match_kinds and draw(_ints(0, 2)) == 0:
            hs = self._headers(draw)
            if hs:
                m["headers"] = hs
        if "queryParams" in self.match_kinds and draw(_ints(0, 3)) == 0:
            qs = self._queries(draw)
            if qs:
                m["queryParams"] = qs
        if "method" in self.match_kinds:
            method = draw(_pick([None, None, "GET", "POST"]))
            if method:
                m["method"] = method
        return m

    def _path_modifier(self, draw, one_prefix, full):
        ptype = draw(_pick([None, "ReplaceFullPath"] + (["ReplacePrefixMatch"] if one_prefix else [])))
        if ptype == "ReplaceFullPath":
            return {"type": ptype, "replaceFullPath": draw(_pick(full))}
        if ptype == "ReplacePrefixMatch":
            return {"type": ptype, "replacePrefixMatch": draw(_pick(["/", "/x", "/x/"]))}
        return None

    def _rule(self, draw):
        matches = [draw(self.match) for _ in range(draw(_ints(0, self.max_matches)))]
        rule = {}
        if matches:
            rule["matches"] = matches
        elif draw(_BOOL):
            rule["matches"] = [{"path": {"type": "PathPrefix", "value": "/"}}]
        if self.simple:  # one backendRef, no filters
            ref = {"name": draw(_pick(BACKENDS)), "port": 80}
            if self.weights and draw(_BOOL):
                ref["weight"] = draw(_ints(1, 3))
            rule["backendRefs"] = [ref]
            return rule
        ms = rule.get("matches", [{}])
        one_prefix = len(ms) == 1 and ms[0].get("path", {}).get("type", "PathPrefix") == "PathPrefix"
        fk = self.filter_kinds
        filters = []
        redirect = "RequestRedirect" in fk and draw(_ints(0, 5)) == 0
        if redirect:
            rr = {}
            if draw(_BOOL):
                rr["scheme"] = draw(_pick(["http", "https"]))
            if draw(_BOOL):
                rr["hostname"] = draw(_pick(["r.example.com", "a.example.com"]))
            if draw(_BOOL):
                rr["port"] = draw(_pick([80, 443, 8080]))
            if draw(_BOOL):
                rr["statusCode"] = draw(_pick([301, 302]))
            path = self._path_modifier(draw, one_prefix, ["/x", "/x/"])
            if path:
                rr["path"] = path
            filters.append({"type": "RequestRedirect", "requestRedirect": rr})
        elif "URLRewrite" in fk and draw(_ints(0, 3)) == 0:
            rw = {}
            if draw(_BOOL):
                rw["hostname"] = "rw.example.com"
            path = self._path_modifier(draw, one_prefix, ["/x", "/"])
            if path:
                rw["path"] = path
            filters.append({"type": "URLRewrite", "urlRewrite": rw})
        if "RequestHeaderModifier" in fk and draw(_ints(0, 3)) == 0:
            filters.append({"type": "RequestHeaderModifier", "requestHeaderModifier": _header_modifier(draw)})
        if "ResponseHeaderModifier" in fk and draw(_ints(0, 5)) == 0:
            filters.append({"type": "ResponseHeaderModifier", "responseHeaderModifier": _header_modifier(draw)})
        if "CORS" in fk and draw(_ints(0, 5)) == 0:
            filters.append({"type": "CORS", "cors": {
                "allowOrigins": [draw(_pick(["*", "https://a.example.com"]))],
                "allowMethods": ["GET", "POST"], "allowCredentials": draw(_BOOL)}})
        if "RequestMirror" in fk and self.rich and draw(_ints(0, 2)) == 0:
            filters.extend(_mirror_filters(draw, self.cross_namespace))
        if filters:
            rule["filters"] = filters
        if not redirect:
            refs = []
            for _ in range(draw(_ints(0, 3))):
                ref = {"name": draw(_pick(BACKENDS)), "port": draw(_pick([80, 8080]))}
                w = draw(_pick([None, 0, 1, 2, 3])) if self.weights else None
                if w is not None:
                    ref["weight"] = w
                if self.rich and self.cross_namespace and draw(_BOOL):
                    ref["namespace"] = draw(_pick(NAMESPACES))  # maybe granted, maybe not
                elif self.gateway and self.cross_namespace and draw(_ints(0, 5)) == 0:
                    ref["namespace"] = draw(_pick(NAMESPACES))  # maybe RefNotPermitted
                if "RequestHeaderModifier" in fk and draw(_ints(0, 5)) == 0:
                    ref["filters"] = [{"type": "RequestHeaderModifier",
                                       "requestHeaderModifier": _header_modifier(draw)}]
                refs.append(ref)
            if refs:
                rule["backendRefs"] = refs
        return rule

    def _grpc_match(self, draw):
        match = {}
        kind = draw(_ints(0, 4 if self.regexes else 3))  # none, service+method, service, method, regex
        if kind == 4:
            mm = {"type": "RegularExpression"}
            if draw(_BOOL):
                mm["service"] = draw(_pick(GRPC_SERVICE_REGEXES))
            if "service" not in mm or draw(_BOOL):
                mm["method"] = draw(_pick(GRPC_METHOD_REGEXES))
            match["method"] = mm
        elif kind:
            mm = {"type": "Exact"} if draw(_BOOL) else {}
            if kind in (1, 2):
                mm["service"] = draw(_pick(GRPC_SERVICES))
            if kind in (1, 3):
                mm["method"] = draw(_pick(GRPC_METHODS))
            match["method"] = mm
        if "headers" in self.match_kinds and draw(_ints(0, 2)) == 0:
            hs = self._headers(draw)
            if hs:
                match["headers"] = hs
        return match

    def _grpc_rule(self, draw):
        rule = {}
        matches = [draw(self.grpc_match) for _ in range(draw(_ints(0, self.max_matches)))]
        if matches:
            rule["matches"] = matches
        if "RequestHeaderModifier" in self.filter_kinds and draw(_ints(0, 3)) == 0:
            rule["filters"] = [{"type": "RequestHeaderModifier", "requestHeaderModifier": _header_modifier(draw)}]
        refs = []
        for _ in range(draw(_ints(0, 3))):
            ref = {"name": draw(_pick(BACKENDS)), "port": 80}
            w = draw(_pick([None, 0, 1, 2])) if self.weights else None
            if w is not None:
                ref["weight"] = w
            if self.rich and self.cross_namespace and draw(_BOOL):
                ref["namespace"] = draw(_pick(NAMESPACES))
            refs.append(ref)
        if "RequestMirror" in self.filter_kinds and self.rich and draw(_ints(0, 3)) == 0:
            rule.setdefault("filters", []).extend(_mirror_filters(draw, self.cross_namespace))
        if refs:
            rule["backendRefs"] = refs
        return rule


# --- parentRefs ----------------------------------------------------------------------------------


def _simple_mesh_parent(draw, service):
    ns, name, port = service
    ref = {"group": "", "kind": "Service", "name": name, "port": port}
    choice = draw(_ints(0, 9))
    if choice < 4:
        ref["namespace"] = ns  # from another namespace: a consumer route
    elif choice == 4:
        ref["port"] = 8080 if port != 8080 else 80  # attached to another port of the Service
    elif choice == 5:
        del ref["port"]
    return [ref]


def _full_mesh_parents(draw, route_ns, service):
    ns, name, _ = service

    def ref():
        r = {"group": "", "kind": "Service", "name": name}
        if route_ns != ns or draw(_BOOL):
            r["namespace"] = ns
        return r

    shape = draw(_ints(0, 7))
    if shape <= 4:
        r = ref()
        what = draw(_ints(0, 5))
        if what in (0, 1):
            r["port"] = draw(_pick([80, 8080, 9090]))
        elif what == 2:
            r["sectionName"] = draw(_pick(["http", "alt", "nope"]))
        elif what == 3:
            r.update(port=draw(_pick([80, 8080])), sectionName=draw(_pick(["http", "alt"])))
        return [r]  # else: the whole Service
    if shape == 5:  # two ports of the Service, by sectionName
        return [dict(ref(), sectionName="http"), dict(ref(), sectionName=draw(_pick(["alt", "nope"])))]
    if shape == 6:  # two ports of the Service, by port
        return [dict(ref(), port=80), dict(ref(), port=8080)]
    return [ref(), {"group": "", "kind": "Service", "name": "other", "namespace": ns}]


def _simple_gateway_parent(draw, gateway, listener_names):
    ns, name = gateway
    ref = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": name, "namespace": ns}
    if listener_names and draw(_ints(0, 3)) == 0:
        ref["sectionName"] = draw(_pick(listener_names))
    if draw(_ints(0, 9)) == 0:
        ref["port"] = 80
    return [ref]


def _full_gateway_parents(draw, route_ns, gateway, listener_names, service):
    gw_ns, gw_name = gateway

    def ref(name=gw_name):
        r = {"name": name}
        if route_ns != gw_ns or draw(_BOOL):
            r["namespace"] = gw_ns
        if draw(_BOOL):
            r.update(group=GATEWAY_GROUP, kind="Gateway")
        return r

    names = list(listener_names) or ["l0"]
    sections = names + ["nope"]
    shape = draw(_ints(0, 9))
    if shape <= 5:  # one ref, maybe narrowed by sectionName and/or port
        r = ref()
        if draw(_ints(0, 2)) == 0:
            r["sectionName"] = draw(_pick(names if draw(_ints(0, 5)) else ["nope"]))
        if draw(_ints(0, 4)) == 0:
            r["port"] = draw(_pick([80, 443, 8080]))
        return [r]
    if shape <= 7:  # two refs to the same Gateway: distinct sectionNames (and maybe ports)
        a, b = draw(st.lists(_pick(sections), min_size=2, max_size=2, unique=True))
        refs = [dict(ref(), sectionName=a), dict(ref(), sectionName=b)]
        if shape == 7:
            for r in refs:
                r["port"] = draw(_pick([80, 443]))
        return refs
    if shape == 8:  # another Gateway, which does not exist, and maybe this one
        return [ref("other")] + ([ref()] if draw(_BOOL) else [])
    return [ref(), {"group": "", "kind": "Service", "name": service[1], "namespace": service[0],
                    "port": service[2]}]


# --- routes --------------------------------------------------------------------------------------


def _meta(draw, ns, name, timestamps):
    meta = {"name": name, "namespace": ns}
    if timestamps and draw(_BOOL):
        meta["creationTimestamp"] = draw(_pick(TIMESTAMPS))
    return meta


def _route(draw, knobs, kind, ns, name, *, parent, shape, hostnames, timestamps, gateway, service,
           listener_names):
    spec = {}
    if parent == "gateway":
        if shape == "full":
            spec["parentRefs"] = _full_gateway_parents(draw, ns, gateway, listener_names, service)
        else:
            spec["parentRefs"] = _simple_gateway_parent(draw, gateway, listener_names)
        if hostnames:
            pool = GW_ROUTE_HOSTNAMES if shape == "full" else ROUTE_HOSTNAMES
            hosts = draw(_unique(pool)) if shape != "full" or draw(_BOOL) or kind == "GRPCRoute" else None
            if hosts:
                spec["hostnames"] = hosts
    else:
        spec["parentRefs"] = (_full_mesh_parents(draw, ns, service) if shape == "full"
                              else _simple_mesh_parent(draw, service))
    if kind == "GRPCRoute":
        rules = draw(knobs.grpc_rules)
        if rules or draw(_BOOL):
            spec["rules"] = rules
        api = draw(_pick(GRPC_API_VERSIONS))
    else:
        spec["rules"] = draw(knobs.rules)
        api = draw(_pick(API_VERSIONS))
    return {"apiVersion": api, "kind": kind, "metadata": _meta(draw, ns, name, timestamps), "spec": spec}


def httproutes(*, parent="mesh", namespaces=NAMESPACES, names=ROUTE_NAMES, min_rules=1, max_rules=4,
               max_matches=3, match_kinds=MATCH_KINDS, filter_kinds=FILTER_KINDS[:4], regexes=True,
               hostnames=True, cross_namespace=True, weights=True, timestamps=True,
               gateway=("default", "gw"), service=("default", "svc", 80), listener_names=("l0",)):
    """Valid HTTPRoute objects (dicts) that ``routecore.load`` accepts.

    parent: ``"mesh"`` (a parentRef to Service ``service`` = (namespace, name, port), from its
    namespace or as a consumer route) or ``"gateway"`` (a parentRef to Gateway ``gateway`` =
    (namespace, name), maybe narrowed to one of ``listener_names`` or a port).
    min_rules/max_rules, max_matches (per rule); match_kinds: any of "Exact", "PathPrefix",
    "RegularExpression", "headers", "queryParams", "method"; filter_kinds: any of
    "RequestRedirect", "URLRewrite", "RequestHeaderModifier", "RequestMirror",
    "ResponseHeaderModifier", "CORS"; regexes=False leaves out every RegularExpression match;
    hostnames (gateway parents): draw ``spec.hostnames``; cross_namespace: backendRefs in other
    namespaces; weights: draw backendRef weights (0 included); timestamps: draw
    ``metadata.creationTimestamp``.
    """
    knobs = _Knobs(max_rules=max_rules, min_rules=min_rules, max_matches=max_matches,
                   match_kinds=match_kinds, filter_kinds=filter_kinds, regexes=regexes,
                   cross_namespace=cross_namespace, weights=weights, rich=cross_namespace,
                   gateway=parent == "gateway")
    keys = _pick([(ns, n) for ns in namespaces for n in names])

    @st.composite
    def one(draw):
        ns, name = draw(keys)
        return _route(draw, knobs, "HTTPRoute", ns, name, parent=parent, shape="simple",
                      hostnames=hostnames, timestamps=timestamps, gateway=gateway, service=service,
                      listener_names=listener_names)

    return one()


def grpcroutes(*, parent="mesh", namespaces=NAMESPACES, names=ROUTE_NAMES, max_rules=3, max_matches=3,
               regexes=True, hostnames=True, cross_namespace=True, weights=True, timestamps=True,
               gateway=("default", "gw"), service=("default", "svc", 80), listener_names=("l0",)):
    """Valid GRPCRoute objects (dicts): method matches (Exact service and/or method,
    RegularExpression unless ``regexes=False``), header matches, weighted backendRefs; other
    knobs as ``httproutes``."""
    knobs = _Knobs(max_rules=max_rules, max_matches=max_matches, regexes=regexes,
                   cross_namespace=cross_namespace, weights=weights, rich=cross_namespace,
                   gateway=parent == "gateway")
    keys = _pick([(ns, n) for ns in namespaces for n in names])

    @st.composite
    def one(draw):
        ns, name = draw(keys)
        return _route(draw, knobs, "GRPCRoute", ns, name, parent=parent, shape="simple",
                      hostnames=hostnames, timestamps=timestamps, gateway=gateway, service=service,
                      listener_names=listener_names)

    return one()


# --- Gateways, Services, Namespaces, ReferenceGrants ---------------------------------------------


def _allowed_routes(draw):
    choice = draw(_ints(0, 9))  # small values are the likeliest: make them the happy path
    if choice == 5:
        return None  # the default: from Same
    if choice == 6:
        return {"namespaces": {"from": "Same"}}
    if choice <= 4:
        allowed = {"namespaces": {"from": "All"}}
    else:
        allowed = {"namespaces": {"from": "Selector", "selector": _one_of(draw, SELECTORS)}}
    if draw(_ints(0, 5)) == 0:
        allowed["kinds"] = _one_of(draw, ROUTE_KINDS)
    return allowed


def _gateway(draw, gateway, shape):
    ns, name = gateway
    if shape == "simple":
        hosts = draw(_unique(LISTENER_HOSTNAMES, min_size=1, max_size=3))
        listeners = []
        for i, h in enumerate(hosts):
            lis = {"name": f"l{i}", "port": 80, "protocol": "HTTP",
                   "allowedRoutes": {"namespaces": {"from": "All"}}}
            if h is not None:
                lis["hostname"] = h
            listeners.append(lis)
        api = f"{GATEWAY_GROUP}/v1"
    else:
        pool = [(80, "HTTP", h) for h in draw(_unique(LISTENER_HOSTNAMES_FULL, max_size=4))]
        pool += [(443, "HTTPS", h) for h in draw(_unique(LISTENER_HOSTNAMES_FULL, max_size=4))]
        if not pool or draw(_ints(0, 7)) == 0:
            pool.append(draw(_pick(CONFLICTING_LISTENERS)))
        listeners = []
        for i, (port, proto, host) in enumerate(pool):
            lis = {"name": f"l{i}", "port": port, "protocol": proto}
            if host is not None:
                lis["hostname"] = host
            if proto == "HTTPS" and draw(_BOOL):
                lis["tls"] = {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}
            allowed = _allowed_routes(draw)
            if allowed is not None:
                lis["allowedRoutes"] = allowed
            listeners.append(lis)
        api = draw(_pick(API_VERSIONS))
    return {"apiVersion": api, "kind": "Gateway", "metadata": {"name": name, "namespace": ns},
            "spec": {"gatewayClassName": "gc", "listeners": listeners}}


def gateways(*, namespace="default", name="gw", shape="full"):
    """Valid Gateway objects. shape "full": listeners on ports 80 (HTTP) and 443 (HTTPS, maybe
    with tls) with hostnames None / "*.example.com" / "a.example.com" / "*.a.example.com",
    allowedRoutes Same/All/Selector and kinds, and now and then a listener whose protocol
    conflicts with its port's others; "simple": 1-3 HTTP listeners on port 80 allowing All."""
    return st.composite(lambda draw: _gateway(draw, (namespace, name), shape))()


def _namespaces(draw):
    out = []
    for ns in NAMESPACES:
        if draw(_BOOL):
            meta = {"name": ns}
            labels = _one_of(draw, NS_LABELS)
            if labels:
                meta["labels"] = labels
            out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    return out


def _services(draw, service, *, mesh_ports):
    """[] (no Service objects: every backend resolves) or the Service objects: the mesh Service
    (ports named "http" 80 and, when port names are drawn, "alt" 8080) and about 3/4 of the
    backends b1..b3 in each namespace."""
    if draw(_BOOL):
        return []
    ports = [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 8080}]
    if mesh_ports and draw(_ints(0, 2)):
        ports[1]["name"] = "alt"
    out = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": service[1], "namespace": service[0]},
            "spec": {"ports": ports}}]
    for ns in NAMESPACES:
        for b in BACKENDS:
            if draw(_ints(0, 3)):
                out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": b, "namespace": ns},
                            "spec": {"ports": [{"port": 80}, {"port": 8080}]}})
    return out


def _cross_refs(routes):
    """(route kind, route namespace, target namespace, target name) of every backendRef and
    mirror target that leaves its route's namespace."""
    out = []
    for r in routes:
        ns = r["metadata"]["namespace"]
        for rule in r["spec"].get("rules", ()):
            refs = list(rule.get("backendRefs", ()))
            refs += [f["requestMirror"]["backendRef"] for f in rule.get("filters", ())
                     if f["type"] == "RequestMirror"]
            for ref in list(refs):
                refs += [f["requestMirror"]["backendRef"] for f in ref.get("filters", ())
                         if f["type"] == "RequestMirror"]
            for ref in refs:
                if ref.get("namespace", ns) != ns:
                    out.append((r["kind"], ns, ref["namespace"], ref["name"]))
    return out


def _reference_grants(draw, routes):
    """Grants for some cross-namespace references: right, or with one field off."""
    refs = _cross_refs(routes)
    grants = []
    for i in range(draw(_ints(0, 4))):
        if refs and draw(_ints(0, 4)):
            kind, from_ns, to_ns, to_name = draw(_pick(refs))
        else:
            kind, from_ns, to_ns, to_name = (draw(_pick(["HTTPRoute", "GRPCRoute"])), draw(_pick(NAMESPACES)),
                                             draw(_pick(NAMESPACES)), draw(_pick(BACKENDS)))
        frm = {"group": GATEWAY_GROUP, "kind": kind, "namespace": from_ns}
        to = {"group": "", "kind": "Service", "name": to_name}
        if draw(_BOOL):
            del to["name"]  # every Service of the namespace
        miss = draw(_ints(0, 15))
        if miss == 1:
            to_ns = draw(_pick([n for n in NAMESPACES if n != to_ns]))  # grant in the wrong namespace
        elif miss == 2:
            frm["group"] = draw(_pick(["gateway.networking.x-k8s.io", ""]))
        elif miss == 3:
            frm["kind"] = draw(_pick(["Gateway", "GRPCRoute" if kind == "HTTPRoute" else "HTTPRoute"]))
        elif miss == 4:
            frm["namespace"] = draw(_pick([n for n in NAMESPACES if n != from_ns]))
        elif miss == 5:
            to["kind"] = draw(_pick(["Secret", "service"]))
        elif miss == 6:
            to["name"] = draw(_pick([b for b in BACKENDS if b != to_name]))  # another Service
        elif miss == 7:
            to["group"] = "core"
        spec = {"from": [frm], "to": [to]}
        if draw(_ints(0, 3)) == 0:  # entries are ORed: a wrong one next to the others
            spec["from"].append({"group": GATEWAY_GROUP, "kind": "HTTPRoute",
                                 "namespace": draw(_pick(NAMESPACES))})
        if draw(_ints(0, 3)) == 0:
            spec["to"].insert(0, {"group": "", "kind": "Service", "name": draw(_pick(BACKENDS))})
        grants.append({"apiVersion": draw(_pick(API_VERSIONS)), "kind": "ReferenceGrant",
                       "metadata": {"name": f"g{i}", "namespace": to_ns}, "spec": spec})
    return grants


_KNOBS: dict = {}


def _knobs(**kw):
    key = tuple(sorted(kw.items()))
    if key not in _KNOBS:
        _KNOBS[key] = _Knobs(**kw)
    return _KNOBS[key]


def configs(*, parent="gateway", shape="full", grpc=True, grants=True, services=True, namespaces=True,
            min_routes=1, max_routes=6, simple_rules=False, regexes=True, hostnames=True,
            gateway=("default", "gw"), service=("default", "svc", 80)):
    """Consistent configurations: a list of object dicts that ``routecore.load`` accepts.

    parent "gateway": the Gateway ``gateway`` (``gateways(shape=shape)``) and routes attached to
    it (shape "full": parentRefs with sectionName/port, some to nothing, route hostnames, backends
    and mirror targets in other namespaces); parent "mesh": routes attached to Service
    ``service`` (shape "full": by port, by port name, whole Service, consumer routes from other
    namespaces). ``min_routes``..``max_routes`` routes named r/s in default/team/team-x.
    grpc: some routes are GRPCRoutes (``"only"``: all of them, mesh); grants: ReferenceGrants
    for some cross-namespace references, right or with one field off; services: Service
    objects half of the time (then a missing backend is BackendNotFound); namespaces: Namespace
    objects with labels for allowedRoutes selectors; simple_rules: one backendRef per rule, no
    filters, no weights of 0 (the routes ``reference_decide`` tells everything about).
    """
    gw = parent == "gateway"
    full = shape == "full"
    knobs = _knobs(simple=simple_rules, rich=full, gateway=gw, cross_namespace=gw or full,
                   regexes=regexes, max_rules=3 if full else 4,
                   filter_kinds=FILTER_KINDS[:4])
    keys = _unique([(ns, n) for ns in NAMESPACES for n in ROUTE_NAMES], min_size=min_routes,
                   max_size=max_routes)

    @st.composite
    def build(draw):
        objs = []
        names = ()
        if gw:
            g = _gateway(draw, gateway, shape)
            names = tuple(lis["name"] for lis in g["spec"]["listeners"])
            objs.append(g)
        with_grpc = grpc == "only" or (grpc and (draw(_ints(0, 3)) == 0 if gw else True))
        routes = []
        for ns, name in draw(keys):
            if grpc == "only":
                kind = "GRPCRoute"
            elif with_grpc and full:
                kind = "GRPCRoute" if draw(_ints(0, 2 if gw else 5)) == 0 else "HTTPRoute"
            else:
                kind = "HTTPRoute"
            routes.append(_route(draw, knobs, kind, ns, name, parent=parent, shape=shape,
                                 hostnames=hostnames and gw, timestamps=True, gateway=gateway,
                                 service=service, listener_names=names))
        if grpc == "only" and draw(_BOOL):  # HTTPRoutes the GRPCRoutes take the port from
            for ns, name in draw(keys):  # the names of GRPCRoutes are fine: another kind
                routes.append(_route(draw, knobs, "HTTPRoute", ns, name, parent=parent, shape=shape,
                                     hostnames=False, timestamps=True, gateway=gateway,
                                     service=service, listener_names=names))
        objs += routes
        if grants and (gw or draw(_ints(0, 3)) == 0):  # grants change nothing for mesh backends
            objs += _reference_grants(draw, routes)
        if namespaces:
            objs += _namespaces(draw)
        if services:
            objs += _services(draw, service, mesh_ports=not gw)
        return objs

    return build()


def parents(config, *, client_namespaces=(None,) + NAMESPACES):
    """The entry points of ``config`` (a list of object dicts), as ``reference_decide``'s
    ``parent``: every port of every Gateway, and every mesh Service some route attaches to on
    ports 80 and 8080 (or its Service object's ports) for each client namespace."""
    out = []
    services = {(o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
                for o in config if o.get("kind") == "Service"}
    for o in config:
        if o.get("kind") == "Gateway":
            for port in sorted({lis["port"] for lis in o["spec"]["listeners"]}):
                out.append({"kind": "Gateway", "namespace": o["metadata"].get("namespace", "default"),
                            "name": o["metadata"]["name"], "port": port})
    seen = set()
    for o in config:
        if o.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            continue
        rns = o["metadata"].get("namespace", "default")
        for p in o["spec"].get("parentRefs", ()):
            if p.get("group") == "" and p.get("kind") == "Service":
                key = (p.get("namespace", rns), p["name"])
                if key in seen or (services and key not in services):
                    continue
                seen.add(key)
                svc = services.get(key)
                ports = sorted({sp["port"] for sp in svc["spec"].get("ports", ())}) if svc else [80, 8080]
                for port in ports or [80]:
                    for client in client_namespaces:
                        out.append({"kind": "Service", "namespace": key[0], "name": key[1], "port": port,
                                    "client_namespace": client})
    return out


# --- requests ------------------------------------------------------------------------------------

SEGMENTS = ("/a", "/b", "/ab", "/", "/.", "/..", "/%61", "/%2E", "/a/./b", "/a/b", "/bc", "/A")
# escapes and separators the normaliser decodes, refuses or keeps: a second decoding that would
# make a dot-segment, escaped slashes, backslashes, path parameters on dot-segments, bad escapes
HOSTILE_SEGMENTS = ("/%%32%65%%32%65", "/%252e%252e", "/..%2f", "/%2F", "/%5c", "/..\\", "/..;",
                    "/.;x", "/%zz", "/%", "/%2", "/%7E", "//", "/a%3Bb")
QUERIES = ("", "", "?q=1", "?q=1&q=2", "?q=2&r=1", "?Q=1", "?q", "?r=2&q=1", "?q=1#f", "#frag")
SPECIAL_TARGETS = ("", "*", "http://A.example.com:8080/a/b?q=1", "/a%2fb", "https://b.a.example.com",
                   "/a?x#y?q=1", "//a", "http://evil@a.example.com/a", "http://a.example.com:x/a")
REQ_HEADER_NAMES = ("x-a", "X-A", "x-b", "X-B", "x-c", "Host", "content-type")
REQ_HEADER_VALUES = ("1", "2", "1,2", "3", "")
# Hosts a client may send that are not a valid Host (RFC 9110 7.2): each gets 400
INVALID_HOSTS = ("evil.com/a.example.com", "evil.com?a.example.com", "evil.com#a.example.com",
                 "evil.com\\a.example.com", "user@a.example.com", "a.example.com\r\nx: y",
                 "a example.com", "a.example.com:8x", ":80", "[::1", "a.example.com:80:80",
                 "a%2eexample.com", "\u00e4.a.example.com")
HOSTS = (None, "a.example.com", "A.Example.COM:80", "b.a.example.com", "x.example.com",
         "example.com", "a.example.com.", "other.org", "[::1]:80") + INVALID_HOSTS[:4]
# weighted towards hosts some listener takes
GW_HOSTS = (("a.example.com", "b.a.example.com", "x.example.com", "c.b.a.example.com") * 3
            + (None, "A.Example.COM:443", "example.com", "a.example.com.", "other.org", "[::1]:443",
               "", ".a.example.com", "x." * 40 + "a.example.com") + INVALID_HOSTS)
SNIS = ("a.example.com", "b.a.example.com", "x.example.com", "other.org", "A.EXAMPLE.COM",
        "a.example.com.", "", "c.b.a.example.com", "example.com")
GRPC_TARGETS = ("/a.B/C", "/a.B/Cd", "/a/C", "/a/Cd", "/a.Bc/c", "/A.B/C", "/a.B", "/a.B/C/x", "/x/C",
                "/", "/a.B/C?q=1", "//C", "/a.B/./C", "/a%2EB/C")
GRPC_CONTENT_TYPES = ("application/grpc", "application/grpc+proto")


@st.composite
def _targets(draw):
    if draw(_ints(0, 9)) == 0:
        return draw(_pick(SPECIAL_TARGETS))
    segments = SEGMENTS + HOSTILE_SEGMENTS if draw(_ints(0, 3)) == 0 else SEGMENTS
    path = "".join(draw(st.lists(_pick(segments), min_size=1, max_size=3)))
    if draw(_ints(0, 3)) == 0:
        path += "/"
    return path + draw(_pick(QUERIES))


def _header_pairs(draw, names=REQ_HEADER_NAMES, values=REQ_HEADER_VALUES, hosts=HOSTS, pick=None):
    pairs = []
    if pick is None:
        pick = {"names": _pick(names), "values": _pick(values),
                "hosts": _pick([h for h in hosts if isinstance(h, str)])}
    elif "names" not in pick:
        pick["names"] = st.sampled_from(names)
        pick["str_hosts"] = st.sampled_from([h for h in hosts if isinstance(h, str)])
    for name in draw(st.lists(pick["names"], max_size=4)):
        if name.lower() == "host":
            value = draw(pick.get("str_hosts", pick["hosts"]))
        elif name == "content-type":
            value = draw(_pick(("text/plain",) + GRPC_CONTENT_TYPES))
        else:
            value = draw(pick["values"])
        pairs.append((name, value))
    return tuple(pairs)


@st.composite
def generic_requests(draw, *, grpc=False, sni=False, hosts=HOSTS):
    """Request dicts over the same small alphabets as the generated routes, independent of any
    config (``requests_for`` biases them to one config)."""
    if grpc and draw(_BOOL):
        method, target = "POST", draw(_pick(GRPC_TARGETS))
        headers = _header_pairs(draw) + (("content-type", "application/grpc"),)
    else:
        method, target = draw(_pick(["GET", "GET", "POST", "PUT"])), draw(_targets())
        headers = _header_pairs(draw)
    host = draw(_pick(hosts) if hosts is HOSTS or hosts is GW_HOSTS else st.sampled_from(hosts))
    req = {"method": method, "target": target, "headers": headers, "host": host}
    if sni:
        choice = draw(_ints(0, 3))
        if choice == 0:
            pass
        elif choice <= 2 and host is not None:
            req["sni"] = host  # a client sends the name it connects to
        else:
            req["sni"] = draw(_pick(SNIS))
    return req


def _case_variants(name):
    return (name, name.lower(), name.upper(), name[:1].upper() + name[1:].lower())


def _path_variants(value):
    """Boundary paths around an Exact or PathPrefix value: equal, with and without the trailing
    slash, one more segment, the same characters without a segment boundary, one less character,
    another case, dot-segments and escapes that normalise to it."""
    base = value.rstrip("/") or ""
    out = [value, base or "/", base + "/", base + "/x", base + "x", value.upper(), base + "/./",
           base + "/x/..", "/x/.." + (base or "/"), "/x/%2e%2E" + (base or "/"), base + "/..%2F",
           "/x/..;" + (base or "/"), "/%%32%65" + (base or "/")]
    if len(base) > 1:
        out.append(base[:-1])
        out.append(base[:-1] + "%" + format(ord(base[-1]), "02X"))
    return out


def _hosts_of(config):
    """Hosts around the config's listener and route hostnames: exact, one and two labels under a
    wildcard, the bare wildcard suffix (a miss), other case, trailing dot, with a port."""
    names = set()
    for o in config:
        if o.get("kind") == "Gateway":
            names.update(lis["hostname"] for lis in o["spec"].get("listeners", ()) if lis.get("hostname"))
        elif o.get("kind") in ("HTTPRoute", "GRPCRoute"):
            names.update(o["spec"].get("hostnames", ()))
    out = []
    for h in sorted(names):
        if h.startswith("*."):
            out += ["x" + h[1:], "y.x" + h[1:], h[2:], "X" + h[1:].upper()]
        else:
            out += [h, h.upper(), h + ".", h + ":8080", "x." + h]
    return out


def requests_for(config, *, grpc=None, sni=None):
    """Request dicts ``{"method", "target", "headers", "host", "sni"}`` biased to hit, nearly
    hit and miss the rules of ``config`` (a list of object dicts): boundary paths around every
    Exact and PathPrefix value (trailing slash, one more segment or character, one less,
    dot-segments, escapes), gRPC paths from the method matches, header names in other cases,
    repeated headers and query parameters, hosts on and around the hostnames, an SNI that is
    the Host's name or another; one request in five comes from ``generic_requests``.
    ``headers`` is a tuple of (name, value) str pairs; ``host`` may be None (then the Host
    header, or the target's authority, is used); ``sni`` is only set for Gateway configs
    (``sni=False`` never sets it)."""
    paths, grpc_paths, methods = set(), set(), {"GET", "POST"}
    hnames, hvalues, queries = set(), {"1", "2", "3"}, set()
    cors = False
    for o in config:
        kind = o.get("kind")
        if kind not in ("HTTPRoute", "GRPCRoute"):
            continue
        for rule in o["spec"].get("rules", ()) or ():
            if any(f.get("type") == "CORS" for f in rule.get("filters", ())):
                cors = True
            for m in rule.get("matches", ()) or ():
                if kind == "HTTPRoute":
                    p = m.get("path") or {}
                    if p.get("type", "PathPrefix") != "RegularExpression":
                        paths.update(_path_variants(p.get("value", "/")))
                    if m.get("method"):
                        methods.add(m["method"])
                    for q in m.get("queryParams", ()):
                        v = q["value"] if q.get("type", "Exact") == "Exact" else "1"
                        queries.update({f"{q['name']}={v}", f"{q['name']}=x", f"{q['name'].upper()}={v}",
                                        f"{q['name']}={v}&{q['name']}=x", f"{q['name']}=x&{q['name']}={v}"})
                else:
                    mm = m.get("method") or {}
                    if mm.get("type", "Exact") == "Exact":
                        s, me = mm.get("service", "a.B"), mm.get("method", "C")
                        grpc_paths.update({f"/{s}/{me}", f"/{s}", f"/{s}/{me}x", f"/{s}x/{me}",
                                           f"/{s}/{me}/x", f"/x/{me}", f"/{s}/{me.lower()}"})
                for h in m.get("headers", ()):
                    hnames.update(_case_variants(h["name"]))
                    if h.get("type", "Exact") == "Exact":
                        hvalues.add(h["value"])
                        hvalues.update(h["value"].split(","))
    gw = any(o.get("kind") == "Gateway" for o in config)
    has_grpc = any(o.get("kind") == "GRPCRoute" for o in config) if grpc is None else grpc
    want_sni = gw if sni is None else sni
    hosts = tuple(_hosts_of(config)) + (GW_HOSTS if gw else HOSTS)
    path_pool = tuple(sorted(paths)) or ("/",)
    grpc_pool = tuple(sorted(grpc_paths)) + GRPC_TARGETS
    name_pool = tuple(sorted(hnames)) + REQ_HEADER_NAMES
    value_pool = tuple(sorted(hvalues))
    query_pool = ("",) + tuple("?" + q for q in sorted(queries)) + QUERIES
    method_pool = tuple(sorted(methods)) + ("PUT", "HEAD")
    snis = tuple(h for h in hosts if h) + SNIS

    pick = {k: st.sampled_from(v) for k, v in (
        ("hosts", hosts), ("paths", path_pool), ("grpc", grpc_pool), ("queries", query_pool),
        ("methods", method_pool), ("snis", snis), ("values", value_pool))}
    generic = generic_requests(grpc=has_grpc, sni=want_sni, hosts=hosts)

    @st.composite
    def one(draw):
        if draw(_ints(0, 4)) == 0:
            return draw(generic)
        headers = list(_header_pairs(draw, name_pool, value_pool, hosts, pick))
        if has_grpc and draw(_BOOL):
            method, target = "POST", draw(pick["grpc"])
            headers.append(("content-type", draw(_pick(GRPC_CONTENT_TYPES))))
        else:
            method = draw(pick["methods"])
            target = draw(pick["paths"]) + draw(pick["queries"])
        if draw(_ints(0, 5)) == 0 and headers:  # the same header again, maybe in another case
            name, _ = headers[draw(_ints(0, len(headers) - 1))]
            headers.append((draw(_pick(_case_variants(name))), draw(pick["values"])))
        if cors and draw(_ints(0, 3)) == 0:  # a CORS preflight, or an actual cross-origin request
            headers.append(("Origin", draw(_pick(["https://a.example.com", "https://evil.example"]))))
            if draw(_BOOL):
                method = "OPTIONS"
                headers.append(("Access-Control-Request-Method", "GET"))
        host = draw(pick["hosts"]) if draw(_ints(0, 4)) else None
        req = {"method": method, "target": target, "headers": tuple(headers), "host": host}
        if want_sni and draw(_ints(0, 2)):
            req["sni"] = host if host is not None and draw(_ints(0, 3)) else draw(pick["snis"])
        return req

    return one()


# --- invalid HTTPRoutes --------------------------------------------------------------------------


class InvalidHTTPRoute(NamedTuple):
    """An HTTPRoute (dict) breaking one validation rule: ``path`` is the field a validator must
    name (routecore: ``ConfigIssue.path``), ``rule`` says which rule in words."""

    obj: dict
    path: str
    rule: str


def _loc(route, draw, want=None):
    """(rule index, match index or None, rule, match) of a random match of a random rule; the
    match is created when the rule has none."""
    rules = route["spec"]["rules"]
    ri = draw(_ints(0, len(rules) - 1))
    rule = rules[ri]
    if not rule.get("matches"):
        rule["matches"] = [{}]
    mi = draw(_ints(0, len(rule["matches"]) - 1))
    return ri, mi, rule, rule["matches"][mi]


def _strip_prefix_filters(rule):
    """Drop ReplacePrefixMatch path modifiers (they constrain the matches) from a rule."""
    def keep(f):
        body = f.get("urlRewrite") or f.get("requestRedirect") or {}
        return (body.get("path") or {}).get("type") != "ReplacePrefixMatch"
    if "filters" in rule:
        rule["filters"] = [f for f in rule["filters"] if keep(f)]
        if not rule["filters"]:
            del rule["filters"]
    for ref in rule.get("backendRefs", ()):
        if "filters" in ref:
            ref["filters"] = [f for f in ref["filters"] if keep(f)]
            if not ref["filters"]:
                del ref["filters"]


def _bad_path(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    ptype = draw(_pick(["Exact", "PathPrefix"]))
    bad, why = draw(_pick([
        ("a", "a path must start with '/'"), ("/a//b", "a path must not contain '//'"),
        ("/a/./b", "a path must not contain '/./'"), ("/a/../b", "a path must not contain '/../'"),
        ("/a%2fb", "a path must not contain '%2f'"), ("/a%2Fb", "a path must not contain '%2F'"),
        ("/a#b", "a path must not contain '#'"), ("/a/..", "a path must not end with '/..'"),
        ("/a/.", "a path must not end with '/.'"), ("/a b", "a path has characters not allowed"),
        ("/a%zz", "a path has characters not allowed"), ("/" + "a" * 1024, "a path has at most 1024 characters"),
    ]))
    _strip_prefix_filters(rule)
    m["path"] = {"type": ptype, "value": bad}
    return f"spec.rules[{ri}].matches[{mi}].path.value", f"{ptype} {why}"


def _bad_path_type(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    m["path"] = {"type": draw(_pick(["Prefix", "exact", "Regex"])), "value": "/a"}
    _strip_prefix_filters(rule)
    return f"spec.rules[{ri}].matches[{mi}].path.type", "path type is Exact, PathPrefix or RegularExpression"


def _bad_regex(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    where = draw(_pick(["path", "headers", "queryParams"]))
    bad = draw(_pick(["/a([", "(", "[", "a**", "(?P<x"]))
    if where == "path":
        m["path"] = {"type": "RegularExpression", "value": bad}
        _strip_prefix_filters(rule)
        return f"spec.rules[{ri}].matches[{mi}].path.value", "a regular expression must be valid RE2"
    m[where] = [{"type": "RegularExpression", "name": "x-z", "value": bad}]
    return f"spec.rules[{ri}].matches[{mi}].{where}[0].value", "a regular expression must be valid RE2"


def _bad_header(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    how = draw(_ints(0, 5))
    hs = [{"name": "x-ok", "value": "1"}]
    if how == 0:
        hs.append({"name": draw(_pick(["bad name", ":authority", "x(y)", "é"])), "value": "1"})
        return _set_headers(m, hs, ri, mi, 1, "name", "a header name must be an HTTP token")
    if how == 1:
        hs.append({"name": "x-z", "value": ""})
        return _set_headers(m, hs, ri, mi, 1, "value", "a header value must not be empty")
    if how == 2:
        hs.append({"name": "x-z", "value": "v" * 4097})
        return _set_headers(m, hs, ri, mi, 1, "value", "a header value has at most 4096 characters")
    if how == 3:
        hs.append({"name": "x-ok", "value": "2"})
        return _set_headers(m, hs, ri, mi, 1, "name", "header match names are unique (exact duplicates)")
    if how == 4:
        hs.append({"name": "x-z", "value": "1", "type": draw(_pick(["Prefix", "exact"]))})
        return _set_headers(m, hs, ri, mi, 1, "type", "header match type is Exact or RegularExpression")
    m["headers"] = [{"name": f"h{i}", "value": "v"} for i in range(17)]
    return f"spec.rules[{ri}].matches[{mi}].headers", "at most 16 header matches"


def _set_headers(m, hs, ri, mi, index, field, why):
    m["headers"] = hs
    return f"spec.rules[{ri}].matches[{mi}].headers[{index}].{field}", why


def _bad_query(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    how = draw(_ints(0, 3))
    if how == 0:
        m["queryParams"] = [{"name": draw(_pick(["q=", "a b", "q?"])), "value": "1"}]
        return f"spec.rules[{ri}].matches[{mi}].queryParams[0].name", "a query name must be an HTTP token"
    if how == 1:
        m["queryParams"] = [{"name": "q", "value": "v" * 1025}]
        return f"spec.rules[{ri}].matches[{mi}].queryParams[0].value", "a query value has at most 1024 characters"
    if how == 2:
        m["queryParams"] = [{"name": "q", "value": "1"}, {"name": "q", "value": "2"}]
        return f"spec.rules[{ri}].matches[{mi}].queryParams[1].name", "query match names are unique"
    m["queryParams"] = [{"name": f"q{i}", "value": "v"} for i in range(17)]
    return f"spec.rules[{ri}].matches[{mi}].queryParams", "at most 16 query matches"


def _bad_method(route, draw):
    ri, mi, rule, m = _loc(route, draw)
    m["method"] = draw(_pick(["get", "FETCH", "Post"]))
    return f"spec.rules[{ri}].matches[{mi}].method", "method is an upper-case HTTP method"


def _too_many_matches(route, draw):
    rules = route["spec"]["rules"]
    ri = draw(_ints(0, len(rules) - 1))
    rules[ri]["matches"] = [{"path": {"value": "/"}}] * 65
    _strip_prefix_filters(rules[ri])
    return f"spec.rules[{ri}].matches", "at most 64 matches per rule"


def _bad_rules(route, draw):
    rules = route["spec"]["rules"]
    if draw(_BOOL):
        route["spec"]["rules"] = []
        return "spec.rules", "at least 1 rule"
    route["spec"]["rules"] = (rules * 17)[:17]
    for r in route["spec"]["rules"]:
        r.pop("name", None)
    return "spec.rules", "at most 16 rules"


def _bad_hostname(route, draw):
    if draw(_ints(0, 4)) == 0:
        route["spec"]["hostnames"] = [f"h{i}.example.com" for i in range(17)]
        return "spec.hostnames", "at most 16 hostnames"
    hosts = ["a.example.com"]
    hosts.append(draw(_pick(["Example.com", "*", "example.com.", "a..example.com", "*.*.example.com",
                             "example.com:80", "-a.example.com", "a_b.example.com"])))
    route["spec"]["hostnames"] = hosts
    return "spec.hostnames[1]", "a hostname is a lower-case RFC 1123 name, maybe with a leading '*.'"


def _with_backend(route, draw):
    rules = route["spec"]["rules"]
    ri = draw(_ints(0, len(rules) - 1))
    rule = rules[ri]
    rule.pop("filters", None)
    refs = rule.setdefault("backendRefs", [])
    if not refs:
        refs.append({"name": "b1", "port": 80})
    bi = draw(_ints(0, len(refs) - 1))
    return ri, rule, bi, refs[bi]


def _bad_backend(route, draw):
    ri, rule, bi, ref = _with_backend(route, draw)
    where = f"spec.rules[{ri}].backendRefs[{bi}]"
    how = draw(_ints(0, 6))
    ref.pop("filters", None)
    if how == 0:
        ref.pop("port", None)
        ref.pop("group", None)
        ref.pop("kind", None)
        return f"{where}.port", "a backendRef to a Service needs a port"
    if how == 1:
        ref["port"] = draw(_pick([0, 65536, -1]))
        return f"{where}.port", "a port is 1..65535"
    if how == 2:
        ref["weight"] = draw(_pick([-1, 1000001]))
        return f"{where}.weight", "a weight is 0..1000000"
    if how == 3:
        ref["namespace"] = draw(_pick(["Team", "team_x", "a" * 64]))
        return f"{where}.namespace", "a namespace is an RFC 1123 label"
    if how == 4:
        ref["name"] = ""
        return f"{where}.name", "a name must not be empty"
    if how == 5:
        ref["port"] = "80"
        return f"{where}.port", "a port is an integer"
    rule["backendRefs"] = [{"name": f"s{i}", "port": 80} for i in range(17)]
    return f"spec.rules[{ri}].backendRefs", "at most 16 backendRefs"


def _bad_filters(route, draw):
    ri, rule, bi, ref = _with_backend(route, draw)
    where = f"spec.rules[{ri}]"
    hdr = {"set": [{"name": "x-a", "value": "1"}]}
    how = draw(_ints(0, 7))
    if how == 0:
        rule["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}]
        return f"{where}.filters", "RequestRedirect must not be used together with backendRefs"
    if how == 1:
        kind = draw(_pick(["RequestHeaderModifier", "ResponseHeaderModifier"]))
        key = kind[0].lower() + kind[1:]
        rule["filters"] = [{"type": kind, key: hdr}, {"type": kind, key: hdr}]
        return f"{where}.filters", f"{kind} cannot be repeated"
    if how == 2:
        rule["filters"] = [{"type": draw(_pick(["Foo", "requestHeaderModifier", "Redirect"]))}]
        return f"{where}.filters[0].type", "filter type is one of the Gateway API filter types"
    if how == 3:
        rule["matches"] = [{"path": {"type": draw(_pick(["Exact", "RegularExpression"])), "value": "/a"}}]
        rule["filters"] = [{"type": "URLRewrite", "urlRewrite": {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}}]
        return f"{where}.filters[0].urlRewrite.path", "ReplacePrefixMatch needs exactly one PathPrefix match"
    if how == 4:
        rule["filters"] = [{"type": "RequestMirror", "requestMirror": {
            "backendRef": {"name": "m", "port": 80}, "percent": draw(_pick([101, -1]))}}]
        return f"{where}.filters[0].requestMirror.percent", "a mirror percent is 0..100"
    if how == 5:
        rule["filters"] = [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
            "set": [{"name": "x-a", "value": "1"}], "remove": ["X-A"]}}]
        return f"{where}.filters[0].requestHeaderModifier.remove[0]", "one action per header name"
    if how == 6:
        rule["filters"] = [{"type": "RequestHeaderModifier"}]
        return f"{where}.filters[0]", "the filter's body must be given for its type"
    rule["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"statusCode": draw(_pick([304, 200, 399]))}}]
    rule.pop("backendRefs")
    return f"{where}.filters[0].requestRedirect.statusCode", "redirect status is 301, 302, 303, 307 or 308"


def _bad_rule_settings(route, draw):
    rules = route["spec"]["rules"]
    ri = draw(_ints(0, len(rules) - 1))
    rule = rules[ri]
    where = f"spec.rules[{ri}]"
    how = draw(_ints(0, 4))
    if how == 0:
        rule["timeouts"] = {"request": draw(_pick(["10", "1d", "1.5s", "100000s", "1h1m1s1ms1h"]))}
        return f"{where}.timeouts.request", "a duration matches ^([0-9]{1,5}(h|m|s|ms)){1,4}$"
    if how == 1:
        rule["timeouts"] = {"request": "5s", "backendRequest": "10s"}
        return f"{where}.timeouts.backendRequest", "backendRequest is at most request"
    if how == 2:
        rule["name"] = draw(_pick(["Rule_1", "UPPER", "a b"]))
        return f"{where}.name", "a rule name is a lower-case RFC 1123 subdomain"
    if how == 3 and len(rules) > 1:
        for r in rules:
            r.pop("name", None)
        rules[0]["name"] = rules[-1]["name"] = "same"
        return f"spec.rules[{len(rules) - 1}].name", "rule names are unique"
    rule["backendRef"] = [{"name": "x", "port": 1}]
    return f"{where}.backendRef", "no unknown fields (backendRef for backendRefs)"


def _bad_meta(route, draw):
    how = draw(_ints(0, 5))
    if how == 0:
        route["metadata"]["name"] = draw(_pick(["Cart", "a_b", "c" * 254]))
        return "metadata.name", "a name is an RFC 1123 subdomain"
    if how == 1:
        route["metadata"]["creationTimestamp"] = draw(_pick(["yesterday", "2024-13-02T03:04:05Z"]))
        return "metadata.creationTimestamp", "a timestamp is RFC 3339"
    if how == 2:
        route["apiVersion"] = draw(_pick(["v1", f"{GATEWAY_GROUP}/v1alpha2", f"{GATEWAY_GROUP}/v2"]))
        return "apiVersion", "an HTTPRoute is gateway.networking.k8s.io/v1 or v1beta1"
    refs = route["spec"]["parentRefs"]
    pi = draw(_ints(0, len(refs) - 1))
    if how == 3:
        refs[pi]["port"] = draw(_pick([0, 65536]))
        return f"spec.parentRefs[{pi}].port", "a parentRef port is 1..65535"
    if how == 4:
        del refs[pi]["name"]
        return f"spec.parentRefs[{pi}].name", "a parentRef needs a name"
    refs[pi]["sectionName"] = draw(_pick(["Web", "a b"]))
    return f"spec.parentRefs[{pi}].sectionName", "a sectionName is a lower-case RFC 1123 subdomain"


# --- values that would inject a header line, a path or an authority -------------------------------

CONTROLS = ("\r\n", "\n", "\r", "\x00", "\x7f", "\x1b", "\x01", "\x0b", "\x1f")
# what makes a path from config reach another host, or leave the path
PATH_TRICKS = ("@127.0.0.1:9101/stolen", ":9101/x", "//evil.example/x", "\\\\evil.example/x",
               "/x?y=1", "/x#y", "http://evil.example/x", " /x", "/x y", "/%2e%2e/admin", "/a/../b",
               "/a\\b", "/..;/x", "/%zz", "/%2F", "/\u00e9")
HOST_TRICKS = ("evil.example/x", "a@evil.example", "evil.example:80", "evil.example?", "a b", "",
               "EVIL.example", "evil.example.", "*")
TOKEN_TRICKS = ("a b", "a:b", "a@b", "a/b", "", "\u00e9", "a,b")
ORIGIN_TRICKS = ("https://evil.example/x", "https://a@evil.example", "https://a b", "https://",
                 "https://evil.example?x", "evil.example", "https://a.example.com:port")


def _filter_site(route, draw):
    """One filter of the first rule holding a field that ends up in a header, a Location or an
    upstream URL: (field path, setter, kind of value)."""
    rule = route["spec"]["rules"][0]
    rule["matches"] = [{"path": {"type": "PathPrefix", "value": "/a"}}]
    rule.pop("filters", None)
    hdr = {"set": [{"name": "x-a", "value": "1"}], "add": [{"name": "x-b", "value": "2"}], "remove": ["x-c"]}
    kind = draw(_pick(["RequestRedirect", "URLRewrite", "RequestHeaderModifier",
                       "ResponseHeaderModifier", "CORS", "RequestMirror"]))
    key = {"URLRewrite": "urlRewrite", "CORS": "cors"}.get(kind, kind[0].lower() + kind[1:])
    where = "spec.rules[0].filters[0]"
    if kind in ("RequestRedirect", "URLRewrite"):
        ptype = draw(_pick(["ReplaceFullPath", "ReplacePrefixMatch"]))
        pfield = ptype[0].lower() + ptype[1:]
        body = {"hostname": "a.example.com", "path": {"type": ptype, pfield: "/b"}}
        if kind == "RequestRedirect":
            rule.pop("backendRefs", None)
            body.update(scheme="https", port=8443)
        fields = [("hostname", "host"), (f"path.{pfield}", "path")]
    elif kind == "CORS":
        body = {"allowOrigins": ["https://a.example.com"], "allowHeaders": ["x-a"],
                "exposeHeaders": ["x-b"], "allowMethods": ["GET"]}
        fields = [("allowOrigins[0]", "origin"), ("allowHeaders[0]", "token"),
                  ("exposeHeaders[0]", "token"), ("allowMethods[0]", "token")]
    elif kind == "RequestMirror":
        body = {"backendRef": {"name": "m", "port": 80}}
        fields = [("backendRef.name", "name")]
    else:
        body = hdr
        fields = [("set[0].name", "token"), ("set[0].value", "value"), ("add[0].name", "token"),
                  ("add[0].value", "value"), ("remove[0]", "token")]
    rule["filters"] = [{"type": kind, key: body}]
    field, what = draw(_pick(fields))
    return f"{where}.{key}.{field}", what


def _session_site(route, draw):
    rule = route["spec"]["rules"][0]
    shape = draw(_ints(0, 3))
    if shape == 0:
        rule["sessionPersistence"] = {"sessionName": "sid"}
        return "spec.rules[0].sessionPersistence.sessionName", "token"
    if shape == 1:
        rule["sessionPersistence"] = {"cookie": {"name": "sid", "path": "/"}}
        return f"spec.rules[0].sessionPersistence.cookie.{draw(_pick(['name', 'path']))}", "token"
    if shape == 2:
        rule["sessionPersistence"] = {"type": "Header", "header": {"name": "x-sid"}}
        return "spec.rules[0].sessionPersistence.header.name", "token"
    return "spec.rules[0].backendRefs[0].name", "name"


def _set_field(route, path, value):
    """Set the field at ``path`` (a ConfigIssue path below the route) to ``value``."""
    import re as _re

    node, parts = route, _re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)
    keys = [int(i) if i else k for k, i in parts]
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


def _injected_field(route, draw):
    """A control character or an authority trick in one field that ends up in a header, a
    Location, an upstream URL or a log line."""
    if "hostnames" in route["spec"] and draw(_ints(0, 5)) == 0:
        path, what = "spec.hostnames[0]", "host"
    elif draw(_ints(0, 4)) == 0:
        rule = route["spec"]["rules"][0]
        rule.pop("filters", None)
        rule["backendRefs"] = [{"name": "b1", "port": 80}]
        path, what = _session_site(route, draw)
    else:
        path, what = _filter_site(route, draw)
    tricks = {"path": PATH_TRICKS, "host": HOST_TRICKS, "token": TOKEN_TRICKS,
              "origin": ORIGIN_TRICKS}.get(what, ())
    if tricks and draw(_BOOL):
        value = draw(_pick(tricks))
        if what == "path" and path.endswith("replacePrefixMatch") and value == "":
            value = " "
        how = f"an authority or path trick `{value!r}`"
    else:
        base = {"path": "/b", "host": "a.example.com", "token": "x-a", "value": "1",
                "name": "m", "origin": "https://a.example.com"}[what]
        ctrl = draw(_pick(CONTROLS))
        at = draw(_ints(0, len(base)))
        value = base[:at] + ctrl + base[at:]
        how = f"a control character {ctrl!r}"
    _set_field(route, path, value)
    return path, f"{how} in a field that ends up in a header, a Location or an upstream URL"


_BREAKERS = (_bad_path, _bad_path_type, _bad_regex, _bad_header, _bad_query, _bad_method,
             _too_many_matches, _bad_rules, _bad_hostname, _bad_backend, _bad_filters,
             _bad_rule_settings, _bad_meta, _injected_field)


def injected_httproutes(*, parent="gateway"):
    """``InvalidHTTPRoute(obj, path, rule)``: a valid ``httproutes(parent=parent)`` object with
    one field that ends up in a response or request header, a redirect Location, an upstream
    path or host, or a log line (redirect and rewrite hostname and paths, header modifier names
    and values, CORS fields, session persistence names and cookie path, backend names, route
    hostnames) set to a value with a control character (CR, LF, NUL, other C0, DEL) or an
    authority trick (``@host:port``, ``:port``, ``//host``, a backslash, ``?``/``#``, an absolute
    URL, dot-segments, escapes...). A validator must refuse it at ``path``."""
    base = httproutes(parent=parent, max_rules=2, max_matches=1)

    @st.composite
    def one(draw):
        route = copy.deepcopy(draw(base))
        path, rule = _injected_field(route, draw)
        return InvalidHTTPRoute(route, path, rule)

    return one()


def invalid_httproutes(*, parent="gateway"):
    """``InvalidHTTPRoute(obj, path, rule)``: a valid ``httproutes(parent=parent)`` object with
    exactly one validation rule broken (path values, path type, regexes, header and query
    matches, methods, list limits, hostnames, backendRefs, filter combinations, timeouts, rule
    names, unknown fields, metadata, parentRefs). ``path`` is the field path of the problem,
    as in routecore's ``ConfigIssue.path``: a validator should report an issue there, and
    only there."""
    base = httproutes(parent=parent, max_rules=3, max_matches=2)
    which = _ints(0, len(_BREAKERS) - 1)

    @st.composite
    def one(draw):
        route = copy.deepcopy(draw(base))
        path, rule = _BREAKERS[draw(which)](route, draw)
        return InvalidHTTPRoute(route, path, rule)

    return one()


# --- Hypothesis profiles ---------------------------------------------------------------------------


def register_profiles(*, ci_examples=700, long_examples=20000):
    """Register the Hypothesis profiles "ci" (bounded, derandomized: the same examples every
    run) and "long" (many random examples) unless they exist. ``pytest
    --hypothesis-profile=long`` needs them registered before pytest configures Hypothesis: call
    this from a ``conftest.py``."""
    from hypothesis import HealthCheck, settings
    from hypothesis.errors import InvalidArgument

    common = dict(deadline=None, print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    for name, kw in (("ci", dict(max_examples=ci_examples, derandomize=True)),
                     ("long", dict(max_examples=long_examples))):
        try:
            settings.get_profile(name)
        except InvalidArgument:
            settings.register_profile(name, **kw, **common)


# --- the reference decision ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceDecision:
    """What the spec (with routecore's documented choices) says about one request.

    ``route`` "namespace/name" and ``rule`` index of the rule that takes the request (or None);
    ``kind`` "HTTPRoute"/"GRPCRoute"; ``listener`` the Gateway listener chosen (None for mesh,
    and when no listener takes the Host); ``status`` the answer when the request is never
    forwarded and only one answer is possible (404 no rule or listener, 421 misdirected, 500 no
    valid backend, a redirect code, 204 CORS preflight), else None; ``backends`` the
    (namespace, name, port) the request may be forwarded to (weights are not modelled: every
    backendRef with a weight above 0); ``statuses`` every answer the request may get instead of
    being forwarded (a 500 share for ``invalid_backends`` (namespace, name, port, reason), a
    backendRef-level redirect).
    """

    route: Optional[str] = None
    kind: Optional[str] = None
    rule: Optional[int] = None
    listener: Optional[str] = None
    status: Optional[int] = None
    backends: FrozenSet[Tuple[str, str, int]] = frozenset()
    statuses: FrozenSet[int] = frozenset()
    invalid_backends: FrozenSet[Tuple[str, str, int, str]] = frozenset()

    @property
    def matched(self) -> bool:
        return self.route is not None

    def admits(self, decision) -> bool:
        """Whether ``decision`` (anything with ``route``, ``rule``, ``status``, ``backend``
        (``namespace``, ``name``, ``port``) and, for Gateways, ``listener``) is one this
        reference allows."""
        if (decision.route, decision.rule) != (self.route, self.rule):
            return False
        if getattr(decision, "listener", self.listener) != self.listener:
            return False
        if decision.status is not None:
            return decision.status in self.statuses
        b = decision.backend
        return b is not None and (b.namespace, b.name, b.port) in self.backends


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return value


_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _remove_dot_segments(path):
    """RFC 3986 section 5.2.4, step by step."""
    inp, out = path, ""
    while inp:
        if inp.startswith("../"):
            inp = inp[3:]
        elif inp.startswith("./"):
            inp = inp[2:]
        elif inp.startswith("/./"):
            inp = "/" + inp[3:]
        elif inp == "/.":
            inp = "/"
        elif inp.startswith("/../"):
            inp = "/" + inp[4:]
            out = out[:out.rfind("/")] if "/" in out else ""
        elif inp == "/..":
            inp = "/"
            out = out[:out.rfind("/")] if "/" in out else ""
        elif inp in (".", ".."):
            inp = ""
        else:
            start = 1 if inp.startswith("/") else 0
            cut = inp.find("/", start)
            seg = inp if cut == -1 else inp[:cut]
            out += seg
            inp = "" if cut == -1 else inp[cut:]
    return out


def _decode_unreserved(path):
    """Percent-decode unreserved characters (RFC 3986 6.2.2.2) in one pass; other escapes
    upper-cased; None when a "%" is not followed by two hex digits (refused: 400)."""
    out, i = "", 0
    while i < len(path):
        esc = path[i + 1:i + 3]
        if path[i] != "%":
            out += path[i]
            i += 1
        elif len(esc) == 2 and all(c in "0123456789abcdefABCDEF" for c in esc):
            ch = chr(int(esc, 16))
            out += ch if ch in _UNRESERVED else "%" + esc.upper()
            i += 3
        else:
            return None
    return out


def _normalised(path, merge_slashes, escaped_slashes):
    """routecore's path normalisation, step by step; None when the path is refused (400)."""
    path = _decode_unreserved(path)
    if path is None:
        return None
    if "%2F" in path or "%5C" in path or "\\" in path:
        if escaped_slashes == "reject":
            return None
        if escaped_slashes == "unescape":
            path = path.replace("%2F", "/").replace("%5C", "/").replace("\\", "/")
    if merge_slashes:
        while "//" in path:
            path = path.replace("//", "/")
    if path.startswith("/"):
        if any(seg.split(";")[0] in (".", "..") and ";" in seg for seg in path.split("/")):
            return None  # "..;": a dot-segment to servers that strip path parameters
        path = _remove_dot_segments(path)
    return path


# RFC 3986 host (reg-name of unreserved and sub-delims, without %-escapes, or [IPv6]) and port
_VALID_HOST = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")


def _host_ok(host):
    return not host or _VALID_HOST.fullmatch(host) is not None


def _request_parts(request, normalize, merge_slashes, escaped_slashes="reject"):
    """(method, path, query, header map, host) under routecore's documented request choices:
    absolute-form gives its authority as the Host, a fragment is dropped, an empty path is "/",
    repeated headers are joined with ",", the path is normalised (escapes of unreserved
    characters decoded, escaped slashes refused or kept or unescaped, then runs of "/" merged
    when asked, then dot-segments removed); path None: the path is refused."""
    method = _text(request.get("method", "GET"))
    target = _text(request.get("target", "/"))
    authority = None
    if target[:7].lower() == "http://" or target[:8].lower() == "https://":
        rest = target.split("//", 1)[1]
        cut = min([i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i != -1] or [len(rest)])
        authority, target = rest[:cut], rest[cut:]
    target = target.split("#", 1)[0]
    path, sep, query = target.partition("?")
    if not path:
        path = "/"
    if normalize:
        path = _normalised(path, merge_slashes, escaped_slashes)
    elif merge_slashes:
        while "//" in path:
            path = path.replace("//", "/")
    headers = {}
    raw = request.get("headers", ())
    for name, value in (raw.items() if hasattr(raw, "items") else raw):
        name, value = _text(name).lower(), _text(value)
        headers[name] = value if name not in headers else headers[name] + "," + value
    host = request.get("host")
    if host is None:
        host = authority if authority is not None else headers.get("host", headers.get(":authority"))
    return method, path, query if sep else "", headers, _text(host)


def _host_name(host):
    """The Host as hostnames are compared: lower-case, no ":port", no trailing dot."""
    if not host:
        return ""
    if host.startswith("["):
        end = host.find("]")
        host = host[:end + 1] if end != -1 else host
    elif ":" in host:
        host = host[:host.rfind(":")]
    return host[:-1].lower() if host.endswith(".") else host.lower()


def _covers(pattern, host):
    """Gateway API hostname match: a wildcard stands for one or more whole labels."""
    if pattern is None:
        return True
    if pattern.startswith("*."):
        suffix = pattern[2:].split(".")
        labels = host.split(".")
        return (len(labels) > len(suffix) and labels[-len(suffix):] == suffix
                and all(labels[:-len(suffix)]))
    return host == pattern


def _intersection(route_host, listener_host):
    """The hostname a route hostname has on a listener (digest 1.4), None when disjoint."""
    if listener_host is None or route_host == listener_host:
        return route_host
    rw, lw = route_host.startswith("*."), listener_host.startswith("*.")
    if rw and lw:
        if _covers(route_host, listener_host[2:]) or route_host == listener_host:
            return listener_host
        if _covers(listener_host, route_host[2:]):
            return route_host
        return None
    if rw:
        return listener_host if _covers(route_host, listener_host) else None
    if lw:
        return route_host if _covers(listener_host, route_host) else None
    return None


def _effective_hosts(route, listener_host):
    names = route["spec"].get("hostnames") or []
    if not names:
        return [listener_host]
    out = []
    for h in names:
        e = _intersection(h, listener_host)
        if e is not None and e not in out:
            out.append(e)
    return out


def _timestamp(text):
    text = text.upper().replace("Z", "+00:00")
    return int(_dt.datetime.fromisoformat(text).timestamp())


def _age(route):
    ts = route["metadata"].get("creationTimestamp")
    meta = route["metadata"]
    return ((1, 0) if ts is None else (0, _timestamp(ts)), f"{meta.get('namespace', 'default')}/{meta['name']}")


def _value_ok(cond, value):
    if value is None:
        return False
    if cond.get("type", "Exact") == "RegularExpression":
        return re2.fullmatch(cond["value"], value) is not None
    return value == cond["value"]


def _first_headers(match):
    seen, out = set(), []
    for h in match.get("headers", ()):
        if h["name"].lower() not in seen:  # only the first entry for a name counts
            seen.add(h["name"].lower())
            out.append(h)
    return out


def _prefix_ok(prefix, path):
    p = prefix.rstrip("/")
    return path == p or path.startswith(p + "/")


def _http_candidates(route, before):
    """(precedence key after hostnames and age, rule index, test) for every match."""
    out = []
    for ri, rule in enumerate(route["spec"].get("rules", ())):
        for mi, m in enumerate(rule.get("matches") or [{}]):
            pm = m.get("path") or {}
            ptype, value = pm.get("type", "PathPrefix"), pm.get("value", "/")
            if ptype == "Exact":
                rank = (0, 0)
            elif ptype == "PathPrefix":
                rank = (2 if before else 1, -len(value.rstrip("/")))
            else:  # routecore's choice: RE2 regexes after every PathPrefix (or before, as asked)
                rank = (1 if before else 2, -len(value))
            hs = _first_headers(m)
            qs = m.get("queryParams", ())
            key = rank + (0 if m.get("method") else 1, -len(hs), -len(qs))

            def test(method, path, headers, query, ptype=ptype, value=value, m=m, hs=hs, qs=qs):
                if ptype == "Exact" and path != value:
                    return False
                if ptype == "PathPrefix" and not _prefix_ok(value, path):
                    return False
                # routecore's choice: a target that is not a path ("*", authority-form) matches
                # no path rule, RegularExpression included
                if ptype == "RegularExpression" and (not path.startswith("/")
                                                    or re2.fullmatch(value, path) is None):
                    return False
                if m.get("method") and m["method"] != method:
                    return False
                return (all(_value_ok(h, headers.get(h["name"].lower())) for h in hs)
                        and all(_value_ok(q, query.get(q["name"])) for q in qs))

            out.append((key, ri, mi, test))
    return out


def _grpc_candidates(route, before):
    """GRPCRoute method matches on the path /<service>/<method> (routecore's choice for the
    implementation-specific parts: method only and RegularExpression matches, their rank)."""
    out = []
    for ri, rule in enumerate(route["spec"].get("rules") or ()):
        for mi, m in enumerate(rule.get("matches") or [{}]):
            mm = m.get("method")
            s = mm.get("service") if mm else None
            me = mm.get("method") if mm else None
            if mm is None:
                klass = 4
            elif mm.get("type", "Exact") == "RegularExpression":
                klass = 1 if before else 3
            elif s is not None and me is not None:
                klass = 0
            elif s is not None:
                klass = 2 if before else 1
            else:
                klass = 3 if before else 2
            hs = _first_headers(m)
            key = (klass, -len(s or ""), -len(me or ""), -len(hs), 0)

            def test(method, path, headers, query, mm=mm, s=s, me=me, hs=hs):
                if not path.startswith("/"):  # "*", authority-form: no path rule matches
                    return False
                if mm is not None:
                    if mm.get("type", "Exact") == "RegularExpression":
                        rx = "/({})/({})".format("[^/]+" if s is None else s, "[^/]+" if me is None else me)
                        if re2.fullmatch(rx, path) is None:
                            return False
                    elif s is not None and me is not None:
                        if path != f"/{s}/{me}":
                            return False
                    elif s is not None:
                        if not (path == f"/{s}" or path.startswith(f"/{s}/")):
                            return False
                    else:
                        parts = path.split("/")
                        if not (len(parts) == 3 and parts[0] == "" and parts[1] and parts[2] == me):
                            return False
                return all(_value_ok(h, headers.get(h["name"].lower())) for h in hs)

            out.append((key, ri, mi, test))
    return out


def _ref_key(ref, route_ns):
    return (ref.get("group", ""), ref.get("kind", "Service"), ref.get("namespace", route_ns), ref["name"])


def _backend_problem(objs, route, ref, mesh):
    """None, or why a backendRef is invalid: InvalidKind, BackendNotFound, RefNotPermitted."""
    rns = route["metadata"].get("namespace", "default")
    group, kind, ns, name = _ref_key(ref, rns)
    if group != "" or kind != "Service":
        return "InvalidKind"
    services = [o for o in objs if o.get("kind") == "Service"]
    if services and not any(o["metadata"].get("namespace", "default") == ns and o["metadata"]["name"] == name
                            for o in services):
        return "BackendNotFound"
    if ns != rns and not mesh:  # routecore's choice: mesh backends need no grant (GEP-1294)
        for g in objs:
            if g.get("kind") != "ReferenceGrant" or g["metadata"].get("namespace", "default") != ns:
                continue
            if not any(f.get("group") == GATEWAY_GROUP and f.get("kind") == route["kind"]
                       and f.get("namespace") == rns for f in g["spec"].get("from", ())):
                continue
            if any(t.get("group", "") == group and t.get("kind") == kind and t.get("name") in (None, name)
                   for t in g["spec"].get("to", ())):
                return None
        return "RefNotPermitted"
    return None


def _redirect_code(redirect, no_host):
    """The status of a RequestRedirect filter; routecore's choice: 400 when its Location would
    take the request's host and the request has none (never "http:///...")."""
    if no_host and "hostname" not in redirect["requestRedirect"]:
        return 400
    return redirect["requestRedirect"].get("statusCode", 302)


def _rule_outcome(objs, route, ri, listener, mesh, method, headers, extensions, no_host=False):
    rule = route["spec"]["rules"][ri]
    meta = route["metadata"]
    rns = meta.get("namespace", "default")
    base = dict(route=f"{rns}/{meta['name']}", kind=route["kind"], rule=ri, listener=listener)
    filters = rule.get("filters", ())

    def known(fs):
        return all((f["extensionRef"]["group"], f["extensionRef"]["kind"]) in extensions
                   for f in fs if f.get("type") == "ExtensionRef")

    if any(f.get("type") == "CORS" for f in filters):
        # routecore's choice: a preflight on a rule with a CORS filter is answered with 204
        if method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers:
            return ReferenceDecision(status=204, statuses=frozenset({204}), **base)
    if not known(filters):  # routecore's choice: an unresolvable ExtensionRef gives 500
        return ReferenceDecision(status=500, statuses=frozenset({500}), **base)
    redirect = next((f for f in filters if f.get("type") == "RequestRedirect"), None)
    if redirect is not None:
        code = redirect["requestRedirect"].get("statusCode", 302)
        code = _redirect_code(redirect, no_host)
        return ReferenceDecision(status=code, statuses=frozenset({code}), **base)
    backends, statuses, invalid = set(), set(), set()
    for ref in rule.get("backendRefs", ()):
        if ref.get("weight", 1) <= 0:
            continue
        _, _, ns, name = _ref_key(ref, rns)
        problem = _backend_problem(objs, route, ref, mesh)
        if problem is not None:
            invalid.add((ns, name, ref.get("port"), problem))
            statuses.add(500)
        elif not known(ref.get("filters", ())):
            statuses.add(500)
        else:
            b_redirect = next((f for f in ref.get("filters", ()) if f.get("type") == "RequestRedirect"), None)
            if b_redirect is not None:
                statuses.add(_redirect_code(b_redirect, no_host))
            else:
                backends.add((ns, name, ref["port"]))
    if not backends and not statuses:  # routecore's choice: no backend at all is 500
        statuses.add(500)
    status = next(iter(statuses)) if not backends and len(statuses) == 1 else None
    return ReferenceDecision(status=status, backends=frozenset(backends), statuses=frozenset(statuses),
                             invalid_backends=frozenset(invalid), **base)


def _pick_best(objs, routes, listener_host, host, mesh, listener, request_parts, before, extensions):
    """Sort every match of every route by the spec's precedence; the first that matches wins."""
    method, path, query_text, headers, request_host = request_parts
    query = {}
    for part in query_text.split("&") if query_text else ():
        if part:
            name, _, value = part.partition("=")
            query.setdefault(name, value)  # routecore's choice: the first value counts
    candidates = []
    for route in routes:
        if mesh:
            host_key = (0, 0)
        else:
            ranks = []
            for h in _effective_hosts(route, listener_host):
                if _covers(h, host):
                    exact = h is not None and not h.startswith("*.")
                    ranks.append((-len(h) if exact else 0, -len(h) if h else 0))
            if not ranks:
                continue
            host_key = min(ranks)
        age = _age(route)
        gen = _grpc_candidates if route["kind"] == "GRPCRoute" else _http_candidates
        for key, ri, mi, test in gen(route, before):
            candidates.append(((host_key,) + key + age + (ri, mi), route, ri, test))
    candidates.sort(key=lambda c: c[0])
    for _, route, ri, test in candidates:
        if test(method, path, headers, query):
            return _rule_outcome(objs, route, ri, listener, mesh, method, headers, extensions,
                                 no_host=not _host_name(request_host))
    return None


def _listener_choice(listeners, host):
    """The listener of a port for this host name: exact hostname > wildcard with more labels
    > no hostname (digest 1.5)."""
    best, best_rank = None, None
    for lis in listeners:
        h = lis.get("hostname")
        if not _covers(h, host):
            continue
        rank = (2, 0) if h is None else ((1, -h.count(".")) if h.startswith("*.") else (0, 0))
        if best_rank is None or rank < best_rank:
            best, best_rank = lis, rank
    return best


_FAMILY = {"HTTP": "http", "HTTPS": "tls", "TLS": "tls", "TCP": "tcp", "UDP": "udp"}


def _selector_ok(selector, labels):
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in selector.get("matchExpressions") or ():
        present = req["key"] in labels
        values = req.get("values") or ()
        op = req["operator"]
        if op == "In" and not (present and labels[req["key"]] in values):
            return False
        if op == "NotIn" and present and labels[req["key"]] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _listener_takes(objs, gw, lis, route):
    """Protocol, conflicts, allowedRoutes kinds and namespaces (digest 1.3)."""
    if lis.get("protocol") not in ("HTTP", "HTTPS"):
        return False
    families = {_FAMILY.get(l.get("protocol"), l.get("protocol"))
                for l in gw["spec"]["listeners"] if l["port"] == lis["port"]}
    if len(families) > 1:  # conflicted listeners are all refused
        return False
    allowed = lis.get("allowedRoutes") or {}
    kinds = allowed.get("kinds") or ()
    if kinds and not any(k.get("group", GATEWAY_GROUP) == GATEWAY_GROUP and k["kind"] == route["kind"]
                         for k in kinds):
        return False
    gw_ns = gw["metadata"].get("namespace", "default")
    rns = route["metadata"].get("namespace", "default")
    nss = allowed.get("namespaces") or {}
    frm = nss.get("from", "Same")
    if frm == "All":
        return True
    if frm == "Same":
        return rns == gw_ns
    if frm == "Selector":
        labels = {}
        for o in objs:
            if o.get("kind") == "Namespace" and o["metadata"]["name"] == rns:
                labels = dict(o["metadata"].get("labels") or {})
        labels["kubernetes.io/metadata.name"] = rns  # every namespace carries it
        return _selector_ok(nss.get("selector"), labels)
    return False


def _ref_to_listener(ref, route, gw, lis):
    rns = route["metadata"].get("namespace", "default")
    return (ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP and ref.get("kind", "Gateway") == "Gateway"
            and ref.get("namespace", rns) == gw["metadata"].get("namespace", "default")
            and ref["name"] == gw["metadata"]["name"]
            and ref.get("sectionName", lis["name"]) == lis["name"]
            and ref.get("port", lis["port"]) == lis["port"])


def _listener_routes(objs, gw, lis, routes):
    """Routes a listener takes. An HTTPRoute and a GRPCRoute whose hostnames intersect on it:
    the older is taken (creationTimestamp, then "namespace/name"), the newer left out (digest
    10; routecore's reading: routes are admitted oldest first, a left-out route excludes
    nothing)."""
    cands = []
    for r in routes:
        if not any(_ref_to_listener(p, r, gw, lis) for p in r["spec"].get("parentRefs", ())):
            continue
        if not _listener_takes(objs, gw, lis, r):
            continue
        hosts = _effective_hosts(r, lis.get("hostname"))
        if hosts:
            cands.append((r, hosts))
    if len({r["kind"] for r, _ in cands}) < 2:
        return [r for r, _ in cands]

    def meet(a, b):
        return any(x is None or y is None or _intersection(x, y) is not None for x in a for y in b)

    kept = []
    for r, hosts in sorted(cands, key=lambda rh: _age(rh[0])):
        if not any(k["kind"] != r["kind"] and meet(hosts, kh) for k, kh in kept):
            kept.append((r, hosts))
    return [r for r, _ in kept]


def reference_decide(config, parent, request, *, regex_precedence="after-prefix", normalize_path=True,
                     merge_slashes=False, extensions=(), escaped_slashes="reject"):
    """The decision the Gateway API spec gives ``request`` at ``parent``, read literally.

    config: the objects as users write them (a list of dicts: HTTPRoute, GRPCRoute, Gateway,
    Service, Namespace, ReferenceGrant; assumed valid). parent: ``{"kind": "Gateway",
    "namespace", "name", "port"}`` or ``{"kind": "Service", "namespace", "name", "port",
    "client_namespace"}``. request: ``{"method", "target", "headers" (pairs or a mapping),
    "host" (optional), "sni" (optional)}``. The keyword options are routecore's Router options
    of the same names; ``extensions`` the (group, kind) of ExtensionRef filters the gateway
    implements. Raises LookupError when the parent does not exist (no such Gateway port, or
    Service objects are given and none is this one, or it has no such port).

    Naive on purpose: every match of every rule of every route attached to the parent (the
    chosen listener's, for Gateways) gets the spec's precedence key (route hostname, path kind
    and length, method, header and query counts, age, "namespace/name", rule, match); they are
    sorted and the first whose conditions hold wins.
    """
    objs = [o for o in config if isinstance(o, dict)]
    before = regex_precedence == "before-prefix"
    extensions = frozenset(tuple(e) for e in extensions)
    parts = _request_parts(request, normalize_path, merge_slashes, escaped_slashes)
    routes = [o for o in objs if o.get("kind") in ("HTTPRoute", "GRPCRoute")]
    bad = ReferenceDecision(status=400, statuses=frozenset({400}))
    ns, name, port = parent["namespace"], parent["name"], parent["port"]
    if parent["kind"] == "Service":
        services = [o for o in objs if o.get("kind") == "Service"]
        port_name = None
        if services:
            svc = next((o for o in services if o["metadata"].get("namespace", "default") == ns
                        and o["metadata"]["name"] == name), None)
            if svc is None:
                raise LookupError(f"no Service {ns}/{name}")
            sp = next((p for p in svc["spec"].get("ports", ()) if p["port"] == port), None)
            if sp is None and svc["spec"].get("ports"):
                raise LookupError(f"Service {ns}/{name} has no port {port}")
            port_name = sp.get("name") if sp else None

        def covers(p, r):
            return (p.get("group") == "" and p.get("kind") == "Service" and p["name"] == name
                    and p.get("namespace", r["metadata"].get("namespace", "default")) == ns
                    and p.get("port", port) == port
                    and ("sectionName" not in p or p["sectionName"] == port_name))

        attached = [r for r in routes if any(covers(p, r) for p in r["spec"].get("parentRefs", ()))]
        client = parent.get("client_namespace")
        consumer = [r for r in attached if r["metadata"].get("namespace", "default") not in (ns,)
                    and r["metadata"].get("namespace", "default") == client]
        chosen = consumer or [r for r in attached if r["metadata"].get("namespace", "default") == ns]
        if any(r["kind"] == "GRPCRoute" for r in chosen):  # GEP-1294: GRPCRoute > HTTPRoute per port
            chosen = [r for r in chosen if r["kind"] == "GRPCRoute"]
        if parts[1] is None or not _host_ok(parts[4]):  # a refused path, an invalid Host: 400
            return bad
        if not chosen:  # no route for this client: the request goes to the Service itself
            return ReferenceDecision(backends=frozenset({(ns, name, port)}))
        best = _pick_best(objs, chosen, None, "", True, None, parts, before, extensions)
        return best or ReferenceDecision(status=404, statuses=frozenset({404}))
    gw = next((o for o in objs if o.get("kind") == "Gateway" and o["metadata"]["name"] == name
               and o["metadata"].get("namespace", "default") == ns), None)
    if gw is None:
        raise LookupError(f"no Gateway {ns}/{name}")
    listeners = [lis for lis in gw["spec"]["listeners"] if lis["port"] == port]
    if not listeners:
        raise LookupError(f"Gateway {ns}/{name} has no listener on port {port}")
    if parts[1] is None or not _host_ok(parts[4]):
        return bad
    host = _host_name(parts[4])
    lis = _listener_choice(listeners, host)
    if lis is None:
        return ReferenceDecision(status=404, statuses=frozenset({404}))
    sni = request.get("sni")
    if sni is not None and _listener_choice(listeners, _host_name(_text(sni))) is not lis:
        # routecore's choice: with an SNI, the SNI and the Host must select the same listener
        return ReferenceDecision(status=421, statuses=frozenset({421}))
    taken = _listener_routes(objs, gw, lis, routes)
    best = _pick_best(objs, taken, lis.get("hostname"), host, False, lis["name"], parts, before, extensions)
    return best or ReferenceDecision(listener=lis["name"], status=404, statuses=frozenset({404}))
