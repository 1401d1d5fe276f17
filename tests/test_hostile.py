"""Hostile requests and hostile configurations, on both twins (issue 5, items 4 and 5).

Every request here gets a defined Decision (written next to it), returns (no timing is asserted:
the time of the adversarial cases is in bench/test_bench_redos.py), and gets the same decision
from the native core and the pure twin (``to_dict()`` compared).

Table (mesh Service default/svc:80, no catch-all, so "no rule" is a 404):

    rule 0  Exact /admin, PathPrefix /admin          -> admin
    rule 1  PathPrefix /public/                      -> public
    rule 2  RegularExpression /items/[0-9]+          -> items
    rule 3  PathPrefix /q, query a=1                 -> query
    rule 4  PathPrefix /h, header x-canary: true     -> canary
    rule 5  PathPrefix /h, header x-id =~ [0-9a-f]+  -> hexid
    rule 6  PathPrefix /lat1, header x-b =~ [^a-z]t[^a-z] (the latin-1 reading of bytes) -> latin1
"""
from __future__ import annotations

import pytest

import routecore
from routecore import _match

from builders import gateway_yaml, listener_yaml
from conftest import make_router

SVC = ("service", "svc", "default", 80)

CONFIG = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: Exact, value: /admin}}, {path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: admin, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /public/}}]
    backendRefs: [{name: public, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}}]
    backendRefs: [{name: items, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: a, value: "1"}]}]
    backendRefs: [{name: query, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /h}, headers: [{name: x-canary, value: "true"}]}]
    backendRefs: [{name: canary, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /h}, headers: [{type: RegularExpression, name: x-id, value: "[0-9a-f]+"}]}]
    backendRefs: [{name: hexid, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /lat1}, headers: [{type: RegularExpression, name: x-b, value: "[^a-z]t[^a-z]"}]}]
    backendRefs: [{name: latin1, port: 80}]
---""" + gateway_yaml(listener_yaml("shop", hostname="shop.example.com")) + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: infra}
spec:
  parentRefs: [{name: edge}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: shop, port: 80}]
"""

_ROUTERS = {}


def _router(native, **kw):
    key = (native, tuple(sorted(kw.items())))
    if key not in _ROUTERS:
        _ROUTERS[key] = make_router(CONFIG, native, **kw)
    return _ROUTERS[key]


def decide(twin, method, target, headers=(), view=SVC, router_kw=None, **route_kw):
    """The twin's Decision; asserts the pure twin's to_dict() is the same."""
    router_kw = router_kw or {}
    v = getattr(_router(twin, **router_kw), view[0])(*view[1:])
    d = v.route(method, target, headers, **route_kw)
    assert isinstance(d, (_match.PyDecision,) + ((_match.NativeDecision,) if _match.NativeDecision else ()))
    if twin:
        p = getattr(_router(False, **router_kw), view[0])(*view[1:])
        assert d.to_dict() == p.route(method, target, headers, **route_kw).to_dict(), \
            "native and python twins disagree"
    return d


def as_matched(twin, target, view=SVC):
    """The path and query the view matched for this target, from explain() (seen whether or not
    the request is forwarded)."""
    e = getattr(_router(twin), view[0])(*view[1:]).explain("GET", target)
    return e.path if e.query is None else f"{e.path}?{e.query}"


def check_upstream(twin, d, target, upstream):
    """``upstream`` is what was matched; it is also upstream_path when the request is forwarded,
    and a decision that forwards nothing has no upstream path."""
    assert as_matched(twin, target) == upstream
    assert d.upstream_path == (upstream if d.status is None else None)


def where(d):
    """backend name, or the status when nothing is forwarded."""
    return d.backend.name if d.backend is not None and d.status is None else d.status


# --- request-target forms --------------------------------------------------------------------------

@pytest.mark.parametrize("target,expected,upstream", [
    # asterisk-form and authority-form match no path rule: 404
    ("*", 404, "*"),
    ("example.com:443", 404, "example.com:443"),
    ("h:443", 404, "h:443"),
    # absolute-form: the path after the authority is routed, the authority is the Host
    ("http://h/admin", "admin", "/admin"),
    ("HTTPS://h:8443/public/x?y=1", "public", "/public/x?y=1"),
    ("http://h", 404, "/"),                   # no path: "/"
    ("http://h?a=1", 404, "/?a=1"),
    ("http://", 404, "/"),
    # empty path: "/"; a query only: "/" with the query
    ("", 404, "/"),
    ("?a=1", 404, "/?a=1"),
    ("#frag", 404, "/"),
    ("/admin#frag?x", "admin", "/admin"),   # the fragment is dropped
    # not origin-form, not absolute: kept as the path, matches nothing that starts with "/"
    ("admin", 404, "admin"),
    ("ftp://h/admin", 404, "ftp://h/admin"),
])
def test_target_forms(twin, target, expected, upstream):
    d = decide(twin, "GET", target)
    assert where(d) == expected
    check_upstream(twin, d, target, upstream)


def test_absolute_form_authority_is_the_host(twin):
    d = decide(twin, "GET", "http://shop.example.com/x", view=("gateway", "edge", "infra", 80))
    assert where(d) == "shop" and d.listener == "shop" and d.upstream_host == "shop.example.com"
    # no Host header and no authority: no listener has a hostname match: 404 without listener
    d = decide(twin, "GET", "/x", view=("gateway", "edge", "infra", 80))
    assert d.status == 404 and d.listener is None


def test_connect_and_options_asterisk(twin):
    assert decide(twin, "CONNECT", "h:443").status == 404
    assert decide(twin, "OPTIONS", "*").status == 404


# --- dot-segments, encodings, slashes --------------------------------------------------------------

# Every one of these resolves (RFC 3986 5.2.4, after decoding unreserved escapes) to "/admin":
# it must get exactly the decision "/admin" gets, and "/admin" must be what goes upstream.
TO_ADMIN = [
    "/public/../admin", "/public/./../admin", "/./admin", "/admin/.", "/../admin",
    "/public/../../../admin", "/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin",
    "/%61dmin", "/%61%64%6D%69%6E", "/x/y/z/../../../admin",
]


@pytest.mark.parametrize("target", TO_ADMIN)
def test_dot_segments_reach_only_what_the_resolved_path_reaches(twin, target):
    d = decide(twin, "GET", target)
    ref = decide(twin, "GET", "/admin" + ("/" if target.endswith("/.") else ""))
    assert d.to_dict()["route"] == ref.to_dict()["route"] and d.rule == ref.rule == 0
    assert where(d) == "admin"
    # exactly the resolved path (issue 11: this accepted either before)
    assert d.upstream_path == ("/admin/" if target.endswith("/.") else "/admin")


@pytest.mark.parametrize("target,expected,upstream", [
    # escaped slashes and backslashes are refused by default (escaped_slashes="reject"): several
    # upstream servers take them for separators (issue 11: these went to "public" unchanged)
    ("/admin%2Fx", 400, None),
    ("/public/..%2Fadmin", 400, None),
    ("/public/%2e%2e%2fadmin", 400, None),
    ("/public/%2e%2e%5cadmin", 400, None),
    ("/public\\..\\admin", 400, None),
    ("/public/a\\b", 400, None),
    # "..;" is ".." to servers that strip path parameters (Tomcat): refused
    ("/public/..;/admin", 400, None),
    ("/public/.;/admin", 400, None),
    ("/public/..;x/admin", 400, None),
    # a bad or truncated escape is malformed: refused (nginx answers 400 too)
    ("/public/%zz", 400, None),
    ("/public/%", 400, None),
    ("/public/%4", 400, None),
    # decoding never makes a new escape that a second decoding would turn into a dot-segment
    ("/public/%%32%65%%32%65/admin", 400, None),
    ("/public/%252e%252e/admin", "public", "/public/%252e%252e/admin"),
    # other reserved escapes stay encoded, upper-cased; a "." that is not a whole segment stays
    ("/public/a%3bb", "public", "/public/a%3Bb"),
    ("/public/..a/x", "public", "/public/..a/x"),
    # case matters in paths
    ("/ADMIN", 404, "/ADMIN"),
    # dot-segments past the root stop at the root
    ("/..", 404, "/"),
    ("/admin/..", 404, "/"),
    # percent-encoded non-ASCII UTF-8 is not unreserved: kept
    ("/public/%C3%A9", "public", "/public/%C3%A9"),
])
def test_encodings(twin, target, expected, upstream):
    d = decide(twin, "GET", target)
    assert where(d) == expected
    if upstream is None:  # refused: nothing is matched, nothing forwarded
        assert d.status == 400 and not d.matched and d.upstream_path is None
        assert decide(twin, "GET", target, [("content-type", "application/grpc")]).grpc_status == 3
    else:
        check_upstream(twin, d, target, upstream)
        # the decision for the path sent upstream is the same (a second hop agrees)
        again = decide(twin, "GET", d.upstream_path)
        assert where(again) == expected and again.upstream_path == d.upstream_path


@pytest.mark.parametrize("target,keep,unescape", [
    # keep: Envoy's KEEP_UNCHANGED (escaped slashes are ordinary characters of one segment);
    # unescape: Envoy's UNESCAPE_AND_FORWARD ("%2F", "%5C" and "\\" become "/" before dot-segments)
    ("/public/..%2Fadmin", ("public", "/public/..%2Fadmin"), ("admin", "/admin")),
    ("/public/%2e%2e%5Cadmin", ("public", "/public/..%5Cadmin"), ("admin", "/admin")),
    ("/public\\..\\admin", (404, None), ("admin", "/admin")),
    ("/admin%2Fx", (404, None), ("admin", "/admin/x")),
])
def test_escaped_slashes_options(twin, target, keep, unescape):
    for action, (expected, upstream) in (("keep", keep), ("unescape", unescape)):
        d = decide(twin, "GET", target, router_kw={"escaped_slashes": action})
        assert (where(d), d.upstream_path) == (expected, upstream), action


def test_escaped_slashes_option_is_checked():
    with pytest.raises(ValueError, match="escaped_slashes"):
        routecore.Router(routecore.load(CONFIG), escaped_slashes="UNESCAPE")


@pytest.mark.parametrize("target,default,merged", [
    # without merge_slashes "//admin" is matched as received: no rule; with it, "/admin"
    ("//admin", 404, "admin"),
    ("/public/..//admin", 404, "admin"),
    ("///admin///", 404, "admin"),
    ("/public//x", "public", "public"),
])
def test_merge_slashes(twin, target, default, merged):
    assert where(decide(twin, "GET", target)) == default
    d = decide(twin, "GET", target, router_kw={"merge_slashes": True})
    assert where(d) == merged
    if merged == "admin":  # exactly the merged, resolved path (issue 11: either was accepted)
        assert d.upstream_path == ("/admin/" if target.endswith("/") else "/admin")


def test_empty_segment_and_dot_dot_without_merge_slashes(twin):
    """"/public//../admin": ".." removes the empty segment, so the decision is made on, and the
    upstream gets, "/public/admin" (an upstream that merges slashes in the raw target would
    have reached "/admin": it never sees the raw target)."""
    d = decide(twin, "GET", "/public//../admin")
    assert (where(d), d.upstream_path) == ("public", "/public/admin")
    d = decide(twin, "GET", "/public/x//../../admin")
    assert (where(d), d.upstream_path) == ("public", "/public/admin")


def test_without_normalize_path_the_path_is_matched_as_received(twin):
    kw = {"normalize_path": False}
    d = decide(twin, "GET", "/public/../admin", router_kw=kw)
    assert where(d) == "public" and d.upstream_path == "/public/../admin"
    assert where(decide(twin, "GET", "/%61dmin", router_kw=kw)) == 404


# --- bytes, NUL and control characters --------------------------------------------------------------

@pytest.mark.parametrize("target,expected", [
    ("/admin\x00", 404),          # NUL is an ordinary character: "/admin\x00" is not "/admin"
    ("/admin/\x00", "admin"),
    ("/\x00admin", 404),
    ("/admin\r\nX-Injected: 1", 404),
    ("/admin/\r\n", "admin"),
    ("/admin\t", 404),
    ("/public/\x7f\x1b[31m", "public"),
    ("/items/\x00", 404),         # regexes match the whole value
    (b"/admin/\xff\xfe", "admin"),  # bytes are read as latin-1
    (b"/public/\xc3\x28", "public"),
    (b"/admin", "admin"),
    (bytearray(b"/admin"), "admin"),
    (memoryview(b"/admin"), "admin"),
    ("/public/\u00e9\u4e2d\U0001f600", "public"),
])
def test_control_and_non_utf8_targets(twin, target, expected):
    assert where(decide(twin, "GET", target)) == expected


@pytest.mark.parametrize("method", ["get", "G\x00T", "", b"GET", b"\xff", "GET " * 1000])
def test_odd_methods(twin, method):
    # no rule has a method match: every method reaches the rule the path selects
    assert where(decide(twin, method, "/admin")) == "admin"


def test_bytes_headers(twin):
    # names in any case, bytes or str; values read as latin-1
    assert where(decide(twin, "GET", "/h", [(b"X-Canary", b"true")])) == "canary"
    assert where(decide(twin, "GET", "/h", [(b"x-canary", b"tru\xff")])) == 404
    assert where(decide(twin, "GET", "/lat1", [(b"x-b", b"\xe9t\xe9")])) == "latin1"
    assert where(decide(twin, "GET", "/lat1", [("x-b", "\xe9t\xe9")])) == "latin1"
    # UTF-8 bytes of the same text are 2 latin-1 characters each: no match
    assert where(decide(twin, "GET", "/lat1", [(b"x-b", "\xe9t\xe9".encode())])) == 404
    # invalid UTF-8 is no problem: every byte is one latin-1 character
    assert where(decide(twin, "GET", "/lat1", [(b"x-b", b"\xfft\x80")])) == "latin1"
    assert where(decide(twin, "GET", "/h", [(b"x-id", b"\x00\xff")])) == 404
    assert where(decide(twin, "GET", "/h", [(b"x-canary\x00", b"true")])) == 404
    assert where(decide(twin, "GET", "/h", {b"X-ID": b"abc"})) == "hexid"


def test_header_value_with_nul_and_crlf(twin):
    assert where(decide(twin, "GET", "/h", [("x-canary", "true\x00")])) == 404
    assert where(decide(twin, "GET", "/h", [("x-canary", "true\r\nx-id: 1")])) == 404
    assert where(decide(twin, "GET", "/h", [("x-id", "abc\n")])) == 404


@pytest.mark.parametrize("target,headers", [
    ("/items/1\ud800", ()),
    ("/h", [("x-id", "ab\udcff")]),
])
def test_lone_surrogates_get_a_decision(twin, target, headers):
    # no regex can match a value that is not valid text: 404, on both twins
    assert where(decide(twin, "GET", target, headers)) == 404


def test_lone_surrogate_without_regex_candidates(twin):
    # no regex is consulted on this path: a plain decision
    assert where(decide(twin, "GET", "/admin/\ud800")) == "admin"
    assert where(decide(twin, "GET", "/h", [("x-canary", "\udcff")])) == 404


# --- sizes -------------------------------------------------------------------------------------------

def test_64k_header_values(twin):
    big = "t" * 65536
    assert where(decide(twin, "GET", "/h", [("x-canary", big)])) == 404
    assert where(decide(twin, "GET", "/h", [("x-id", "a" * 65536)])) == "hexid"
    assert where(decide(twin, "GET", "/h", [("x-id", "a" * 65535 + "g")])) == 404
    assert where(decide(twin, "GET", "/h", [(b"x-canary", big.encode())])) == 404
    # a 64 KB header the table does not reference is never read
    assert where(decide(twin, "GET", "/admin", [("x-other", big)])) == "admin"


def test_64k_host_and_path(twin):
    gw = ("gateway", "edge", "infra", 80)
    assert decide(twin, "GET", "/", host="a." * 32768 + "shop.example.com", view=gw).status == 404
    assert decide(twin, "GET", "/", host="shop.example.com:" + "9" * 65536, view=gw).listener == "shop"
    assert where(decide(twin, "GET", "/public/" + "a/" * 32768)) == "public"
    assert where(decide(twin, "GET", "/items/" + "1" * 65536)) == "items"
    assert where(decide(twin, "GET", "/public/" + "../" * 20000 + "admin")) == "admin"
    assert where(decide(twin, "GET", "/" + "%2e%2e/" * 10000 + "admin")) == "admin"


@pytest.mark.parametrize("shape", ["list", "dict", "bytes"])
def test_10000_headers(twin, shape):
    headers = [(f"x-h{i}", str(i)) for i in range(10000)] + [("x-canary", "true")]
    if shape == "dict":
        headers = dict(headers)
    elif shape == "bytes":
        headers = [(n.encode(), v.encode()) for n, v in headers]
    assert where(decide(twin, "GET", "/h", headers)) == "canary"


def test_10000_repeats_of_one_header_are_joined(twin):
    # repeated headers are matched on their values joined with ","
    headers = [("x-canary", "true")] * 10000
    assert where(decide(twin, "GET", "/h", headers)) == 404
    headers = [("x-id", "ab")] * 10000
    assert where(decide(twin, "GET", "/h", headers)) == 404  # "ab,ab,..." is not [0-9a-f]+


def test_10000_query_parameters(twin):
    many = "&".join(f"p{i}=x" for i in range(10000))
    assert where(decide(twin, "GET", "/q?" + many + "&a=1")) == "query"
    assert where(decide(twin, "GET", "/q?" + many)) == 404
    # a repeated parameter is matched on its first value
    assert where(decide(twin, "GET", "/q?" + "&".join(["a=1"] + ["a=2"] * 9999))) == "query"
    assert where(decide(twin, "GET", "/q?" + "&".join(["a=2"] * 9999 + ["a=1"]))) == 404
    assert where(decide(twin, "GET", "/q?" + "&" * 10000 + "a=1")) == "query"
    assert where(decide(twin, "GET", "/q?" + "=" * 10000)) == 404


# --- hostile configurations --------------------------------------------------------------------------

REDOS = ["(a+)+$", "(x|x)*y", "(.*a){20}", "(a|aa)+b", "(a*)*b", "([a-z]+)*[0-9]"]


def _redos_config(patterns):
    rules = []
    for i, rx in enumerate(patterns):
        rules.append({"matches": [{"path": {"type": "PathPrefix", "value": f"/h{i}"},
                                   "headers": [{"type": "RegularExpression", "name": "x-v", "value": rx}]},
                                  {"path": {"type": "RegularExpression", "value": f"/p{i}/{rx}"}}],
                      "backendRefs": [{"name": f"b{i}", "port": 80}]})
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "redos", "namespace": "default"},
            "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 80}],
                     "rules": rules}}


@pytest.fixture(scope="module")
def redos_views():
    cfg = routecore.load(_redos_config(REDOS))
    out = {False: routecore.Router(cfg, native=False, seed=1).service("svc")}
    if _match.NativeTable is not None:
        out[True] = routecore.Router(cfg, native=True, seed=1).service("svc")
    return out


ADVERSARIAL = {
    "(a+)+$": "a" * 100_000 + "!",
    "(x|x)*y": "x" * 100_000,
    "(.*a){20}": "a" * 19 + "b" * 100_000,
    "(a|aa)+b": "a" * 100_000,
    "(a*)*b": "a" * 100_000,
    "([a-z]+)*[0-9]": "a" * 100_000 + "!",
}


@pytest.mark.parametrize("i,rx", list(enumerate(REDOS)), ids=REDOS)
def test_catastrophic_regexes_return(twin, redos_views, i, rx):
    """Backtracking engines take exponential time on these; RE2 is linear. Only returning is
    asserted (bench/test_bench_redos.py has the time). Every one of them is a near miss: 404."""
    view = redos_views[twin]
    evil = ADVERSARIAL[rx]
    d = view.route("GET", f"/h{i}", [("x-v", evil)])
    assert d.status == 404
    d2 = view.route("GET", f"/p{i}/" + evil)
    assert d2.status == 404
    if twin:
        py = redos_views[False]
        assert d.to_dict() == py.route("GET", f"/h{i}", [("x-v", evil)]).to_dict()
        assert d2.to_dict() == py.route("GET", f"/p{i}/" + evil).to_dict()
    # and a hit still hits
    hit = {"(a+)+$": "aaa", "(x|x)*y": "xxy", "(.*a){20}": "a" * 20, "(a|aa)+b": "aab",
           "(a*)*b": "aab", "([a-z]+)*[0-9]": "ab1"}[rx]
    assert view.route("GET", f"/h{i}", [("x-v", hit)]).backend.name == f"b{i}"


@pytest.mark.parametrize("field,rx,path", [
    ("path", "/(a)\\1", "spec.rules[0].matches[0].path.value"),
    ("path", "/(?=x)", "spec.rules[0].matches[0].path.value"),
    ("path", "/(?<=x)a", "spec.rules[0].matches[0].path.value"),
    ("path", "/(?!x)", "spec.rules[0].matches[0].path.value"),
    ("path", "/(?<!x)a", "spec.rules[0].matches[0].path.value"),
    ("path", "/a++", "spec.rules[0].matches[0].path.value"),   # possessive quantifier
    ("path", "/(?>a)", "spec.rules[0].matches[0].path.value"),  # atomic group
    ("header", "(a)\\1", "spec.rules[0].matches[0].headers[0].value"),
    ("header", "(?=x)", "spec.rules[0].matches[0].headers[0].value"),
    ("header", "(?<!x)y", "spec.rules[0].matches[0].headers[0].value"),
    ("query", "(?<=x)a", "spec.rules[0].matches[0].queryParams[0].value"),
    ("query", "(b)\\1", "spec.rules[0].matches[0].queryParams[0].value"),
])
def test_re2_incompatible_regex_is_a_config_error_naming_the_field(field, rx, path):
    match = {"path": {"type": "PathPrefix", "value": "/"}}
    if field == "path":
        match = {"path": {"type": "RegularExpression", "value": rx}}
    elif field == "header":
        match["headers"] = [{"type": "RegularExpression", "name": "x", "value": rx}]
    else:
        match["queryParams"] = [{"type": "RegularExpression", "name": "q", "value": rx}]
    obj = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
           "metadata": {"name": "r", "namespace": "default"},
           "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 80}],
                    "rules": [{"matches": [match], "backendRefs": [{"name": "a", "port": 80}]}]}}
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load(obj)
    issues = err.value.errors
    assert [i.path for i in issues] == [path]
    assert "RE2" in issues[0].message and issues[0].kind == "HTTPRoute" and issues[0].name == "r"
    assert f"HTTPRoute default/r: {path}: " in str(err.value)
    # not strict: the route (its only rule is invalid) is left out and reported; the mesh
    # Service then has no route and requests go to the Service itself
    cfg = routecore.load(obj, strict=False)
    d = routecore.Router(cfg).service("svc").route("GET", "/")
    assert not d.matched and d.status is None and d.backend.name == "svc"


@pytest.mark.parametrize("which,rx", [("service", "(?=x)"), ("method", "(a)\\1")])
def test_re2_incompatible_grpc_method_regex(which, rx):
    mm = {"type": "RegularExpression", "service": "pkg.S", "method": "M", which: rx}
    obj = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
           "metadata": {"name": "g", "namespace": "default"},
           "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 80}],
                    "rules": [{"matches": [{"method": mm}]}]}}
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load(obj)
    assert [i.path for i in err.value.errors] == [f"spec.rules[0].matches[0].method.{which}"]


def ten_thousand_routes(n=10_000):
    """n HTTPRoutes on one Service mixing Exact / PathPrefix / regex paths and regex header
    matches: bench/workloads.py's ``mixed_routes`` (the bench loads and compiles the same set)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "bench" / "workloads.py"
    spec = importlib.util.spec_from_file_location("routecore_bench_workloads", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mixed_routes(n)


@pytest.fixture(scope="module")
def big_config():
    return routecore.load(ten_thousand_routes())


def test_10000_route_config_loads_and_compiles(twin, big_config):
    assert len(big_config.routes) == 10_000
    view = routecore.Router(big_config, native=twin, seed=1).service("svc")
    assert view.route("GET", "/r9996").backend.name == "b9996"
    assert view.route("GET", "/r9997/x").backend.name == "b9997"
    assert view.route("GET", "/r9998/123").backend.name == "b9998"
    assert view.route("GET", "/r9999", [("x-v", "a" * 100_000 + "!")]).status == 404
    assert view.route("GET", "/nope").status == 404


# --- the native core's overflow paths --------------------------------------------------------------

def test_many_slash_boundaries_and_host_labels_agree():
    """The native core hashes at most 64 path prefixes and 32 host-label suffixes in its fast
    pass, and falls back to hashing on demand beyond: paths with up to 120 "/"-boundaries (100
    prefix lengths in the table) and hosts with up to 60 labels get the pure twin's decisions."""
    import random

    if _match.NativeTable is None:
        pytest.skip("native extension not available")
    g = "gateway.networking.k8s.io/v1"
    prefixes = ["/a" * d for d in range(1, 101)] + ["/b" * d for d in range(1, 50, 3)]
    rng = random.Random(3)
    for hostnames, listener_host in [(None, None), (["*.x.com"], None), (["*.c.b.a"], "*.a"),
                                     (["a." * 40 + "com"], None)]:
        lis = {"name": "l", "port": 80, "protocol": "HTTP"}
        if listener_host:
            lis["hostname"] = listener_host
        objs = [{"apiVersion": g, "kind": "Gateway", "metadata": {"name": "gw", "namespace": "default"},
                 "spec": {"gatewayClassName": "x", "listeners": [lis]}}]
        rules = [{"matches": [{"path": {"type": "PathPrefix", "value": p}}],
                  "backendRefs": [{"name": f"b{i}", "port": 80}]} for i, p in enumerate(prefixes)]
        for k in range(0, len(rules), 16):
            spec = {"parentRefs": [{"name": "gw"}], "rules": rules[k:k + 16]}
            if hostnames:
                spec["hostnames"] = hostnames
            objs.append({"apiVersion": g, "kind": "HTTPRoute",
                         "metadata": {"name": f"r{k}", "namespace": "default"}, "spec": spec})
        cfg = routecore.load(objs)
        py, nat = (routecore.Router(cfg, native=n, seed=1).gateway("gw") for n in (False, True))
        for _ in range(300):
            path = "".join(rng.choice(["/a", "/b", "/", "/a/", "/aa", "/.."])
                           for _ in range(rng.randrange(0, 120)))
            if rng.random() < 0.3:
                path += "?q=1"
            host = ".".join(rng.choice(["a", "b", "c", "x", "com"]) for _ in range(rng.randrange(0, 60)))
            host += rng.choice(["", ".x.com", ".c.b.a", ".com"])
            if hostnames and hostnames[0].startswith("a.") and rng.random() < 0.3:
                host = "a." * 40 + "com"
            assert nat.route("GET", path, host=host).to_dict() == py.route("GET", path, host=host).to_dict(), \
                (path, host)
