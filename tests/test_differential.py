"""Differential tests: the native twin, the pure-Python twin and a spec-literal oracle agree.

Hypothesis builds valid route sets as users write them (dicts) over small alphabets, so paths,
header names and precedence keys collide often, then sends the same request sequence to
``Router(..., native=True)`` and ``Router(..., native=False)`` (same seed, so weighted choices
agree) and compares every public attribute of every Decision, in order.

A third oracle, ``spec_oracle`` below, reads the Gateway API precedence rules literally (it uses
no routecore internals) and checks the (route, rule) both twins select for mesh configurations
without weights or filters.

Two further differential tests widen the configurations: Gateway routes with cross-namespace
backendRefs and mirror targets under generated ReferenceGrants (right, or near misses), optional
Service and Namespace objects, several listeners per port (hostnames, HTTP/HTTPS, allowedRoutes
Same/All/Selector, kinds, protocol conflicts), parentRefs with sectionName/port, requests with an
SNI (421 when it selects another listener than the Host); and mesh parents with and without port
and sectionName (Service port names), several client namespaces (consumer routes), Service ports
80 and 8080.

Profiles: "ci" (default; Hypothesis' built-in "ci" profile when it exists, which derandomizes, so
CI runs the same 3500 examples every time) and "long" (20000 examples per test, random):
HYPOTHESIS_PROFILE=long.
"""
from __future__ import annotations

import copy
import datetime as _dt
import os
import re

import pytest
import re2
from hypothesis import HealthCheck, assume, note, settings, strategies as st
from hypothesis import given
from hypothesis.errors import InvalidArgument

import routecore
from routecore import _impl

# --- profiles ------------------------------------------------------------------------------------

_CI_EXAMPLES = {"mesh": 800, "gateway": 700, "oracle": 700, "grpc": 400,  # 2600
                "gateway_full": 500, "mesh_full": 400}  # 3500 in all


def _register(name, **kwargs):
    try:
        settings.get_profile(name)
    except InvalidArgument:
        settings.register_profile(name, **kwargs)


_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
               print_blob=True)
_register("ci", max_examples=max(_CI_EXAMPLES.values()), **_COMMON)
_register("long", max_examples=20000, **_COMMON)
_PROFILE = "long" if os.environ.get("HYPOTHESIS_PROFILE") == "long" else "ci"


def _settings(kind):
    base = settings.get_profile(_PROFILE)
    n = base.max_examples if _PROFILE == "long" else _CI_EXAMPLES[kind]
    return settings(base, max_examples=n, deadline=None, suppress_health_check=list(
        set(base.suppress_health_check) | {HealthCheck.too_slow, HealthCheck.data_too_large}))


def test_native_extension_is_built():
    """The differential tests are worthless against one twin: never skip, fail instead."""
    assert _impl.NativeTable is not None, "routecore._cmatch is not built: run pip install -e ."


# --- alphabets -----------------------------------------------------------------------------------

NAMESPACES = ["default", "team", "team-x"]
ROUTE_NAMES = ["r", "s"]
PATH_VALUES = ["/", "/a", "/a/b", "/ab", "/a/", "/b", "/a/b/", "/a/bc"]
# regexes every engine reads the same way
SAFE_REGEXES = ["/a/.*", "/[ab]+", "/a/b", "/a.*", "/(a|b)/b", ".*", "/a/b/?", "/b|/a/b"]
# valid RE2 whose literal parts are not plain text: counted repeats, escapes, inline flags
TRICKY_REGEXES = ["/[ab]{1,2}", "/\\x61/b", "/(?i)a/B", "/a{0,10}", "/\\141b?", "/\\pL/b"]
REGEXES = SAFE_REGEXES + TRICKY_REGEXES
HEADER_NAMES = ["x-a", "X-A", "x-b"]
HEADER_VALUES = ["1", "2", "1,2"]
HEADER_REGEXES = ["1|2", "[0-9]+", "1,.*", "2"]
QUERY_NAMES = ["q", "Q", "r"]
QUERY_VALUES = ["1", "2"]
QUERY_REGEXES = ["[12]", "1.*"]
ROUTE_HOSTNAMES = ["a.example.com", "*.example.com", "b.a.example.com"]
LISTENER_HOSTNAMES = [None, "*.example.com", "a.example.com"]
TIMESTAMPS = ["2024-01-01T00:00:00Z", "2023-06-01T12:00:00Z", "2024-01-01T01:00:00+02:00",
              "2024-01-01t00:00:00z"]
GATEWAY_GROUP = "gateway.networking.k8s.io"


def _drop_none(d):
    return {k: v for k, v in d.items() if v is not None}


# --- config strategies ---------------------------------------------------------------------------

# strategies are built once: building them per draw costs more than running the twins
_STRATEGIES = {}


def _pick(values):
    key = ("pick", tuple(values))
    if key not in _STRATEGIES:
        _STRATEGIES[key] = st.sampled_from(tuple(values))
    return _STRATEGIES[key]


def _ints(lo, hi):
    key = ("ints", lo, hi)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = st.integers(lo, hi)
    return _STRATEGIES[key]


_BOOL = st.booleans()
_HEADER_NAME_LISTS = st.lists(st.sampled_from(HEADER_NAMES), max_size=2, unique_by=str.lower)
_QUERY_NAME_LISTS = st.lists(st.sampled_from(QUERY_NAMES), max_size=2, unique=True)
_ROUTE_KEY_LISTS = st.lists(st.sampled_from([(ns, n) for ns in NAMESPACES for n in ROUTE_NAMES]),
                            min_size=1, max_size=6, unique=True)
_ROUTE_HOSTNAME_LISTS = st.lists(st.sampled_from(ROUTE_HOSTNAMES), max_size=2, unique=True)
_LISTENER_HOSTNAME_LISTS = st.lists(st.sampled_from(LISTENER_HOSTNAMES), min_size=1, max_size=3,
                                    unique=True)


@st.composite
def path_matches(draw):
    kind = draw(_pick(["Exact", "PathPrefix", "RegularExpression", None]))
    if kind is None:
        return None  # the default: PathPrefix "/"
    value = draw(_pick(REGEXES if kind == "RegularExpression" else PATH_VALUES))
    if kind == "PathPrefix" and draw(_BOOL):
        return {"value": value}  # type defaults to PathPrefix
    return {"type": kind, "value": value}


@st.composite
def header_matches(draw):
    names = draw(_HEADER_NAME_LISTS)
    out = []
    for name in names:
        if draw(_ints(0, 3)) == 0:
            out.append({"type": "RegularExpression", "name": name,
                        "value": draw(_pick(HEADER_REGEXES))})
        else:
            h = {"name": name, "value": draw(_pick(HEADER_VALUES))}
            if draw(_BOOL):
                h["type"] = "Exact"
            out.append(h)
    return out


@st.composite
def query_matches(draw):
    names = draw(_QUERY_NAME_LISTS)
    out = []
    for name in names:
        if draw(_ints(0, 3)) == 0:
            out.append({"type": "RegularExpression", "name": name,
                        "value": draw(_pick(QUERY_REGEXES))})
        else:
            out.append({"name": name, "value": draw(_pick(QUERY_VALUES))})
    return out


@st.composite
def route_match(draw):
    m = {}
    p = draw(_PATH_MATCHES)
    if p is not None:
        m["path"] = p
    if draw(_ints(0, 2)) == 0:
        hs = draw(_HEADER_MATCHES)
        if hs:
            m["headers"] = hs
    if draw(_ints(0, 3)) == 0:
        qs = draw(_QUERY_MATCHES)
        if qs:
            m["queryParams"] = qs
    method = draw(_pick([None, None, "GET", "POST"]))
    if method:
        m["method"] = method
    return m


_PATH_MATCHES = path_matches()
_HEADER_MATCHES = header_matches()
_QUERY_MATCHES = query_matches()
_ROUTE_MATCH = route_match()


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


@st.composite
def rules(draw, *, simple, gateway, rich=False):
    """One HTTPRoute rule. simple: one backendRef, no weight, no filters (the oracle's domain).
    rich: backendRefs (and RequestMirror targets) in other namespaces half of the time, for the
    ReferenceGrant / BackendNotFound tests (mesh routes too: there no grant is needed)."""
    n_matches = draw(_ints(0, 3))
    matches = [draw(_ROUTE_MATCH) for _ in range(n_matches)]
    rule = {}
    if matches:
        rule["matches"] = matches
    elif draw(_BOOL):
        rule["matches"] = [{"path": {"type": "PathPrefix", "value": "/"}}]
    backend_names = ["b1", "b2", "b3"]
    if simple:
        ref = {"name": draw(_pick(backend_names)), "port": 80}
        if draw(_BOOL):
            ref["weight"] = draw(_ints(1, 3))
        rule["backendRefs"] = [ref]
        return rule
    one_prefix = (len(rule.get("matches", [{}])) == 1
                  and rule.get("matches", [{}])[0].get("path", {"value": "/"}).get("type", "PathPrefix")
                  == "PathPrefix")
    filters = []
    redirect = draw(_ints(0, 5)) == 0
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
        ptype = draw(_pick([None, "ReplaceFullPath"] + (["ReplacePrefixMatch"] if one_prefix else [])))
        if ptype == "ReplaceFullPath":
            rr["path"] = {"type": ptype, "replaceFullPath": draw(_pick(["/x", "/x/"]))}
        elif ptype == "ReplacePrefixMatch":
            rr["path"] = {"type": ptype, "replacePrefixMatch": draw(_pick(["/", "/x", "/x/"]))}
        filters.append({"type": "RequestRedirect", "requestRedirect": rr})
    elif draw(_ints(0, 3)) == 0:
        rw = {}
        if draw(_BOOL):
            rw["hostname"] = "rw.example.com"
        ptype = draw(_pick([None, "ReplaceFullPath"] + (["ReplacePrefixMatch"] if one_prefix else [])))
        if ptype == "ReplaceFullPath":
            rw["path"] = {"type": ptype, "replaceFullPath": draw(_pick(["/x", "/"]))}
        elif ptype == "ReplacePrefixMatch":
            rw["path"] = {"type": ptype, "replacePrefixMatch": draw(_pick(["/", "/x", "/x/"]))}
        filters.append({"type": "URLRewrite", "urlRewrite": rw})
    if draw(_ints(0, 3)) == 0:
        filters.append({"type": "RequestHeaderModifier", "requestHeaderModifier": _header_modifier(draw)})
    if rich and draw(_ints(0, 2)) == 0:
        filters.extend(_mirror_filters(draw))
    if filters:
        rule["filters"] = filters
    if not redirect:
        n_refs = draw(_ints(0, 3))
        refs = []
        for _ in range(n_refs):
            ref = {"name": draw(_pick(backend_names)), "port": draw(_pick([80, 8080]))}
            w = draw(_pick([None, 0, 1, 2, 3]))
            if w is not None:
                ref["weight"] = w
            if rich and draw(_BOOL):
                ref["namespace"] = draw(_pick(NAMESPACES))  # maybe granted, maybe not
            elif gateway and draw(_ints(0, 5)) == 0:
                ref["namespace"] = draw(_pick(NAMESPACES))  # maybe RefNotPermitted
            if draw(_ints(0, 5)) == 0:
                ref["filters"] = [{"type": "RequestHeaderModifier",
                                   "requestHeaderModifier": _header_modifier(draw)}]
            refs.append(ref)
        if refs:
            rule["backendRefs"] = refs
    return rule


def _mirror_filters(draw):
    out = []
    for _ in range(draw(_ints(1, 2))):
        ref = {"name": draw(_pick(["b1", "b2", "b3"])), "port": 80}
        if draw(_BOOL):
            ref["namespace"] = draw(_pick(NAMESPACES))
        body = {"backendRef": ref}
        share = draw(_ints(0, 3))
        if share == 1:
            body["percent"] = draw(_pick([0, 50, 100]))
        elif share == 2:
            body["fraction"] = {"numerator": 1, "denominator": draw(_pick([2, 100]))}
        out.append({"type": "RequestMirror", "requestMirror": body})
    return out


_RULE_LISTS = {(simple, gateway): st.lists(rules(simple=simple, gateway=gateway), min_size=1, max_size=4)
               for simple in (False, True) for gateway in (False, True)}
_RICH_RULE_LISTS = {gateway: st.lists(rules(simple=False, gateway=gateway, rich=True), min_size=1, max_size=3)
                    for gateway in (False, True)}


def _mesh_parent(draw):
    ref = {"group": "", "kind": "Service", "name": "svc", "port": 80}
    choice = draw(_ints(0, 9))
    if choice < 4:
        ref["namespace"] = "default"  # from another namespace: a consumer route
    elif choice == 4:
        ref["port"] = 8080  # attached to another port of the Service
    elif choice == 5:
        del ref["port"]
    return ref


def _gateway_parent(draw, listener_names):
    ref = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": "gw", "namespace": "default"}
    if draw(_ints(0, 3)) == 0:
        ref["sectionName"] = draw(_pick(listener_names))
    if draw(_ints(0, 9)) == 0:
        ref["port"] = 80
    return ref


@st.composite
def route_sets(draw, *, simple=False, gateway=False, listener_names=()):
    keys = draw(_ROUTE_KEY_LISTS)
    objs = []
    for ns, name in keys:
        meta = {"name": name, "namespace": ns}
        if draw(_BOOL):
            meta["creationTimestamp"] = draw(_pick(TIMESTAMPS))
        spec = {}
        if gateway:
            spec["parentRefs"] = [_gateway_parent(draw, listener_names)]
            hosts = draw(_ROUTE_HOSTNAME_LISTS)
            if hosts:
                spec["hostnames"] = hosts
        else:
            spec["parentRefs"] = [_mesh_parent(draw)]
        spec["rules"] = draw(_RULE_LISTS[simple, gateway])
        objs.append({"apiVersion": draw(_pick([f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1beta1"])),
                     "kind": "HTTPRoute", "metadata": meta, "spec": spec})
    return objs


@st.composite
def gateway_configs(draw):
    hosts = draw(_LISTENER_HOSTNAME_LISTS)
    listeners = []
    for i, h in enumerate(hosts):
        lis = {"name": f"l{i}", "port": 80, "protocol": "HTTP",
               "allowedRoutes": {"namespaces": {"from": "All"}}}
        if h is not None:
            lis["hostname"] = h
        listeners.append(lis)
    gw = {"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "Gateway",
          "metadata": {"name": "gw", "namespace": "default"},
          "spec": {"gatewayClassName": "gc", "listeners": listeners}}
    routes = draw(route_sets(gateway=True, listener_names=[l["name"] for l in listeners]))
    return [gw] + routes


# --- request strategies --------------------------------------------------------------------------

SEGMENTS = ["/a", "/b", "/ab", "/", "/.", "/..", "/%61", "/%2E", "/a/./b", "/a/b", "/bc", "/A"]
QUERIES = ["", "", "?q=1", "?q=1&q=2", "?q=2&r=1", "?Q=1", "?q", "?r=2&q=1", "?q=1#f", "#frag"]
SPECIAL_TARGETS = ["", "*", "http://A.example.com:8080/a/b?q=1", "/a%2fb", "https://b.a.example.com",
                   "/a?x#y?q=1", "//a"]
REQ_HEADER_NAMES = ["x-a", "X-A", "x-b", "X-B", "x-c", "Host", "content-type"]
REQ_HEADER_VALUES = ["1", "2", "1,2", "3", ""]
HOSTS = [None, "a.example.com", "A.Example.COM:80", "b.a.example.com", "x.example.com",
         "example.com", "a.example.com.", "other.org", "[::1]:80", b"a.example.com"]


_SEGMENT_LISTS = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3)
_REQ_HEADER_NAME_LISTS = st.lists(st.sampled_from(REQ_HEADER_NAMES), max_size=4)


@st.composite
def targets(draw):
    if draw(_ints(0, 9)) == 0:
        return draw(_pick(SPECIAL_TARGETS))
    path = "".join(draw(_SEGMENT_LISTS))
    if draw(_ints(0, 3)) == 0:
        path += "/"
    return path + draw(_pick(QUERIES))


@st.composite
def header_lists(draw):
    pairs = []
    for name in draw(_REQ_HEADER_NAME_LISTS):
        if name.lower() == "host":
            value = draw(_pick([h for h in HOSTS if isinstance(h, str)]))
        elif name == "content-type":
            value = draw(_pick(["application/grpc", "text/plain", "application/grpc+proto"]))
        else:
            value = draw(_pick(REQ_HEADER_VALUES))
        pairs.append((name, value))
    form = draw(_pick(["list", "list", "tuple", "bytes", "mixed", "dict", "generator"]))
    return form, tuple(pairs)


def as_pairs(form, pairs):
    """The (name, value) str pairs a headers argument of this form carries."""
    return list(dict(pairs).items()) if form == "dict" else list(pairs)


def materialize(form, pairs):
    """A fresh headers argument (a generator can only be read once, so build one per call)."""
    if form == "list":
        return list(pairs)
    if form == "tuple":
        return tuple(pairs)
    if form == "bytes":
        return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs]
    if form == "mixed":
        return [(n.encode("latin-1"), v) if i % 2 else (n, v.encode("latin-1"))
                for i, (n, v) in enumerate(pairs)]
    if form == "dict":
        return dict(pairs)
    if form == "generator":
        return (p for p in pairs)
    raise AssertionError(form)


_TARGETS = targets()
_HEADER_LISTS = header_lists()


@st.composite
def requests(draw):
    method = draw(_pick(["GET", "GET", "POST", "PUT", b"GET"]))
    return method, draw(_TARGETS), draw(_HEADER_LISTS), draw(_pick(HOSTS))


request_lists = st.lists(requests(), min_size=1, max_size=10)
router_options = st.fixed_dictionaries({
    "regex_precedence": st.sampled_from(["after-prefix", "before-prefix"]),
    "normalize_path": st.booleans(),
    "merge_slashes": st.booleans(),
})


# --- running both twins --------------------------------------------------------------------------

def outcome(view, req):
    """Everything observable about one call, or the exception it raised."""
    method, target, (form, pairs), host = req[:4]
    sni = req[4] if len(req) > 4 else None
    try:
        d = view.route(method, target, materialize(form, pairs), host=host, sni=sni)
        return ("ok", d.to_dict(), d.apply_request_headers([("X-A", "orig"), ("x-keep", "k")]),
                d.apply_response_headers([("x-r", "1")]), repr(d))
    except Exception as exc:  # both twins must fail the same way
        return ("error", type(exc).__name__, str(exc))


def compare(native_view, python_view, reqs):
    for i, req in enumerate(reqs):
        n, p = outcome(native_view, req), outcome(python_view, req)
        if n != p:
            note(f"request #{i}: {req!r}")
            note(f"native: {n!r}")
            note(f"python: {p!r}")
        assert n == p, f"twins disagree on request #{i} {req!r}"


def twins(objs, **options):
    config = routecore.load(objs)
    return (routecore.Router(config, seed=7, native=True, **options),
            routecore.Router(config, seed=7, native=False, **options))


@_settings("mesh")
@given(objs=route_sets(), reqs=request_lists, options=router_options,
       client=st.sampled_from([None, "team", "team-x", "default"]))
def test_mesh_twins_agree(objs, reqs, options, client):
    native, python = twins(objs, **options)
    compare(native.service("svc", namespace="default", port=80, client_namespace=client),
            python.service("svc", namespace="default", port=80, client_namespace=client), reqs)


@_settings("gateway")
@given(objs=gateway_configs(), reqs=request_lists, options=router_options)
def test_gateway_twins_agree(objs, reqs, options):
    native, python = twins(objs, **options)
    compare(native.gateway("gw", namespace="default", port=80),
            python.gateway("gw", namespace="default", port=80), reqs)


# --- GRPCRoutes on a mesh Service port (alone, or with HTTPRoutes they take the port from) --------

GRPC_SERVICES = ["a.B", "a", "a.Bc", "A.B"]
GRPC_METHODS = ["C", "Cd", "c"]
GRPC_SERVICE_REGEXES = ["a\\..*", "a|A\\.B", ".*", "(?i)a\\.b"]
GRPC_METHOD_REGEXES = ["C.*", "c|C", "[A-Z]d"]
GRPC_TARGETS = ["/a.B/C", "/a.B/Cd", "/a/C", "/a/Cd", "/a.Bc/c", "/A.B/C", "/a.B", "/a.B/C/x", "/x/C",
                "/", "/a.B/C?q=1", "//C", "/a.B/./C", "/a%2EB/C"]


@st.composite
def grpc_matches(draw):
    match = {}
    kind = draw(_ints(0, 4))  # no method, service+method, service, method, regex
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
    if draw(_ints(0, 2)) == 0:
        hs = draw(_HEADER_MATCHES)
        if hs:
            match["headers"] = hs
    return match


_GRPC_MATCHES = grpc_matches()


@st.composite
def grpc_rules(draw, rich=False):
    rule = {}
    matches = [draw(_GRPC_MATCHES) for _ in range(draw(_ints(0, 3)))]
    if matches:
        rule["matches"] = matches
    if draw(_ints(0, 3)) == 0:
        rule["filters"] = [{"type": "RequestHeaderModifier", "requestHeaderModifier": _header_modifier(draw)}]
    refs = []
    for _ in range(draw(_ints(0, 3))):
        ref = {"name": draw(_pick(["b1", "b2", "b3"])), "port": 80}
        w = draw(_pick([None, 0, 1, 2]))
        if w is not None:
            ref["weight"] = w
        if rich and draw(_BOOL):
            ref["namespace"] = draw(_pick(NAMESPACES))
        refs.append(ref)
    if rich and draw(_ints(0, 3)) == 0:
        rule.setdefault("filters", []).extend(_mirror_filters(draw))
    if refs:
        rule["backendRefs"] = refs
    return rule


_GRPC_RULE_LISTS = st.lists(grpc_rules(), max_size=4)
_RICH_GRPC_RULE_LISTS = st.lists(grpc_rules(rich=True), max_size=3)


@st.composite
def grpc_route_sets(draw):
    objs = []
    for ns, name in draw(_ROUTE_KEY_LISTS):
        meta = {"name": name, "namespace": ns}
        if draw(_BOOL):
            meta["creationTimestamp"] = draw(_pick(TIMESTAMPS))
        spec = {"parentRefs": [_mesh_parent(draw)]}
        rules_ = draw(_GRPC_RULE_LISTS)
        if rules_ or draw(_BOOL):
            spec["rules"] = rules_
        objs.append({"apiVersion": draw(_pick([f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1alpha2"])),
                     "kind": "GRPCRoute", "metadata": meta, "spec": spec})
    if draw(_BOOL):
        objs += draw(route_sets())
    return objs


@st.composite
def grpc_requests(draw):
    return "POST", draw(_pick(GRPC_TARGETS)), draw(_HEADER_LISTS), draw(_pick(HOSTS))


@_settings("grpc")
@given(objs=grpc_route_sets(), reqs=st.lists(grpc_requests(), min_size=1, max_size=10),
       options=router_options, client=st.sampled_from([None, "team", "team-x", "default"]))
def test_mesh_grpc_twins_agree(objs, reqs, options, client):
    native, python = twins(objs, **options)
    compare(native.service("svc", namespace="default", port=80, client_namespace=client),
            python.service("svc", namespace="default", port=80, client_namespace=client), reqs)


# --- ReferenceGrants, Services, Namespaces, full Gateway listeners, SNI, mesh ports -----------------
#
# Gateway-attached routes (HTTPRoute and a few GRPCRoutes) reference backends and mirror targets in
# other namespaces; ReferenceGrants are built for some of those references, right or with one field
# off (grant namespace, from group/kind/namespace, to group/kind/name), v1 or v1beta1. Services are
# given half of the time (then a reference to a missing one is BackendNotFound). The Gateway has
# up to six listeners on ports 80 and 443 (HTTP, HTTPS, now and then TCP), hostnames None,
# "*.example.com", "a.example.com", "*.a.example.com", allowedRoutes Same/All/Selector (Namespace
# objects carry labels) and kinds; parentRefs carry sectionName and port, some matching nothing.
# Requests carry an SNI (often the Host's name, so that most are not misdirected).

BACKENDS = ["b1", "b2", "b3"]
LISTENER_HOSTNAMES_FULL = [None, "*.example.com", "a.example.com", "*.a.example.com"]
# a listener whose protocol conflicts with the others on its port (all of them are refused)
CONFLICTING_LISTENERS = [(80, "HTTPS", None), (80, "HTTPS", "a.example.com"), (80, "TCP", None),
                         (443, "HTTP", "*.a.example.com")]
GW_ROUTE_HOSTNAMES = ["a.example.com", "*.example.com", "b.a.example.com", "*.a.example.com",
                      "x.example.com", "other.org"]
# weighted towards hosts some listener takes
GW_HOSTS = (["a.example.com", "b.a.example.com", "x.example.com", "c.b.a.example.com"] * 3
            + [None, "A.Example.COM:443", "example.com", "a.example.com.", "other.org", "[::1]:443",
               b"b.a.example.com", "", ".a.example.com", "x." * 40 + "a.example.com",
               "\u00e4.a.example.com"])
SNIS = ["a.example.com", "b.a.example.com", "x.example.com", "other.org", "A.EXAMPLE.COM",
        "a.example.com.", "", b"a.example.com", "c.b.a.example.com", "example.com"]
NS_LABELS = [{}, {"env": "prod"}, {"env": "dev"}, {"env": "prod", "tier": "edge"}]
SELECTORS = [
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
]
ROUTE_KINDS = [[{"kind": "HTTPRoute"}], [{"kind": "GRPCRoute"}],
               [{"group": GATEWAY_GROUP, "kind": "HTTPRoute"}, {"kind": "GRPCRoute"}]]
GRANT_VERSIONS = [f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1beta1"]


def _one_of(draw, values):
    """A fresh copy of one of these (unhashable) values."""
    return copy.deepcopy(values[draw(_ints(0, len(values) - 1))])


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


def _services(draw, *, mesh_ports):
    """None (no Service objects: every backend resolves) or the Service objects: the mesh Service
    default/svc (ports named "http" 80 and, when the port names are drawn, "alt" 8080) and about
    3/4 of the backends b1..b3 in each namespace."""
    if draw(_BOOL):
        return None
    ports = [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 8080}]
    if mesh_ports and draw(_ints(0, 2)):
        ports[1]["name"] = "alt"
    out = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "default"},
            "spec": {"ports": ports}}]
    for ns in NAMESPACES:
        for b in BACKENDS:
            if draw(_ints(0, 3)):
                out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": b, "namespace": ns},
                            "spec": {"ports": [{"port": 80}, {"port": 8080}]}})
    return out


def _cross_refs(routes):
    """(route kind, route namespace, target namespace, target name) of every backendRef and mirror
    target that leaves its route's namespace."""
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
        grants.append({"apiVersion": draw(_pick(GRANT_VERSIONS)), "kind": "ReferenceGrant",
                       "metadata": {"name": f"g{i}", "namespace": to_ns}, "spec": spec})
    return grants


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


_LISTENER_HOST_LISTS = st.lists(st.sampled_from(LISTENER_HOSTNAMES_FULL), max_size=4, unique=True)
_GW_ROUTE_HOSTNAME_LISTS = st.lists(st.sampled_from(GW_ROUTE_HOSTNAMES), max_size=2, unique=True)


def _full_gateway_parents(draw, route_ns, listener_names):
    def ref(name="gw"):
        r = {"name": name}
        if route_ns != "default" or draw(_BOOL):
            r["namespace"] = "default"
        if draw(_BOOL):
            r.update(group=GATEWAY_GROUP, kind="Gateway")
        return r

    sections = listener_names + ["nope"]
    shape = draw(_ints(0, 9))
    if shape <= 5:  # one ref, maybe narrowed by sectionName and/or port
        r = ref()
        if draw(_ints(0, 2)) == 0:
            r["sectionName"] = draw(_pick(listener_names if draw(_ints(0, 5)) else ["nope"]))
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
    return [ref(), {"group": "", "kind": "Service", "name": "svc", "namespace": "default", "port": 80}]


@st.composite
def full_gateway_configs(draw):
    pool = [(80, "HTTP", h) for h in draw(_LISTENER_HOST_LISTS)]
    pool += [(443, "HTTPS", h) for h in draw(_LISTENER_HOST_LISTS)]
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
    gw = {"apiVersion": draw(_pick(GRANT_VERSIONS)), "kind": "Gateway",
          "metadata": {"name": "gw", "namespace": "default"},
          "spec": {"gatewayClassName": "gc", "listeners": listeners}}
    names = [l["name"] for l in listeners]
    routes = []
    with_grpc = draw(_ints(0, 3)) == 0  # an older GRPCRoute takes the hostnames it shares
    for ns, name in draw(_ROUTE_KEY_LISTS):
        grpc = with_grpc and draw(_ints(0, 2)) == 0
        meta = {"name": name, "namespace": ns}
        if draw(_BOOL):
            meta["creationTimestamp"] = draw(_pick(TIMESTAMPS))
        spec = {"parentRefs": _full_gateway_parents(draw, ns, names)}
        hosts = draw(_GW_ROUTE_HOSTNAME_LISTS) if draw(_BOOL) or grpc else None
        if hosts:
            spec["hostnames"] = hosts
        if grpc:
            rules_ = draw(_RICH_GRPC_RULE_LISTS)
            if rules_ or draw(_BOOL):
                spec["rules"] = rules_
            api = draw(_pick([f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1alpha2"]))
        else:
            spec["rules"] = draw(_RICH_RULE_LISTS[True])
            api = draw(_pick([f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1beta1"]))
        routes.append({"apiVersion": api, "kind": "GRPCRoute" if grpc else "HTTPRoute",
                       "metadata": meta, "spec": spec})
    objs = [gw] + routes + _reference_grants(draw, routes) + _namespaces(draw)
    objs += _services(draw, mesh_ports=False) or []
    ports = sorted({l["port"] for l in listeners})
    return objs, ports, any(r["kind"] == "GRPCRoute" for r in routes)


@st.composite
def sni_requests(draw, grpc=False):
    """(method, target, headers, host, sni): the SNI is absent, the Host's name, or another."""
    if grpc and draw(_BOOL):
        method, target = "POST", draw(_pick(GRPC_TARGETS))
    else:
        method, target = draw(_pick(["GET", "GET", "POST", b"GET"])), draw(_TARGETS)
    host = draw(_pick(GW_HOSTS))
    choice = draw(_ints(0, 3))
    if choice == 0:
        sni = None
    elif choice <= 2 and host is not None:
        sni = host  # a client sends the name it connects to
    else:
        sni = draw(_pick(SNIS))
    return method, target, draw(_HEADER_LISTS), host, sni


_SNI_REQUEST_LISTS = {g: st.lists(sni_requests(grpc=g), min_size=1, max_size=8) for g in (False, True)}


@st.composite
def full_gateway_cases(draw):
    objs, ports, grpc = draw(full_gateway_configs())
    return objs, ports, draw(_SNI_REQUEST_LISTS[grpc])


@_settings("gateway_full")
@given(case=full_gateway_cases(), options=router_options)
def test_gateway_grants_listeners_sni_twins_agree(case, options):
    objs, ports, reqs = case
    native, python = twins(objs, **options)
    for port in ports:
        note(f"Gateway port {port}")
        compare(native.gateway("gw", namespace="default", port=port),
                python.gateway("gw", namespace="default", port=port), reqs)


# mesh parents with and without port, with sectionName (Service port names), consumer routes


def _full_mesh_parents(draw, route_ns):
    def ref():
        r = {"group": "", "kind": "Service", "name": "svc"}
        if route_ns != "default" or draw(_BOOL):
            r["namespace"] = "default"
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
    return [ref(), {"group": "", "kind": "Service", "name": "other", "namespace": "default"}]


@st.composite
def full_mesh_configs(draw):
    routes = []
    for ns, name in draw(_ROUTE_KEY_LISTS):
        grpc = draw(_ints(0, 5)) == 0
        meta = {"name": name, "namespace": ns}
        if draw(_BOOL):
            meta["creationTimestamp"] = draw(_pick(TIMESTAMPS))
        spec = {"parentRefs": _full_mesh_parents(draw, ns)}
        if grpc:
            rules_ = draw(_RICH_GRPC_RULE_LISTS)
            if rules_ or draw(_BOOL):
                spec["rules"] = rules_
        else:
            spec["rules"] = draw(_RICH_RULE_LISTS[False])
        routes.append({"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "GRPCRoute" if grpc else "HTTPRoute",
                       "metadata": meta, "spec": spec})
    objs = routes + _namespaces(draw)
    if draw(_ints(0, 3)) == 0:  # grants change nothing for mesh backends
        objs += _reference_grants(draw, routes)
    objs += _services(draw, mesh_ports=True) or []
    return objs


_MESH_REQUEST_LISTS = st.lists(st.one_of(requests(), grpc_requests()), min_size=1, max_size=8)


@_settings("mesh_full")
@given(objs=full_mesh_configs(), reqs=_MESH_REQUEST_LISTS, options=router_options,
       clients=st.lists(st.sampled_from([None, "default", "team", "team-x", "elsewhere"]),
                        min_size=1, max_size=2, unique=True))
def test_mesh_ports_sections_consumers_twins_agree(objs, reqs, options, clients):
    native, python = twins(objs, **options)
    for port in (80, 8080):
        for client in clients:
            note(f"Service port {port}, client namespace {client!r}")
            compare(native.service("svc", namespace="default", port=port, client_namespace=client),
                    python.service("svc", namespace="default", port=port, client_namespace=client), reqs)


# --- the spec-literal oracle ---------------------------------------------------------------------

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


def _normalize_escapes(path):
    return _normalize(path, dots=False)


def _normalize(path, dots=True):
    """Percent-decode unreserved characters (RFC 3986 6.2.2.2), then remove dot-segments."""
    out, i = "", 0
    while i < len(path):
        esc = path[i + 1:i + 3]
        if path[i] == "%" and len(esc) == 2 and all(c in "0123456789abcdefABCDEF" for c in esc):
            ch = chr(int(esc, 16))
            out += ch if ch in _UNRESERVED else "%" + esc.upper()
            i += 3
        else:
            out += path[i]
            i += 1
    if not dots:
        return out
    return _remove_dot_segments(out) if out.startswith("/") else out


def _timestamp(text):
    text = text.upper().replace("Z", "+00:00")
    return _dt.datetime.fromisoformat(text).timestamp()


def spec_oracle(objs, client_namespace, method, target, headers, *, normalize, regex_before_prefix,
                merge_slashes=False):
    """(route "ns/name", rule index) the Gateway API spec selects for a mesh request to
    default/svc:80, or (None, None). Reads the dicts directly."""
    attached = []
    for o in objs:
        ns = o["metadata"].get("namespace", "default")
        for p in o["spec"].get("parentRefs", ()):
            if (p.get("group") == "" and p.get("kind") == "Service" and p["name"] == "svc"
                    and p.get("namespace", ns) == "default" and p.get("port", 80) == 80):
                attached.append(o)
                break
    consumer = [o for o in attached if o["metadata"]["namespace"] not in ("default", None)
                and o["metadata"]["namespace"] == client_namespace]
    routes = consumer or [o for o in attached if o["metadata"]["namespace"] == "default"]

    if isinstance(method, bytes):
        method = method.decode("latin-1")
    if target[:7].lower() == "http://" or target[:8].lower() == "https://":  # absolute-form
        rest = target.split("//", 1)[1]
        cut = min([i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i != -1] or [len(rest)])
        target = rest[cut:]
    target = target.split("#", 1)[0]
    path, _, query = target.partition("?")
    if not path:
        path = "/"
    if merge_slashes:  # before dot-segments, so "/a//../b" is "/b"
        path = re.sub("/+", "/", path) if not normalize else re.sub(
            "/+", "/", _normalize_escapes(path))
    if normalize:
        path = _normalize(path)
    hmap = {}
    for name, value in headers:
        name, value = name.lower(), value
        hmap[name] = value if name not in hmap else hmap[name] + "," + value
    qmap = {}
    for part in query.split("&") if query else ():
        if part:
            k, _, v = part.partition("=")
            qmap.setdefault(k, v)

    candidates = []
    for o in routes:
        meta = o["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        ts = meta.get("creationTimestamp")
        ts_key = (1, 0) if ts is None else (0, _timestamp(ts))
        for ri, rule in enumerate(o["spec"]["rules"]):
            for mi, m in enumerate(rule.get("matches") or [{}]):
                pm = m.get("path", {})
                ptype, pvalue = pm.get("type", "PathPrefix"), pm.get("value", "/")
                if ptype == "Exact":
                    rank = (0, 0)
                elif ptype == "PathPrefix":
                    rank = (2 if regex_before_prefix else 1, -len(pvalue.rstrip("/")))
                else:
                    rank = (1 if regex_before_prefix else 2, -len(pvalue))
                seen, hs = set(), []
                for h in m.get("headers", ()):
                    if h["name"].lower() not in seen:
                        seen.add(h["name"].lower())
                        hs.append(h)
                sort_key = rank + (0 if m.get("method") else 1, -len(hs), -len(m.get("queryParams", ())),
                                   ts_key, key, ri, mi)
                candidates.append((sort_key, key, ri, ptype, pvalue, m.get("method"), hs,
                                   m.get("queryParams", ())))
    candidates.sort(key=lambda c: c[0])

    def value_ok(cond, value):
        if value is None:
            return False
        if cond.get("type") == "RegularExpression":
            return re2.fullmatch(cond["value"], value) is not None
        return value == cond["value"]

    for _, key, ri, ptype, pvalue, m_method, hs, qs in candidates:
        if ptype == "Exact" and path != pvalue:
            continue
        if ptype == "PathPrefix":
            p = pvalue.rstrip("/")
            if not (path == p or path.startswith(p + "/")):
                continue
        if ptype == "RegularExpression" and re2.fullmatch(pvalue, path) is None:
            continue
        if m_method and m_method != method:
            continue
        if not all(value_ok(h, hmap.get(h["name"].lower())) for h in hs):
            continue
        if not all(value_ok(q, qmap.get(q["name"])) for q in qs):
            continue
        return key, ri
    return None, None


@_settings("oracle")
@given(objs=route_sets(simple=True), reqs=request_lists, options=router_options,
       client=st.sampled_from([None, "team", "team-x"]))
def test_mesh_twins_match_spec_oracle(objs, reqs, options, client):
    native, python = twins(objs, **options)
    views = [r.service("svc", namespace="default", port=80, client_namespace=client)
             for r in (native, python)]
    for i, (method, target, (form, pairs), host) in enumerate(reqs):
        expected = spec_oracle(objs, client, method, target, as_pairs(form, pairs),
                               normalize=options["normalize_path"],
                               merge_slashes=options["merge_slashes"],
                               regex_before_prefix=options["regex_precedence"] == "before-prefix")
        for view, twin in zip(views, ("native", "python")):
            d = view.route(method, target, materialize(form, pairs), host=host)
            got = (d.route, d.rule)
            if got != expected:
                note(f"request #{i}: {(method, target, pairs)!r}; {twin} twin: {got}, oracle: {expected}")
            assert got == expected, f"{twin} twin disagrees with the spec oracle on request #{i}"
            assert d.matched == (expected[0] is not None)
