"""What a selected rule does: redirects, rewrites, header modifiers, backends, mirrors,
timeouts, gRPC answers, mesh defaults (semantics digest §5, §6, §7, §9, §10 and api.md).

Every test runs on both twins (``twin`` fixture).
"""
from collections import Counter

import pytest

import routecore
from routecore import _match
from conftest import make_router

GW = "gateway.networking.k8s.io/v1"
GW_PARENT = {"name": "edge", "namespace": "infra"}
MESH_PARENT = {"group": "", "kind": "Service", "name": "svc", "port": 80}


def gateway_obj(listeners=None):
    return {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "edge", "namespace": "infra"},
            "spec": {"gatewayClassName": "routecore", "listeners": listeners or [
                {"name": "web", "port": 80, "protocol": "HTTP",
                 "allowedRoutes": {"namespaces": {"from": "All"}}},
                {"name": "alt", "port": 8080, "protocol": "HTTP",
                 "allowedRoutes": {"namespaces": {"from": "All"}}}]}}


def route(rules, *, name="r", ns="default", parent=None, hostnames=None, created="2024-01-01T00:00:00Z"):
    spec = {"parentRefs": [parent or GW_PARENT]}
    if rules is not None:
        spec["rules"] = rules
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": GW, "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": created}, "spec": spec}


def prefix(value):
    return {"path": {"type": "PathPrefix", "value": value}}


def gw_view(objs, twin, port=80, **kw):
    return make_router([gateway_obj()] + list(objs), twin, **kw).gateway("edge", "infra", port)


def mesh_view(objs, twin, client_namespace=None, **kw):
    return make_router(list(objs), twin, **kw).service("svc", "default", 80, client_namespace)


def redirect_rule(match="/", **redirect):
    return {"matches": [prefix(match)],
            "filters": [{"type": "RequestRedirect", "requestRedirect": redirect}]}


def joined(pairs, name):
    """All values of a header (case-insensitive) joined with ',' in order, or None."""
    vals = [v for n, v in pairs if n.lower() == name.lower()]
    return ",".join(vals) if vals else None


# --- redirects (§5.2) --------------------------------------------------------------------------

@pytest.mark.parametrize("redirect,port,host,scheme,expected", [
    ({"hostname": "x"}, 8080, "shop.example.com:8080", None, "http://x:8080/p/q?a=1"),
    ({"hostname": "x"}, 80, "shop.example.com", None, "http://x/p/q?a=1"),
    ({"hostname": "x", "scheme": "https"}, 8080, "shop.example.com:8080", None, "https://x/p/q?a=1"),
    ({"hostname": "x", "scheme": "http"}, 8080, "shop.example.com:8080", None, "http://x/p/q?a=1"),
    ({"hostname": "x", "scheme": "https", "port": 8443}, 8080, "s", None, "https://x:8443/p/q?a=1"),
    ({"hostname": "x", "scheme": "https", "port": 443}, 8080, "s", None, "https://x/p/q?a=1"),
    ({"hostname": "x", "port": 80}, 8080, "s", None, "http://x/p/q?a=1"),
    ({"hostname": "x", "port": 9000}, 80, "s", None, "http://x:9000/p/q?a=1"),
    ({}, 8080, "shop.example.com:8080", None, "http://shop.example.com:8080/p/q?a=1"),
    ({}, 80, "Shop.example.com", None, "http://shop.example.com/p/q?a=1"),
    ({"scheme": "https"}, 80, "shop.example.com", None, "https://shop.example.com/p/q?a=1"),
    ({"hostname": "x"}, 8080, "s", "https", "https://x:8080/p/q?a=1"),
    ({"port": 443}, 80, "s.example.com", "https", "https://s.example.com/p/q?a=1"),
])
def test_redirect_scheme_host_port(twin, twins_agree, redirect, port, host, scheme, expected):
    objs = [route([redirect_rule(**redirect)])]
    d = gw_view(objs, twin, port=port).route("GET", "/p/q?a=1", host=host, scheme=scheme)
    assert d.status == 302 and d.matched and d.backend is None
    if expected.startswith("http://shop.example.com/") and host == "Shop.example.com":
        # Host case is not specified for the Location; compare case-insensitively
        assert d.location.lower() == expected
    else:
        assert d.location == expected
    twins_agree([gateway_obj()] + objs, ("gateway", "edge", "infra", port), "GET", "/p/q?a=1",
                host=host, scheme=scheme)


def test_redirect_replace_full_path_keeps_query(twin):
    objs = [route([redirect_rule("/old", statusCode=301,
                                 path={"type": "ReplaceFullPath", "replaceFullPath": "/new"})])]
    d = gw_view(objs, twin).route("GET", "/old/deep/page?x=1&y=2", host="a.example.com")
    assert (d.status, d.location) == (301, "http://a.example.com/new?x=1&y=2")


@pytest.mark.parametrize("path,expected", [
    ("/old", "/new"), ("/old/", "/new/"), ("/old/page", "/new/page"), ("/old/a/b?x=1", "/new/a/b?x=1"),
])
def test_redirect_replace_prefix_match(twin, path, expected):
    objs = [route([redirect_rule("/old", path={"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"})])]
    d = gw_view(objs, twin).route("GET", path, host="a.example.com")
    assert d.location == "http://a.example.com" + expected


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_status_codes(twin, code):
    objs = [route([redirect_rule(hostname="x", statusCode=code)])]
    d = gw_view(objs, twin).route("POST", "/a?b", host="h")
    assert d.status == code and d.location == "http://x/a?b" and d.matched


def test_redirect_default_status_is_302_and_empty_redirect_same_url(twin):
    d = gw_view([route([redirect_rule()])], twin).route("GET", "/same?q=1", host="h.example.com")
    assert d.status == 302 and d.location == "http://h.example.com/same?q=1"


def test_no_location_when_not_redirect(twin):
    d = gw_view([route([{"backendRefs": [{"name": "b", "port": 80}]}])], twin).route("GET", "/", host="h")
    assert d.status is None and d.location is None


# --- URLRewrite (§5.3) -------------------------------------------------------------------------

@pytest.mark.parametrize("match,replacement,request_path,expected", [
    ("/foo", "/xyz", "/foo/bar", "/xyz/bar"),
    ("/foo", "/xyz/", "/foo/bar", "/xyz/bar"),
    ("/foo", "", "/foo/bar", "/bar"),
    ("/foo", "/xyz", "/foo", "/xyz"),
    ("/foo", "", "/foo", "/"),
    ("/foo", "/", "/foo", "/"),
    ("/foo", "/xyz", "/foo/", "/xyz/"),
    ("/foo", "", "/foo/", "/"),
    ("/foo", "/", "/foo/", "/"),
    ("/strip-prefix", "/", "/strip-prefix/three", "/three"),
    ("/foo/", "/xyz", "/foo/bar", "/xyz/bar"),        # trailing slash on the match is ignored
    ("/foo", "/xyz", "/foo/bar?q=1&r", "/xyz/bar?q=1&r"),  # query kept
    ("/foo", "/xyz/", "/foo", "/xyz"),                # equivalent rule: replacement w/o trailing '/'
    ("/", "/new", "/x/y", "/new/x/y"),
    ("/", "/", "/x", "/x"),
    ("/foo", "/xyz", "/foo/bar/../baz", "/xyz/baz"),  # rewrite applies to the normalised path
])
def test_rewrite_replace_prefix_match(twin, twins_agree, match, replacement, request_path, expected):
    objs = [route([{"matches": [prefix(match)],
                    "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {
                        "type": "ReplacePrefixMatch", "replacePrefixMatch": replacement}}}],
                    "backendRefs": [{"name": "b", "port": 80}]}])]
    d = gw_view(objs, twin).route("GET", request_path, host="h")
    assert d.status is None and d.backend.name == "b"
    assert d.upstream_path == expected
    twins_agree([gateway_obj()] + objs, ("gateway", "edge", "infra", 80), "GET", request_path, host="h")


def test_rewrite_replace_full_path_and_hostname(twin):
    objs = [route([{"matches": [prefix("/api")],
                    "filters": [{"type": "URLRewrite", "urlRewrite": {
                        "hostname": "internal.svc", "path": {"type": "ReplaceFullPath", "replaceFullPath": "/v2"}}}],
                    "backendRefs": [{"name": "b", "port": 80}]}])]
    d = gw_view(objs, twin).route("GET", "/api/x/y?k=v", host="shop.example.com:8080")
    assert d.upstream_path == "/v2?k=v"
    assert d.upstream_host == "internal.svc"


def test_upstream_host_unchanged_without_rewrite(twin):
    objs = [route([{"backendRefs": [{"name": "b", "port": 80}]}])]
    v = gw_view(objs, twin)
    d = v.route("GET", "/a?b=c", [("Host", "Shop.Example.com:1234")])
    assert d.upstream_host == "Shop.Example.com:1234" and d.upstream_path == "/a?b=c"


def test_backend_ref_level_rewrite(twin):
    objs = [route([{"backendRefs": [{"name": "b", "port": 80, "filters": [
        {"type": "URLRewrite", "urlRewrite": {"hostname": "be.internal"}}]}]}])]
    d = gw_view(objs, twin).route("GET", "/a", host="h")
    assert d.upstream_host == "be.internal" and d.upstream_path == "/a"


# --- header modifiers (§5.1) -------------------------------------------------------------------

HEADER_RULE = {
    "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
        "set": [{"name": "X-Set", "value": "new"}, {"name": "X-Order", "value": "rule"}],
        "add": [{"name": "X-Add", "value": "2"}, {"name": "X-Trace", "value": "r"}],
        "remove": ["X-Remove", "x-gone"]}},
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {
            "set": [{"name": "Cache-Control", "value": "no-store"}],
            "add": [{"name": "X-Resp", "value": "rule"}],
            "remove": ["server"]}}],
    "backendRefs": [{"name": "b", "port": 80, "filters": [
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {
            "set": [{"name": "x-order", "value": "backend"}],
            "add": [{"name": "X-Trace", "value": "b"}, {"name": "X-Gone", "value": "back"}]}},
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {
            "add": [{"name": "x-resp", "value": "backend"}]}}]}],
}


def test_request_header_modifier_set_add_remove(twin):
    d = mesh_view([route([HEADER_RULE], parent=MESH_PARENT)], twin).route("GET", "/")
    out = d.apply_request_headers([("x-set", "old1"), ("X-SET", "old2"), ("x-add", "1"),
                                   ("x-remove", "z"), ("X-Keep", "k"), ("X-Gone", "old")])
    assert all(isinstance(n, str) and isinstance(v, str) for n, v in out)
    assert joined(out, "x-set") == "new"
    assert joined(out, "x-add") == "1,2"
    assert joined(out, "x-remove") is None
    assert joined(out, "x-keep") == "k"


def test_request_header_modifier_rule_then_backend(twin):
    d = mesh_view([route([HEADER_RULE], parent=MESH_PARENT)], twin).route("GET", "/")
    out = d.apply_request_headers([("x-order", "client"), ("X-Gone", "old")])
    assert joined(out, "x-order") == "backend"
    assert joined(out, "x-trace") == "r,b"
    assert joined(out, "x-gone") == "back"  # removed by the rule, then added by the backendRef


def test_request_header_modifier_accepts_bytes_and_dict(twin):
    d = mesh_view([route([HEADER_RULE], parent=MESH_PARENT)], twin).route("GET", "/")
    out = d.apply_request_headers([(b"X-Set", b"old"), (b"x-keep", b"k")])
    assert joined(out, "x-set") == "new" and joined(out, "x-keep") == "k"
    out = d.apply_request_headers({"x-add": "1"})
    assert joined(out, "x-add") == "1,2"


def test_response_header_modifier(twin):
    d = mesh_view([route([HEADER_RULE], parent=MESH_PARENT)], twin).route("GET", "/")
    out = d.apply_response_headers([("Server", "nginx"), ("cache-control", "max-age=60"),
                                    ("Content-Type", "text/plain")])
    assert joined(out, "server") is None
    assert joined(out, "cache-control") == "no-store"
    assert joined(out, "x-resp") == "rule,backend"
    assert joined(out, "content-type") == "text/plain"
    # request modifiers do not leak into responses and vice versa
    assert joined(out, "x-set") is None
    assert joined(d.apply_request_headers([]), "x-resp") is None


def test_no_modifiers_passes_headers_through(twin):
    d = mesh_view([route([{"backendRefs": [{"name": "b", "port": 80}]}], parent=MESH_PARENT)], twin
                  ).route("GET", "/")
    pairs = [("A", "1"), ("a", "2"), ("B", "3")]
    assert d.apply_request_headers(pairs) == pairs
    assert d.apply_response_headers(pairs) == pairs


# --- weights and invalid backends (§6) ---------------------------------------------------------

def _shares(view, n, host="h", path="/"):
    c = Counter()
    for _ in range(n):
        d = view.route("GET", path, host=host)
        c[d.backend.name if d.status is None else d.status] += 1
    return c


def test_weights_distribution(twin):
    objs = [route([{"backendRefs": [{"name": "a", "port": 80, "weight": 1},
                                    {"name": "b", "port": 80, "weight": 3},
                                    {"name": "z", "port": 80, "weight": 0}]}])]
    c = _shares(gw_view(objs, twin), 10_000)
    assert c["z"] == 0
    assert set(c) == {"a", "b"}
    assert abs(c["b"] / 10_000 - 0.75) <= 0.03
    assert abs(c["a"] / 10_000 - 0.25) <= 0.03


def test_weights_reproducible_with_seed(twin):
    objs = [route([{"backendRefs": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}])]
    v1, v2 = gw_view(objs, twin, seed=7), gw_view(objs, twin, seed=7)
    s1 = [v1.route("GET", "/", host="h").backend.name for _ in range(200)]
    s2 = [v2.route("GET", "/", host="h").backend.name for _ in range(200)]
    assert s1 == s2 and set(s1) == {"a", "b"}


def test_weights_same_sequence_on_both_twins():
    from conftest import both_twins
    objs = [gateway_obj(), route([{"backendRefs": [{"name": "a", "port": 80, "weight": 2},
                                                  {"name": "b", "port": 80, "weight": 5}]}])]
    seqs = []
    for router in both_twins(objs, seed=42):
        v = router.gateway("edge", "infra", 80)
        seqs.append([v.route("GET", "/", host="h").backend.name for _ in range(300)])
    assert all(s == seqs[0] for s in seqs)


def _status(router, name, ns="default"):
    st = router.status("HTTPRoute", ns, name)
    return {c["type"]: c for c in st["parents"][0]["conditions"]}


def test_invalid_kind_backend_is_500(twin):
    objs = [gateway_obj(), route([{"backendRefs": [
        {"group": "multicluster.x-k8s.io", "kind": "ServiceImport", "name": "b", "port": 80}]}])]
    router = make_router(objs, twin)
    d = router.gateway("edge", "infra", 80).route("GET", "/", host="h")
    assert (d.matched, d.status, d.backend) == (True, 500, None)
    conds = _status(router, "r")
    assert conds["ResolvedRefs"]["status"] == "False" and conds["ResolvedRefs"]["reason"] == "InvalidKind"
    assert conds["Accepted"]["status"] == "True"


def _service(name, ns="default", port=80):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"name": "http", "port": port}]}}


def test_backend_not_found_when_services_given(twin):
    objs = [gateway_obj(), _service("exists"),
            route([{"matches": [prefix("/ok")], "backendRefs": [{"name": "exists", "port": 80}]},
                   {"matches": [prefix("/missing")], "backendRefs": [{"name": "missing", "port": 80}]}])]
    router = make_router(objs, twin)
    v = router.gateway("edge", "infra", 80)
    d = v.route("GET", "/ok", host="h")
    assert d.status is None and d.backend.name == "exists"
    d = v.route("GET", "/missing", host="h")
    assert d.matched and d.status == 500 and d.backend is None
    conds = _status(router, "r")
    assert conds["ResolvedRefs"]["reason"] == "BackendNotFound"


def test_without_services_every_backend_exists(twin):
    d = gw_view([route([{"backendRefs": [{"name": "anything", "port": 80}]}])], twin).route("GET", "/", host="h")
    assert d.status is None and d.backend.name == "anything"


CROSS_NS_RULES = [{"backendRefs": [{"name": "local", "port": 80},
                                   {"name": "remote", "namespace": "other", "port": 80}]}]
GRANT = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
         "metadata": {"name": "allow", "namespace": "other"},
         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "default"}],
                  "to": [{"group": "", "kind": "Service"}]}}


def test_cross_namespace_without_grant_gives_proportional_500(twin):
    objs = [gateway_obj(), route(CROSS_NS_RULES)]
    router = make_router(objs, twin)
    c = _shares(router.gateway("edge", "infra", 80), 10_000)
    assert set(c) == {"local", 500}
    assert abs(c[500] / 10_000 - 0.5) <= 0.03
    assert _status(router, "r")["ResolvedRefs"]["reason"] == "RefNotPermitted"


def test_cross_namespace_with_grant_allowed(twin):
    objs = [gateway_obj(), route(CROSS_NS_RULES), GRANT]
    router = make_router(objs, twin)
    c = _shares(router.gateway("edge", "infra", 80), 2000)
    assert set(c) == {"local", "remote"}
    d = next(d for d in (router.gateway("edge", "infra", 80).route("GET", "/", host="h") for _ in range(100))
             if d.backend.name == "remote")
    assert d.backend.namespace == "other"
    assert _status(router, "r")["ResolvedRefs"]["status"] == "True"


def test_grant_for_other_namespace_does_not_allow(twin):
    grant = {**GRANT, "spec": {**GRANT["spec"], "from": [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "elsewhere"}]}}
    objs = [gateway_obj(), route([{"backendRefs": [{"name": "remote", "namespace": "other", "port": 80}]}]), grant]
    d = make_router(objs, twin).gateway("edge", "infra", 80).route("GET", "/", host="h")
    assert d.status == 500


def test_all_weights_zero_is_500(twin):
    objs = [route([{"backendRefs": [{"name": "a", "port": 80, "weight": 0},
                                    {"name": "b", "port": 80, "weight": 0}]}])]
    d = gw_view(objs, twin).route("GET", "/", host="h")
    assert (d.matched, d.status, d.backend) == (True, 500, None)


def test_no_backend_refs_is_500(twin):
    objs = [route([{"matches": [prefix("/x")]}])]
    v = gw_view(objs, twin)
    d = v.route("GET", "/x/y", host="h")
    assert (d.matched, d.status, d.backend, d.route, d.rule) == (True, 500, None, "default/r", 0)
    assert v.route("GET", "/y", host="h").status == 404


def test_omitted_rules_answer_500_to_everything(twin):
    v = gw_view([route(None)], twin)
    for method, path in (("GET", "/"), ("POST", "/a/b?c=d"), ("DELETE", "/x")):
        d = v.route(method, path, host="h")
        assert (d.matched, d.status, d.backend) == (True, 500, None), (method, path)


# --- mirrors, timeouts (§5.4, §7) --------------------------------------------------------------

@pytest.mark.parametrize("body,percent", [
    ({}, 100.0),
    ({"percent": 25}, 25.0),
    ({"percent": 0}, 0.0),
    ({"fraction": {"numerator": 1, "denominator": 8}}, 12.5),
    ({"fraction": {"numerator": 5}}, 5.0),
])
def test_mirror_percent(twin, body, percent):
    mirror = {"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "shadow", "port": 9000}, **body}}
    objs = [route([{"filters": [mirror], "backendRefs": [{"name": "b", "port": 80}]}])]
    d = gw_view(objs, twin).route("GET", "/", host="h")
    assert len(d.mirrors) == 1
    m = d.mirrors[0]
    assert isinstance(m, routecore.Mirror)
    assert (m.backend.namespace, m.backend.name, m.backend.port) == ("default", "shadow", 9000)
    assert m.percent == pytest.approx(percent) and isinstance(m.percent, float)


def test_multiple_mirrors_and_none(twin):
    mirrors = [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": n, "port": 1}}}
               for n in ("m1", "m2")]
    objs = [route([{"matches": [prefix("/m")], "filters": mirrors, "backendRefs": [{"name": "b", "port": 80}]},
                   {"backendRefs": [{"name": "b", "port": 80}]}])]
    v = gw_view(objs, twin)
    assert [m.backend.name for m in v.route("GET", "/m", host="h").mirrors] == ["m1", "m2"]
    assert v.route("GET", "/", host="h").mirrors == ()


@pytest.mark.parametrize("timeouts,expected", [
    ({"request": "10s"}, (10.0, None)),
    ({"request": "1m30s", "backendRequest": "500ms"}, (90.0, 0.5)),
    ({"request": "0s"}, (0.0, None)),
    ({"request": "1h2m3s4ms", "backendRequest": "2s"}, (3723.004, 2.0)),
    ({"backendRequest": "250ms"}, (None, 0.25)),
])
def test_timeouts_parsed_to_seconds(twin, timeouts, expected):
    objs = [route([{"timeouts": timeouts, "backendRefs": [{"name": "b", "port": 80}]}])]
    t = gw_view(objs, twin).route("GET", "/", host="h").timeouts
    assert isinstance(t, routecore.Timeouts)
    assert t.request == (None if expected[0] is None else pytest.approx(expected[0]))
    assert t.backend_request == (None if expected[1] is None else pytest.approx(expected[1]))


def test_timeouts_unset_is_none(twin):
    d = gw_view([route([{"backendRefs": [{"name": "b", "port": 80}]}])], twin).route("GET", "/", host="h")
    assert d.timeouts is None


# --- gRPC answers (§10 / api.md) ---------------------------------------------------------------

def test_grpc_no_match_and_invalid_backend(twin):
    objs = [route([{"matches": [prefix("/ok")], "backendRefs": [{"name": "b", "port": 80}]},
                   {"matches": [prefix("/bad")], "backendRefs": [
                       {"kind": "ServiceImport", "group": "multicluster.x-k8s.io", "name": "b", "port": 80}]}])]
    v = gw_view(objs, twin)
    for ct in ("application/grpc", "application/grpc+proto"):
        h = [("content-type", ct)]
        d = v.route("POST", "/nope.Svc/Method", h, host="h")
        assert (d.status, d.grpc_status, d.matched) == (404, 12, False)
        d = v.route("POST", "/bad/Method", h, host="h")
        assert (d.status, d.grpc_status) == (500, 14)
        d = v.route("POST", "/ok/Method", h, host="h")
        assert (d.status, d.grpc_status) == (None, None)
    d = v.route("POST", "/nope", [("content-type", "application/json")], host="h")
    assert (d.status, d.grpc_status) == (404, None)
    d = v.route("POST", "/bad", [("content-type", "text/plain")], host="h")
    assert (d.status, d.grpc_status) == (500, None)


def test_grpc_no_listener(twin):
    g = gateway_obj([{"name": "web", "port": 80, "protocol": "HTTP", "hostname": "a.example.com"}])
    v = make_router([g, route([{"backendRefs": [{"name": "b", "port": 80}]}], ns="infra")], twin
                    ).gateway("edge", "infra", 80)
    d = v.route("POST", "/x.Y/Z", {"content-type": "application/grpc"}, host="other.org")
    assert (d.status, d.grpc_status, d.listener) == (404, 12, None)


# --- mesh (§9) ---------------------------------------------------------------------------------

def test_mesh_service_without_routes_goes_to_service(twin, twins_agree):
    v = make_router([route([{"backendRefs": [{"name": "b", "port": 80}]}], parent=MESH_PARENT)], twin
                    ).service("lonely", "default", 8080)
    d = v.route("GET", "/anything")
    assert (d.matched, d.status, d.route, d.rule, d.listener) == (False, None, None, None, None)
    assert (d.backend.namespace, d.backend.name, d.backend.port) == ("default", "lonely", 8080)
    assert (d.backend.group, d.backend.kind) == ("", "Service")
    assert d.upstream_path == "/anything"


def test_mesh_routes_attached_but_none_match_is_404(twin):
    v = mesh_view([route([{"matches": [prefix("/a")], "backendRefs": [{"name": "b", "port": 80}]}],
                         parent=MESH_PARENT)], twin)
    d = v.route("GET", "/b")
    assert (d.matched, d.status, d.backend) == (False, 404, None)


def test_mesh_route_port_scoped(twin):
    objs = [route([{"backendRefs": [{"name": "b", "port": 80}]}], parent=MESH_PARENT)]
    router = make_router(objs, twin)
    assert router.service("svc", "default", 80).route("GET", "/").backend.name == "b"
    d = router.service("svc", "default", 81).route("GET", "/")
    assert (d.matched, d.backend.name, d.backend.port) == (False, "svc", 81)


def test_consumer_route_replaces_producer_routes_for_its_namespace(twin):
    producer = route([{"backendRefs": [{"name": "v1", "port": 80}]}], name="prod", parent=MESH_PARENT)
    consumer = route([{"matches": [prefix("/special")], "backendRefs": [{"name": "v2", "namespace": "default", "port": 80}]}],
                     name="cons", ns="client", parent={**MESH_PARENT, "namespace": "default"})
    router = make_router([producer, consumer], twin)
    d = router.service("svc", "default", 80, client_namespace="client").route("GET", "/special/x")
    assert d.route == "client/cons" and (d.backend.namespace, d.backend.name) == ("default", "v2")
    # replaces, does not merge: the producer route is not a fallback for this client
    d = router.service("svc", "default", 80, client_namespace="client").route("GET", "/other")
    assert (d.matched, d.status) == (False, 404)
    for client in (None, "default", "elsewhere"):
        d = router.service("svc", "default", 80, client_namespace=client).route("GET", "/special/x")
        assert d.route == "default/prod" and d.backend.name == "v1", client


# --- Decision object ---------------------------------------------------------------------------

def test_decision_is_frozen(twin):
    d = gw_view([route([{"backendRefs": [{"name": "b", "port": 80}]}])], twin).route("GET", "/", host="h")
    for attr, value in (("status", 500), ("backend", None), ("matched", False), ("new_attr", 1)):
        with pytest.raises(AttributeError):
            setattr(d, attr, value)
    assert d.status is None and d.backend.name == "b"
    with pytest.raises(AttributeError):
        d.backend.name = "x"


def test_decision_fields_and_to_dict(twin, twins_agree):
    objs = [gateway_obj(), route([{"name": "main", "backendRefs": [{"name": "b", "port": 80}]}],
                                 hostnames=["shop.example.com"])]
    d = make_router(objs, twin).gateway("edge", "infra", 80).route("GET", "/p?q", host="shop.example.com")
    assert (d.matched, d.status, d.route, d.kind, d.rule, d.rule_name, d.listener) == \
        (True, None, "default/r", "HTTPRoute", 0, "main", "web")
    assert isinstance(d.backend, routecore.Backend) and d.backend.weight == 1
    dd = d.to_dict()
    assert dd["route"] == "default/r" and dd["upstream_path"] == "/p?q"
    assert dd == twins_agree(objs, ("gateway", "edge", "infra", 80), "GET", "/p?q", host="shop.example.com")


def test_mirror_to_unresolved_backend_is_dropped(twin):
    mirrors = [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "x", "namespace": "other", "port": 1}}},
               {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "missing", "port": 1}}},
               {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "ok", "port": 1}}}]
    objs = [gateway_obj(), _service("b"), _service("ok"),
            route([{"filters": mirrors, "backendRefs": [{"name": "b", "port": 80}]}])]
    d = make_router(objs, twin).gateway("edge", "infra", 80).route("GET", "/", host="h")
    assert d.status is None and d.backend.name == "b"
    assert [m.backend.name for m in d.mirrors] == ["ok"]


def test_backend_ref_redirect(twin):
    objs = [route([{"backendRefs": [{"name": "b", "port": 80, "filters": [
        {"type": "RequestRedirect", "requestRedirect": {"hostname": "moved.example.com", "statusCode": 301}}]}]}])]
    d = gw_view(objs, twin).route("GET", "/p?q=1", host="h")
    assert d.status == 301 and d.location == "http://moved.example.com/p?q=1" and d.backend is None


def test_mesh_redirect_uses_service_port(twin):
    objs = [route([redirect_rule(hostname="x")], parent={**MESH_PARENT, "port": 8080})]
    d = make_router(objs, twin).service("svc", "default", 8080).route("GET", "/p")
    assert d.status == 302 and d.location == "http://x:8080/p"


# --- allocation discipline (issue 6): decisions that need nothing from the request are prebuilt -

ALLOC_OBJS = [
    {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "edge", "namespace": "infra"},
     "spec": {"gatewayClassName": "routecore", "listeners": [
         {"name": "web", "port": 80, "protocol": "HTTP", "hostname": "*.example.com",
          "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
    route([{"matches": [prefix("/ok")], "backendRefs": [{"name": "app", "port": 8080}]},
           {"matches": [prefix("/bad")], "backendRefs": [{"kind": "Bucket", "name": "x", "port": 1}]},
           {"matches": [prefix("/old")], "filters": [{"type": "RequestRedirect",
                                                       "requestRedirect": {"path": {
                                                           "type": "ReplaceFullPath",
                                                           "replaceFullPath": "/new"}}}]}],
          hostnames=["a.example.com"]),
]
# (target, host, status, gRPC status) of requests whose decision carries nothing from the
# request; api.md: 12 UNIMPLEMENTED for no match, 14 UNAVAILABLE for an invalid backend
FIXED_REQUESTS = [("/nothing/here?x=1", "a.example.com", 404, 12),   # no rule
                  ("/ok", "a.other.org", 404, 12),                   # no listener
                  ("/bad/x", "A.Example.com:80", 500, 14)]           # invalid backend


def _alloc_view(twin):
    return make_router(ALLOC_OBJS, twin).gateway("edge", "infra", 80)


@pytest.mark.parametrize("target,host,status,grpc_status", FIXED_REQUESTS)
def test_fixed_decisions_are_one_prebuilt_object(twin, target, host, status, grpc_status):
    view = _alloc_view(twin)
    d = view.route("GET", target, host=host)
    assert d.status == status and d.upstream_path is None and d.upstream_host is None
    assert d.location is None
    assert view.route("GET", target + "/other", (), host=host) is d
    grpc = [("content-type", "application/grpc")]
    g = view.route("POST", target, grpc, host=host)
    assert (g.status, g.grpc_status) == (status, grpc_status) and view.route("POST", target, grpc, host=host) is g
    assert g is not d


def test_requests_that_need_the_request_get_their_own_decision(twin):
    view = _alloc_view(twin)
    a = view.route("GET", "/ok/1?x=1", host="a.example.com")
    b = view.route("GET", "/ok/2", host="a.example.com")
    assert a is not b and (a.upstream_path, b.upstream_path) == ("/ok/1?x=1", "/ok/2")
    r = view.route("GET", "/old?q=1", host="a.example.com")
    assert r.status == 302 and r.location == "http://a.example.com/new?q=1"
    assert r.upstream_path is None  # a redirect forwards nothing


def _traced_peak(route, requests):
    """Bytes allocated at the peak (tracemalloc) while routing every request, over the same
    measurement around no request at all (which cancels tracemalloc's own bookkeeping)."""
    import tracemalloc

    def peak(batch):
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            for target, host in batch:
                route("GET", target, (), host=host)
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    # a first pass does the one-time work (tracemalloc's start, the interpreter specialising this
    # loop's bytecode, the Decision free list filling); the second is the one that counts
    peak(requests)
    return peak(requests) - peak([])


def test_native_fixed_decisions_allocate_nothing():
    """10,000 decisions that need nothing from the request: not one byte allocated."""
    if _match.NativeTable is None:
        pytest.skip("native extension not available")  # test_match fails loudly for this
    view = _alloc_view(True)
    # lower-case hosts: an upper-case Host is lowered into a new string (reading the request)
    requests = [(t, h.lower()) for t, h, *_ in FIXED_REQUESTS] * 3334
    assert _traced_peak(view.route, requests) == 0


def test_native_forwarded_decisions_copy_nothing_from_the_request():
    """A forwarded decision holds the request's own strings (path and query are not sliced):
    10,000 decisions, each dropped before the next, allocate at most one Decision at a time."""
    if _match.NativeTable is None:
        pytest.skip("native extension not available")
    import sys
    view = _alloc_view(True)
    requests = [("/ok/page?id=7", "a.example.com"), ("/ok", "b.example.com:8080")] * 5000
    d = view.route("GET", requests[0][0], host=requests[0][1])
    assert _traced_peak(view.route, requests) <= sys.getsizeof(d)
    assert d.upstream_path == "/ok/page?id=7" and d.upstream_host == "a.example.com"


def test_reused_decisions_carry_only_their_own_request(twin):
    """Decisions are reused when dropped (the native free list): each new one has its own
    path, query, Host and scheme, none left over from the one before."""
    view = _alloc_view(twin)
    for i in range(300):
        query = f"x={i}" if i % 2 else None
        host = "a.example.com" if i % 3 else "a.example.com:80"
        scheme = "https" if i % 5 else None
        d = view.route("GET", f"/ok/{i}" + (f"?{query}" if query else ""), host=host, scheme=scheme)
        assert (d.request_path, d._query, d._host, d._scheme) == (f"/ok/{i}", query, host, scheme)
        assert d.upstream_path == f"/ok/{i}" + (f"?{query}" if query else "")
        del d


def test_native_dropped_decisions_keep_nothing_alive():
    """A Decision holds the request's target while alive and lets it go when dropped, whether
    it goes back to the free list or is freed (more are dropped than the list keeps)."""
    if _match.NativeTable is None:
        pytest.skip("native extension not available")
    import sys
    view = _alloc_view(True)
    target = "".join(["/ok/page", "?id=7"])  # a string of its own, not interned
    host = "".join(["a.example", ".com"])
    base = (sys.getrefcount(target), sys.getrefcount(host))
    kept = [view.route("GET", target, host=host) for _ in range(200)]
    assert sys.getrefcount(target) == base[0] + 2 * 200  # the path and the query
    assert sys.getrefcount(host) == base[1] + 200
    del kept
    assert (sys.getrefcount(target), sys.getrefcount(host)) == base


def test_native_decision_subclass_is_freed_as_itself():
    """A subclass's instance is never kept for reuse as a Decision (its own type frees it)."""
    if _match.NativeTable is None:
        pytest.skip("native extension not available")
    from routecore._match_c import Decision

    class Sub(Decision):
        pass

    for _ in range(100):
        s = Sub.__new__(Sub)
        with pytest.raises(TypeError, match="not initialised"):
            s.status
        del s
    view = _alloc_view(True)
    assert type(view.route("GET", "/ok/1", host="a.example.com")) is Decision
