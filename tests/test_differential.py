"""Differential tests: the native twin, the pure-Python twin and a spec-literal oracle agree.

Hypothesis builds valid route sets as users write them (dicts) over small alphabets, so paths,
header names and precedence keys collide often, then sends the same request sequence to
``Router(..., native=True)`` and ``Router(..., native=False)`` (same seed, so weighted choices
agree) and compares every public attribute of every Decision, in order.

A third oracle, ``spec_oracle`` below, reads the Gateway API precedence rules literally (it uses
no routecore internals) and checks the (route, rule) both twins select for mesh configurations
without weights or filters.

Profiles: "ci" (default; Hypothesis' built-in "ci" profile when it exists, which derandomizes, so
CI runs the same 2600 examples every time) and "long" (20000 examples per test, random):
HYPOTHESIS_PROFILE=long.
"""
from __future__ import annotations

import datetime as _dt
import os

import pytest
import re2
from hypothesis import HealthCheck, assume, note, settings, strategies as st
from hypothesis import given
from hypothesis.errors import InvalidArgument

import routecore
from routecore import _impl

# --- profiles ------------------------------------------------------------------------------------

_CI_EXAMPLES = {"mesh": 800, "gateway": 700, "oracle": 700, "grpc": 400}  # 2600 in all


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
def rules(draw, *, simple, gateway):
    """One HTTPRoute rule. simple: one backendRef, no weight, no filters (the oracle's domain)."""
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
            if gateway and draw(_ints(0, 5)) == 0:
                ref["namespace"] = draw(_pick(NAMESPACES))  # maybe RefNotPermitted
            if draw(_ints(0, 5)) == 0:
                ref["filters"] = [{"type": "RequestHeaderModifier",
                                   "requestHeaderModifier": _header_modifier(draw)}]
            refs.append(ref)
        if refs:
            rule["backendRefs"] = refs
    return rule


_RULE_LISTS = {(simple, gateway): st.lists(rules(simple=simple, gateway=gateway), min_size=1, max_size=4)
               for simple in (False, True) for gateway in (False, True)}


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
})


# --- running both twins --------------------------------------------------------------------------

def outcome(view, req):
    """Everything observable about one call, or the exception it raised."""
    method, target, (form, pairs), host = req
    try:
        d = view.route(method, target, materialize(form, pairs), host=host)
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
def grpc_rules(draw):
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
        refs.append(ref)
    if refs:
        rule["backendRefs"] = refs
    return rule


_GRPC_RULE_LISTS = st.lists(grpc_rules(), max_size=4)


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


def _normalize(path):
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
    return _remove_dot_segments(out) if out.startswith("/") else out


def _timestamp(text):
    text = text.upper().replace("Z", "+00:00")
    return _dt.datetime.fromisoformat(text).timestamp()


def spec_oracle(objs, client_namespace, method, target, headers, *, normalize, regex_before_prefix):
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
                               regex_before_prefix=options["regex_precedence"] == "before-prefix")
        for view, twin in zip(views, ("native", "python")):
            d = view.route(method, target, materialize(form, pairs), host=host)
            got = (d.route, d.rule)
            if got != expected:
                note(f"request #{i}: {(method, target, pairs)!r}; {twin} twin: {got}, oracle: {expected}")
            assert got == expected, f"{twin} twin disagrees with the spec oracle on request #{i}"
            assert d.matched == (expected[0] is not None)
