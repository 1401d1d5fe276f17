"""GRPCRoute end to end (semantics digest §8, §9, §10, §11): parsing and validation, method and
header matching, precedence, listeners and hostnames, weights, the HTTPRoute/GRPCRoute
hostname conflict on a listener, the mesh preference for GRPCRoute, status; on both twins."""
import copy

import pytest

import routecore
from routecore._config import models as m
from routecore._errors import ConfigError
from routecore._config.load import load
from routecore._compile.table import EXACT, PREFIX, REGEX, grpc_path_match

GRPC = {"content-type": "application/grpc"}
GW_GROUP = "gateway.networking.k8s.io"


def gateway(listeners=None, ns="infra"):
    return {
        "apiVersion": f"{GW_GROUP}/v1", "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": ns},
        "spec": {"gatewayClassName": "routecore", "listeners": listeners or [
            {"name": "web", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}]},
    }


def grpc_route(rules, name="g", ns="app", hostnames=None, parents=None, ts=None, version="v1"):
    meta = {"name": name, "namespace": ns}
    if ts is not None:
        meta["creationTimestamp"] = ts
    spec = {"parentRefs": parents if parents is not None else [{"name": "edge", "namespace": "infra"}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    if rules is not None:
        spec["rules"] = rules
    return {"apiVersion": f"{GW_GROUP}/{version}", "kind": "GRPCRoute", "metadata": meta, "spec": spec}


def http_route(name="h", ns="app", hostnames=None, parents=None, ts=None, backend="web"):
    meta = {"name": name, "namespace": ns}
    if ts is not None:
        meta["creationTimestamp"] = ts
    spec = {"parentRefs": parents if parents is not None else [{"name": "edge", "namespace": "infra"}],
            "rules": [{"backendRefs": [{"name": backend, "port": 80}]}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {"apiVersion": f"{GW_GROUP}/v1", "kind": "HTTPRoute", "metadata": meta, "spec": spec}


def method(service=None, meth=None, type_=None):
    out = {}
    if type_ is not None:
        out["type"] = type_
    if service is not None:
        out["service"] = service
    if meth is not None:
        out["method"] = meth
    return {"method": out}


def to(name, port=9000, weight=None):
    ref = {"name": name, "port": port}
    if weight is not None:
        ref["weight"] = weight
    return [ref]


def call(view, path, headers=None, host="grpc.example.com"):
    h = dict(GRPC)
    h.update(headers or {})
    return view.route("POST", path, h, host=host)


def picked(view, path, **kw):
    d = call(view, path, **kw)
    return d.backend.name if d.backend is not None else (d.status, d.grpc_status)


# --- parsing and validation ---------------------------------------------------------------------


def test_parse_defaults_and_models():
    cfg = load(grpc_route([
        {"matches": [method("pkg.v1.Svc", "Get"),
                     {"method": {"type": "RegularExpression", "method": "Get.*"},
                      "headers": [{"name": "X-Env", "value": "prod"}, {"name": "x-env", "value": "dev"}]}],
         "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "a", "value": "b"}]}}],
         "backendRefs": [{"name": "s", "port": 9000, "weight": 3}]},
        {"backendRefs": [{"name": "all", "port": 9000}]},
    ]))
    (r,) = cfg.routes
    assert isinstance(r, m.GRPCRoute) and r.kind == "GRPCRoute" and r.key == "app/g"
    assert r.parent_refs == (m.ParentRef(GW_GROUP, "Gateway", "infra", "edge"),)
    r0, r1 = r.rules
    assert r0.matches[0] == m.GRPCRouteMatch(m.GRPCMethodMatch("Exact", "pkg.v1.Svc", "Get"))
    # header names fold case, the first entry for a name wins
    assert r0.matches[1] == m.GRPCRouteMatch(m.GRPCMethodMatch("RegularExpression", None, "Get.*"),
                                             (m.HeaderMatch("Exact", "x-env", "prod"),))
    assert r0.filters == (m.HeaderModifier("RequestHeaderModifier", set=(("a", "b"),)),)
    assert r0.backend_refs == (m.BackendRef("", "Service", "app", "s", 9000, 3),)
    assert r1.matches == (m.GRPCRouteMatch(),)  # no matches: every gRPC request
    assert cfg.skipped == ()


@pytest.mark.parametrize("version", ["v1", "v1alpha2", "v1beta1"])
def test_api_versions(version):
    assert load(grpc_route([{"backendRefs": to("s")}], version=version)).routes[0].kind == "GRPCRoute"


def test_rules_may_be_omitted():
    (r,) = load(grpc_route(None)).routes
    assert r.rules == ()


def refused(obj):
    with pytest.raises(ConfigError) as exc:
        load(obj)
    return {(i.path, i.message) for i in exc.value.errors}


def assert_refused(obj, path, text):
    issues = refused(obj)
    assert any(p == path and text in msg for p, msg in issues), issues
    for i in load(obj, strict=False).issues:
        assert i.kind == "GRPCRoute"


R0 = "spec.rules[0]"
M0 = f"{R0}.matches[0]"


@pytest.mark.parametrize("match,path,text", [
    ({"method": {}}, f"{M0}.method", "one or both of `service` or `method`"),
    ({"method": {"type": "RegularExpression"}}, f"{M0}.method", "one or both of `service` or `method`"),
    (method("a/b"), f"{M0}.method.service", "gRPC service name"),
    (method("1pkg.Svc"), f"{M0}.method.service", "gRPC service name"),
    (method("pkg..Svc"), f"{M0}.method.service", "gRPC service name"),
    (method("pkg.Svc."), f"{M0}.method.service", "gRPC service name"),
    (method(None, "Get.x"), f"{M0}.method.method", "gRPC method name"),
    (method(None, "9Get"), f"{M0}.method.method", "gRPC method name"),
    (method("s" * 1025), f"{M0}.method.service", "at most 1024"),
    (method(None, "m" * 1025), f"{M0}.method.method", "at most 1024"),
    (method("(", None, "RegularExpression"), f"{M0}.method.service", "invalid RE2"),
    (method(None, "a(", "RegularExpression"), f"{M0}.method.method", "invalid RE2"),
    (method("a", None, "Prefix"), f"{M0}.method.type", "Expected one of `Exact`, `RegularExpression`"),
    ({"method": {"service": "a", "verb": "x"}}, f"{M0}.method.verb", "unknown field"),
    ({"path": {"value": "/a"}}, f"{M0}.path", "unknown field"),
    ({"headers": [{"name": "a", "value": "b", "type": "Prefix"}]}, f"{M0}.headers[0].type", "Expected one of"),
    ({"headers": [{"name": "a:b", "value": "b"}]}, f"{M0}.headers[0].name", "header name"),
    ({"headers": [{"name": "a", "value": "("}], }, None, None),  # an Exact value "(" is fine
    ({"headers": [{"name": "a", "value": "(", "type": "RegularExpression"}]}, f"{M0}.headers[0].value",
     "invalid RE2"),
    ({"headers": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}, f"{M0}.headers[1].name",
     "duplicate entry"),
    ({"headers": [{"name": f"h{i}", "value": "v"} for i in range(17)]}, f"{M0}.headers", "at most 16"),
])
def test_match_validation(match, path, text):
    obj = grpc_route([{"matches": [match], "backendRefs": to("s")}])
    if path is None:
        load(obj)
    else:
        assert_refused(obj, path, text)


def test_exact_service_pattern_is_case_insensitive_and_may_start_with_a_dot():
    for svc in ("Pkg.V1.Svc", ".pkg.svc", "_a._b9", "UPPER"):
        load(grpc_route([{"matches": [method(svc)], "backendRefs": to("s")}]))
    # RegularExpression values are not held to the name patterns
    load(grpc_route([{"matches": [method("pkg\\..*", "Get|Put", "RegularExpression")], "backendRefs": to("s")}]))


@pytest.mark.parametrize("ftype,body", [
    ("RequestRedirect", {"requestRedirect": {"statusCode": 301}}),
    ("URLRewrite", {"urlRewrite": {"hostname": "x"}}),
    ("CORS", {"cors": {"allowOrigins": ["*"]}}),
])
def test_http_only_filters_are_refused(ftype, body):
    f = dict({"type": ftype}, **body)
    issues = refused(grpc_route([{"filters": [f], "backendRefs": to("s")}]))
    assert (f"{R0}.filters[0].type", "Expected one of `ResponseHeaderModifier`, `RequestHeaderModifier`, "
            f"`RequestMirror`, `ExtensionRef`, got `{ftype}`") in issues
    field = next(iter(body))
    assert any(p == f"{R0}.filters[0].{field}" and "unknown field" in msg for p, msg in issues)
    # and on a backendRef
    issues = refused(grpc_route([{"backendRefs": [{"name": "s", "port": 1, "filters": [f]}]}]))
    assert any(p == f"{R0}.backendRefs[0].filters[0].type" for p, _ in issues)


def test_filter_rules():
    hm = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "a", "value": "b"}]}}
    assert_refused(grpc_route([{"filters": [hm, hm], "backendRefs": to("s")}]),
                   f"{R0}.filters", "RequestHeaderModifier filter cannot be repeated")
    assert_refused(grpc_route([{"filters": [{"type": "RequestMirror"}], "backendRefs": to("s")}]),
                   f"{R0}.filters[0]", "`requestMirror` must be specified")
    assert_refused(grpc_route([{"filters": [{"type": "ExtensionRef", "requestHeaderModifier": {}}],
                                "backendRefs": to("s")}]),
                   f"{R0}.filters[0].requestHeaderModifier", "must not be set unless")
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m", "port": 1}}}
    ext = {"type": "ExtensionRef", "extensionRef": {"group": "x.io", "kind": "K", "name": "n"}}
    cfg = load(grpc_route([{"filters": [mirror, mirror, ext, ext], "backendRefs": to("s")}]))
    assert len(cfg.routes[0].rules[0].filters) == 4


def test_backend_ref_validation():
    assert_refused(grpc_route([{"backendRefs": [{"name": "s"}]}]),
                   f"{R0}.backendRefs[0].port", "port is required")
    assert_refused(grpc_route([{"backendRefs": [{"name": "s", "port": 1, "weight": 1000001}]}]),
                   f"{R0}.backendRefs[0].weight", "<= 1000000")
    assert_refused(grpc_route([{"backendRefs": [{"name": "s", "port": 1}] * 17}]),
                   f"{R0}.backendRefs", "at most 16")


def test_size_limits():
    many = [method("a", f"m{i}") for i in range(65)]
    assert_refused(grpc_route([{"matches": many, "backendRefs": to("s")}]), f"{R0}.matches", "at most 64")
    assert_refused(grpc_route([{"backendRefs": to("s")}] * 17), "spec.rules", "at most 16")
    rules = [{"matches": [method("a", f"m{i}") for i in range(60)], "backendRefs": to("s")}] * 3
    assert_refused(grpc_route(rules), "spec.rules", "must not exceed 128")


def test_spec_level_validation():
    assert_refused(grpc_route([{"backendRefs": to("s")}], hostnames=["Bad.example"]), "spec.hostnames[0]",
                   "RFC 1123")
    assert_refused(grpc_route([{"backendRefs": to("s"), "timeouts": {"request": "1s"}}]),
                   f"{R0}.timeouts", "unknown field")
    assert_refused(grpc_route([{"name": "a", "backendRefs": to("s")}, {"name": "a", "backendRefs": to("s")}]),
                   "spec.rules[1].name", "must be unique")
    assert_refused(grpc_route([{"backendRefs": to("s")}], parents=[{"name": "edge"}, {"name": "edge"}]),
                   "spec.parentRefs[0]", "sectionName or port must be specified")
    obj = grpc_route([{"backendRefs": to("s")}])
    obj["apiVersion"] = "v1"
    assert_refused(obj, "apiVersion", "for kind GRPCRoute")


def test_kind_case_hint():
    obj = grpc_route([{"backendRefs": to("s")}])
    obj["kind"] = "GrpcRoute"
    assert any(p == "kind" and "did you mean `GRPCRoute`?" in msg for p, msg in refused(obj))


def test_lenient_drops_only_the_bad_rule():
    obj = grpc_route([{"matches": [method("a/b")], "backendRefs": to("s")}, {"backendRefs": to("ok")}])
    cfg = load([gateway(), obj], strict=False)  # (status speaks only for a Gateway it has)
    (r,) = cfg.routes
    assert r.rule_indexes == (1,)
    router = routecore.Router(cfg, seed=1)
    parent = router.status("GRPCRoute", "app", "g")["parents"][0]
    assert {c["type"]: c["status"] for c in parent["conditions"]}["PartiallyInvalid"] == "True"


def test_reference_grant_from_grpcroute(twin, make_router):
    grant = {"apiVersion": f"{GW_GROUP}/v1", "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "b"},
             "spec": {"from": [{"group": GW_GROUP, "kind": "GRPCRoute", "namespace": "app"}],
                      "to": [{"group": "", "kind": "Service"}]}}
    route = grpc_route([{"backendRefs": [{"name": "s", "namespace": "b", "port": 9000}]}])
    assert picked(make_router([gateway(), route], twin).gateway("edge", "infra"), "/a.B/C") == (500, 14)
    v = make_router([gateway(), route, grant], twin).gateway("edge", "infra")
    assert picked(v, "/a.B/C") == "s"


# --- translation to path matches ----------------------------------------------------------------


def test_grpc_path_match_translation():
    mm = m.GRPCMethodMatch
    assert grpc_path_match(None, False) == (REGEX, ".*")
    assert grpc_path_match(mm("Exact", "pkg.Svc", "Get"), False) == (EXACT, "/pkg.Svc/Get")
    assert grpc_path_match(mm("Exact", "pkg.Svc", None), False) == (PREFIX, "/pkg.Svc")
    assert grpc_path_match(mm("Exact", "pkg.Svc", None), True) == (REGEX, "/pkg\\.Svc(/.*)?")
    assert grpc_path_match(mm("Exact", None, "Get"), False) == (REGEX, "/[^/]+/Get")
    assert grpc_path_match(mm("RegularExpression", "a|b", None), False) == (REGEX, "/(a|b)/([^/]+)")
    assert grpc_path_match(mm("RegularExpression", None, "G.*"), True) == (REGEX, "/([^/]+)/(G.*)")


# --- matching -----------------------------------------------------------------------------------


def view_of(rules, twin, make_router, **kw):
    return make_router([gateway(), grpc_route(rules)], twin, **kw).gateway("edge", "infra")


def test_exact_service_and_method(twin, make_router):
    v = view_of([{"matches": [method("pkg.v1.Svc", "Get")], "backendRefs": to("s")}], twin, make_router)
    d = call(v, "/pkg.v1.Svc/Get")
    assert (d.matched, d.kind, d.route, d.rule, d.backend.name, d.listener) == (
        True, "GRPCRoute", "app/g", 0, "s", "web")
    assert d.status is None and d.grpc_status is None
    for miss in ("/pkg.v1.Svc/Put", "/pkg.v1.Svc/get", "/pkg.v1.svc/Get", "/pkg.v1.Svc/Get/x", "/x/pkg.v1.Svc/Get"):
        assert picked(v, miss) == (404, 12), miss


def test_service_only(twin, make_router):
    v = view_of([{"matches": [method("pkg.Svc")], "backendRefs": to("s")}], twin, make_router)
    assert picked(v, "/pkg.Svc/Get") == picked(v, "/pkg.Svc/Anything") == "s"
    for miss in ("/pkg.Svcx/Get", "/pkg.Sv/Get", "/other.Svc/Get", "/PKG.Svc/Get"):
        assert picked(v, miss) == (404, 12), miss


def test_method_only(twin, make_router):
    v = view_of([{"matches": [method(None, "Get")], "backendRefs": to("s")}], twin, make_router)
    assert picked(v, "/a.B/Get") == picked(v, "/c/Get") == "s"
    for miss in ("/a.B/GetX", "/a.B/xGet", "/Get", "/a/b/Get", "//Get"):
        assert picked(v, miss) == (404, 12), miss


def test_regular_expression(twin, make_router):
    v = view_of([{"matches": [method("pkg\\.v[0-9]+\\.Svc", "(Get|List).*", "RegularExpression")],
                  "backendRefs": to("both")},
                 {"matches": [method(None, "Delete", "RegularExpression")], "backendRefs": to("meth")},
                 {"matches": [method("admin\\..*", None, "RegularExpression")], "backendRefs": to("svc")}],
                twin, make_router)
    assert picked(v, "/pkg.v2.Svc/GetItem") == picked(v, "/pkg.v10.Svc/List") == "both"
    assert picked(v, "/pkg.v2.Svc/Put") == (404, 12)
    assert picked(v, "/pkg.vX.Svc/Get") == (404, 12)  # whole-value match
    assert picked(v, "/x.Y/Delete") == "meth"
    assert picked(v, "/x.Y/DeleteAll") == (404, 12)
    assert picked(v, "/admin.Users/Anything") == "svc"


def test_no_matches_matches_every_grpc_request(twin, make_router):
    v = view_of([{"backendRefs": to("all")}], twin, make_router)
    assert picked(v, "/a.B/C") == picked(v, "/") == picked(v, "/anything/at/all") == "all"


def test_header_matches(twin, make_router):
    v = view_of([{"matches": [dict(method("pkg.Svc", "Get"),
                                   headers=[{"name": "X-Tenant", "value": "blue"},
                                            {"name": "x-tenant", "value": "ignored"},
                                            {"name": "x-ver", "type": "RegularExpression", "value": "v[12]"}])],
                  "backendRefs": to("blue")},
                 {"matches": [{"headers": [{"name": "x-tenant", "value": "red"}]}], "backendRefs": to("red")}],
                twin, make_router)
    assert picked(v, "/pkg.Svc/Get", headers={"x-tenant": "blue", "X-Ver": "v2"}) == "blue"
    assert picked(v, "/pkg.Svc/Get", headers={"X-TENANT": "blue", "x-ver": "v3"}) == (404, 12)
    assert picked(v, "/pkg.Svc/Get", headers={"x-tenant": "ignored", "x-ver": "v1"}) == (404, 12)
    assert picked(v, "/other/Call", headers={"x-tenant": "red"}) == "red"
    assert picked(v, "/pkg.Svc/Get", headers={"x-tenant": "red", "x-ver": "v1"}) == "red"


def test_filters_mirror_and_answers(twin, make_router):
    v = view_of([{"matches": [method("pkg.Svc")],
                  "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x-a", "value": "1"}]}},
                              {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [{"name": "x-b", "value": "2"}]}},
                              {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "shadow", "port": 9000},
                                                                          "percent": 25}}],
                  "backendRefs": [{"name": "s", "port": 9000, "filters": [
                      {"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "x-c", "value": "3"}]}}]}]},
                 {"matches": [method("empty.Svc")]},
                 {"matches": [method("bad.Svc")], "backendRefs": [{"name": "s", "kind": "Nope", "group": "x.io", "port": 1}]}],
                twin, make_router)
    d = call(v, "/pkg.Svc/Get")
    assert d.apply_request_headers([("x-a", "0")]) == [("x-a", "1"), ("x-c", "3")]
    assert d.apply_response_headers([]) == [("x-b", "2")]
    assert [(mi.backend.name, mi.percent) for mi in d.mirrors] == [("shadow", 25.0)]
    assert d.upstream_path == "/pkg.Svc/Get"
    assert d.location is None
    assert picked(v, "/empty.Svc/Get") == (500, 14)  # no backendRefs
    assert picked(v, "/bad.Svc/Get") == (500, 14)  # invalid backend
    d = v.route("POST", "/bad.Svc/Get", {}, host="h")  # not a gRPC request: HTTP answers only
    assert (d.status, d.grpc_status, d.kind) == (500, None, "GRPCRoute")


def test_weights(twin, make_router):
    v = view_of([{"backendRefs": [{"name": "a", "port": 1, "weight": 3}, {"name": "b", "port": 1, "weight": 1},
                                  {"name": "z", "port": 1, "weight": 0}]}], twin, make_router)
    counts = {}
    for _ in range(4000):
        name = picked(v, "/a.B/C")
        counts[name] = counts.get(name, 0) + 1
    assert set(counts) == {"a", "b"}
    assert 0.70 < counts["a"] / 4000 < 0.80


def test_twins_pick_the_same_backends(make_router):
    from routecore import _match
    if _match.NativeTable is None:
        pytest.skip("native extension not available")
    rules = [{"backendRefs": [{"name": "a", "port": 1, "weight": 2}, {"name": "b", "port": 1, "weight": 5}]}]
    seqs = [[picked(view_of(rules, t, make_router), "/a.B/C") for _ in range(200)] for t in (True, False)]
    assert seqs[0] == seqs[1]


# --- precedence (digest §10) --------------------------------------------------------------------


PRECEDENCE_RULES = [
    {"backendRefs": to("match-all")},                                       # no method match: last
    {"matches": [method(None, "Get")], "backendRefs": to("method-only")},   # (0, 3) characters
    {"matches": [method(None, "GetLong")], "backendRefs": to("method-long")},
    {"matches": [method("pkg")], "backendRefs": to("service-short")},
    {"matches": [method("pkg.Svc")], "backendRefs": to("service-only")},    # (7, 0)
    {"matches": [method("pkg.Svc", "Get")], "backendRefs": to("exact")},    # (7, 3)
    {"matches": [dict(method("pkg.Svc", "Get"), headers=[{"name": "x-h", "value": "1"}])],
     "backendRefs": to("exact-header")},
]


@pytest.mark.parametrize("regex_precedence", ["after-prefix", "before-prefix"])
def test_precedence(twin, make_router, regex_precedence):
    v = view_of(PRECEDENCE_RULES, twin, make_router, regex_precedence=regex_precedence)
    assert picked(v, "/pkg.Svc/Get", headers={"x-h": "1"}) == "exact-header"   # most header matches
    assert picked(v, "/pkg.Svc/Get") == "exact"                                # service, then method chars
    assert picked(v, "/pkg.Svc/Put") == "service-only"
    assert picked(v, "/pkg.Svc/GetLong") == "service-only"                     # service chars beat method
    assert picked(v, "/pkg/GetLong") == "service-short"                        # (3, 0) beats (0, 7)
    assert picked(v, "/x.Y/GetLong") == "method-long"
    assert picked(v, "/x.Y/Get") == "method-only"                              # (0, 3) beats no method
    assert picked(v, "/x.Y/Put") == "match-all"


REGEX_RULES = PRECEDENCE_RULES + [
    {"matches": [method("pkg\\.Svc", None, "RegularExpression")], "backendRefs": to("regex-service")},
    {"matches": [method(None, "Get|Put", "RegularExpression")], "backendRefs": to("regex-method")},
]


def test_regular_expressions_rank_after_exact_method_matches(twin, make_router):
    """Default ("after-prefix"): a RegularExpression method match ranks after every Exact one
    (as RegularExpression paths rank after PathPrefix), before a rule without method match."""
    v = view_of(REGEX_RULES, twin, make_router)
    assert picked(v, "/pkg.Svc/Put") == "service-only"
    assert picked(v, "/x.Y/Get") == "method-only"
    assert picked(v, "/x.Y/Put") == "regex-method"
    v = view_of([r for r in REGEX_RULES if r["backendRefs"][0]["name"] != "service-only"], twin, make_router)
    assert picked(v, "/pkg.Svc/Put") == "regex-service"  # more service characters than regex-method
    assert picked(v, "/pkg.Svc/Get") == "exact"
    assert picked(v, "/x.Y/Delete") == "match-all"


def test_regular_expressions_before_prefix(twin, make_router):
    """"before-prefix": RegularExpression method matches rank right after service+method."""
    v = view_of(REGEX_RULES, twin, make_router, regex_precedence="before-prefix")
    assert picked(v, "/pkg.Svc/Get") == "exact"
    assert picked(v, "/pkg.Svc/Put") == "regex-service"
    assert picked(v, "/x.Y/Get") == "regex-method"
    assert picked(v, "/x.Y/GetLong") == "method-long"
    assert picked(v, "/pkg/Delete") == "service-short"
    assert picked(v, "/x.Y/Delete") == "match-all"


def test_precedence_across_routes(twin, make_router):
    rules = [{"matches": [method("pkg.Svc")], "backendRefs": to("x")}]
    objs = [gateway(),
            grpc_route(rules, name="new", ts="2024-01-02T00:00:00Z"),
            grpc_route([{"matches": [method("pkg.Svc")], "backendRefs": to("old")}], name="old",
                       ts="2024-01-01T00:00:00Z"),
            grpc_route([{"matches": [method("pkg.Svc", "Get")], "backendRefs": to("newest-exact")}], name="z",
                       ts="2025-01-01T00:00:00Z"),
            grpc_route([{"matches": [method("pkg.Svc")], "backendRefs": to("b")}], name="b", ns="team"),
            grpc_route([{"matches": [method("pkg.Svc")], "backendRefs": to("a")}], name="a", ns="team-x")]
    v = make_router(objs, twin).gateway("edge", "infra")
    assert picked(v, "/pkg.Svc/Get") == "newest-exact"  # match specificity before age
    assert picked(v, "/pkg.Svc/Put") == "old"           # then the oldest route
    objs = [o for o in objs if o["metadata"].get("creationTimestamp") is None or o is objs[0]]
    v = make_router(objs, twin).gateway("edge", "infra")
    assert picked(v, "/pkg.Svc/Put") == "a"             # then "ns/name": "team-x/a" < "team/b"


def test_first_rule_then_first_match(twin, make_router):
    v = view_of([{"matches": [method("pkg.Svc")], "backendRefs": to("first")},
                 {"matches": [method("pkg.Svc")], "backendRefs": to("second")}], twin, make_router)
    d = call(v, "/pkg.Svc/Get")
    assert (d.backend.name, d.rule) == ("first", 0)


# --- listeners and hostnames --------------------------------------------------------------------


LISTENERS = [
    {"name": "any", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}},
    {"name": "wild", "port": 80, "protocol": "HTTP", "hostname": "*.example.com",
     "allowedRoutes": {"namespaces": {"from": "All"}}},
    {"name": "http-only", "port": 8080, "protocol": "HTTP",
     "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "HTTPRoute"}]}},
    {"name": "grpc-only", "port": 9090, "protocol": "HTTP",
     "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}},
    {"name": "tls", "port": 443, "protocol": "HTTPS", "allowedRoutes": {"namespaces": {"from": "All"}}},
]


def test_listener_hostnames(twin, make_router):
    objs = [gateway(LISTENERS),
            grpc_route([{"backendRefs": to("api")}], name="api", hostnames=["api.example.com"]),
            grpc_route([{"backendRefs": to("other")}], name="other", hostnames=["grpc.other.org"])]
    r = make_router(objs, twin)
    v = r.gateway("edge", "infra", 80)
    d = call(v, "/a.B/C", host="api.example.com:443")
    assert (d.backend.name, d.listener) == ("api", "wild")
    d = call(v, "/a.B/C", host="grpc.other.org")
    assert (d.backend.name, d.listener) == ("other", "any")
    d = call(v, "/a.B/C", host="web.example.com")  # listener isolation: no fall-through to "any"
    assert (d.status, d.grpc_status, d.listener) == (404, 12, "wild")
    assert call(r.gateway("edge", "infra", 443), "/a.B/C", host="api.example.com").backend.name == "api"
    assert picked(r.gateway("edge", "infra", 8080), "/a.B/C", host="api.example.com") == (404, 12)
    assert picked(r.gateway("edge", "infra", 9090), "/a.B/C", host="api.example.com") == "api"


def test_listener_kinds_in_status():
    objs = [gateway(LISTENERS), grpc_route([{"backendRefs": to("s")}], parents=[
        {"name": "edge", "namespace": "infra", "sectionName": "http-only"}])]
    r = routecore.Router(load(objs), seed=1)
    cond = r.status("GRPCRoute", "app", "g")["parents"][0]["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "NotAllowedByListeners")
    kinds = {l["name"]: [k["kind"] for k in l["supportedKinds"]] for l in r.status("Gateway", "infra", "edge")["listeners"]}
    assert kinds == {"any": ["HTTPRoute", "GRPCRoute"], "wild": ["HTTPRoute", "GRPCRoute"],
                     "http-only": ["HTTPRoute"], "grpc-only": ["GRPCRoute"], "tls": ["HTTPRoute", "GRPCRoute"]}


def test_route_hostname_precedence(twin, make_router):
    objs = [gateway(),
            grpc_route([{"backendRefs": to("wild")}], name="w", hostnames=["*.example.com"]),
            grpc_route([{"matches": [method("only.This")], "backendRefs": to("exact")}], name="e",
                       hostnames=["grpc.example.com"])]
    v = make_router(objs, twin).gateway("edge", "infra")
    assert picked(v, "/only.This/X") == "exact"
    assert picked(v, "/a.B/C") == "wild"  # falls back to the less specific hostname
    assert picked(v, "/a.B/C", host="x.example.com") == "wild"
    assert picked(v, "/a.B/C", host="example.com") == (404, 12)


# --- HTTPRoute and GRPCRoute on one listener (GEP-1016 cross serving) ----------------------------


def conditions(router, kind, name, ns="app"):
    return [{c["type"]: (c["status"], c["reason"]) for c in p["conditions"]}
            for p in router.status(kind, ns, name)["parents"]]


def test_intersecting_hostnames_older_wins(twin, make_router):
    older_http = [gateway(),
                  http_route(hostnames=["*.example.com"], ts="2024-01-01T00:00:00Z"),
                  grpc_route([{"backendRefs": to("grpc")}], hostnames=["grpc.example.com"], ts="2024-06-01T00:00:00Z")]
    r = make_router(older_http, twin)
    v = r.gateway("edge", "infra")
    d = call(v, "/a.B/C")
    assert (d.kind, d.backend.name) == ("HTTPRoute", "web")
    assert conditions(r, "HTTPRoute", "h")[0]["Accepted"] == ("True", "Accepted")
    assert conditions(r, "GRPCRoute", "g")[0]["Accepted"] == ("False", "NotAllowedByListeners")
    msg = r.status("GRPCRoute", "app", "g")["parents"][0]["conditions"][0]["message"]
    assert "HTTPRoute app/h" in msg and "web" in msg
    assert r.status("Gateway", "infra", "edge")["listeners"][0]["attachedRoutes"] == 1

    older_grpc = copy.deepcopy(older_http)
    older_grpc[2]["metadata"]["creationTimestamp"] = "2023-01-01T00:00:00Z"
    r = make_router(older_grpc, twin)
    v = r.gateway("edge", "infra")
    d = call(v, "/a.B/C")
    assert (d.kind, d.backend.name) == ("GRPCRoute", "grpc")
    # the refused HTTPRoute serves nothing on this listener, not even other hosts it would cover
    assert picked(v, "/a.B/C", host="www.example.com") == (404, 12)
    assert conditions(r, "HTTPRoute", "h")[0]["Accepted"] == ("False", "NotAllowedByListeners")
    assert conditions(r, "GRPCRoute", "g")[0]["Accepted"] == ("True", "Accepted")


def test_equal_age_goes_by_namespace_and_name(twin, make_router):
    objs = [gateway(), http_route(name="b"), grpc_route([{"backendRefs": to("grpc")}], name="a")]
    r = make_router(objs, twin)
    assert call(r.gateway("edge", "infra"), "/a.B/C").kind == "GRPCRoute"
    assert conditions(r, "HTTPRoute", "b")[0]["Accepted"][0] == "False"
    objs[2]["metadata"]["name"] = "c"
    r = make_router(objs, twin)
    assert call(r.gateway("edge", "infra"), "/a.B/C").kind == "HTTPRoute"
    assert conditions(r, "GRPCRoute", "c")[0]["Accepted"][0] == "False"


def test_disjoint_hostnames_share_a_listener(twin, make_router):
    objs = [gateway(), http_route(hostnames=["www.example.com"]),
            grpc_route([{"backendRefs": to("grpc")}], hostnames=["grpc.example.com"])]
    r = make_router(objs, twin)
    v = r.gateway("edge", "infra")
    assert call(v, "/a.B/C").kind == "GRPCRoute"
    assert call(v, "/a.B/C", host="www.example.com").kind == "HTTPRoute"
    assert conditions(r, "HTTPRoute", "h")[0]["Accepted"] == conditions(r, "GRPCRoute", "g")[0]["Accepted"] \
        == ("True", "Accepted")
    assert r.status("Gateway", "infra", "edge")["listeners"][0]["attachedRoutes"] == 2


def test_conflict_is_per_listener(twin, make_router):
    listeners = [{"name": "a", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "b", "port": 8080, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}]
    objs = [gateway(listeners), http_route(ts="2024-01-01T00:00:00Z",
                                           parents=[{"name": "edge", "namespace": "infra", "sectionName": "a"}]),
            grpc_route([{"backendRefs": to("grpc")}], ts="2024-02-01T00:00:00Z")]
    r = make_router(objs, twin)
    assert call(r.gateway("edge", "infra", 80), "/a.B/C").kind == "HTTPRoute"
    assert call(r.gateway("edge", "infra", 8080), "/a.B/C").kind == "GRPCRoute"
    # accepted through listener b, so the parent is Accepted
    assert conditions(r, "GRPCRoute", "g")[0]["Accepted"] == ("True", "Accepted")
    counts = {l["name"]: l["attachedRoutes"] for l in r.status("Gateway", "infra", "edge")["listeners"]}
    assert counts == {"a": 1, "b": 1}


# --- mesh (GAMMA): GRPCRoute preferred over HTTPRoute on a Service port ---------------------------


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "app"},
           "spec": {"ports": [{"name": "grpc", "port": 9000}, {"name": "http", "port": 8080}]}}


def backend_services(*names, ns="app"):
    return [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": n, "namespace": ns},
             "spec": {"ports": [{"port": 80}, {"port": 9000}]}} for n in names]


def mesh_parent(**kw):
    return [dict({"group": "", "kind": "Service", "name": "svc"}, **kw)]


def test_mesh_grpc_route(twin, make_router):
    objs = [SERVICE, *backend_services("svc-v2"),
            grpc_route([{"matches": [method("pkg.Svc")], "backendRefs": to("svc-v2")}],
                       parents=mesh_parent(port=9000))]
    r = make_router(objs, twin)
    v = r.service("svc", "app", 9000)
    d = call(v, "/pkg.Svc/Get", host="ignored")
    assert (d.kind, d.backend.name, d.listener) == ("GRPCRoute", "svc-v2", None)
    assert picked(v, "/x.Y/Z") == (404, 12)
    d = call(r.service("svc", "app", 8080), "/pkg.Svc/Get")  # no route on this port: the Service itself
    assert (d.matched, d.backend.name, d.backend.port) == (False, "svc", 8080)
    assert conditions(r, "GRPCRoute", "g")[0] == {"Accepted": ("True", "Accepted"),
                                                  "ResolvedRefs": ("True", "ResolvedRefs")}


def test_mesh_prefers_grpc_route(twin, make_router):
    objs = [SERVICE, *backend_services("http-backend", "grpc-backend"),
            http_route(parents=mesh_parent(), ts="2020-01-01T00:00:00Z", backend="http-backend"),
            grpc_route([{"matches": [method("pkg.Svc")], "backendRefs": to("grpc-backend")}],
                       parents=mesh_parent(sectionName="grpc"), ts="2024-01-01T00:00:00Z")]
    r = make_router(objs, twin)
    v = r.service("svc", "app", 9000)
    assert picked(v, "/pkg.Svc/Get") == "grpc-backend"
    assert picked(v, "/other") == (404, 12)  # the HTTPRoute is not used on this port, even for non-matches
    assert r.service("svc", "app", 8080).route("GET", "/other").backend.name == "http-backend"
    # the HTTPRoute still serves port 8080, so its parent is Accepted
    assert conditions(r, "HTTPRoute", "h")[0]["Accepted"] == ("True", "Accepted")
    # once the GRPCRoute takes every port the HTTPRoute's parentRef covers, it is refused
    objs[3] = http_route(parents=mesh_parent(port=9000), backend="http-backend")
    r = make_router(objs, twin)
    assert picked(r.service("svc", "app", 9000), "/pkg.Svc/Get") == "grpc-backend"
    st = r.status("HTTPRoute", "app", "h")["parents"][0]["conditions"][0]
    assert (st["status"], st["reason"]) == ("False", "NotAllowedByListeners")
    assert "GRPCRoute app/g" in st["message"]


def test_mesh_preference_without_service_objects(twin, make_router):
    objs = [http_route(parents=mesh_parent(port=9000)),
            grpc_route([{"backendRefs": to("grpc")}], parents=mesh_parent())]
    r = make_router(objs, twin)
    assert picked(r.service("svc", "app", 9000), "/a.B/C") == "grpc"
    assert conditions(r, "HTTPRoute", "h")[0]["Accepted"][0] == "False"
    objs = [http_route(parents=mesh_parent()), grpc_route([{"backendRefs": to("grpc")}], parents=mesh_parent(port=9000))]
    r = make_router(objs, twin)
    assert picked(r.service("svc", "app", 9000), "/a.B/C") == "grpc"
    assert r.service("svc", "app", 1234).route("GET", "/").backend.name == "web"
    assert conditions(r, "HTTPRoute", "h")[0]["Accepted"] == ("True", "Accepted")


def test_mesh_preference_is_per_route_set(twin, make_router):
    """Producer and consumer route sets are never merged: a consumer GRPCRoute does not take
    the port from the producer HTTPRoute for other clients, nor a producer GRPCRoute from a
    consumer HTTPRoute."""
    objs = [SERVICE, *backend_services("producer-http"), *backend_services("consumer-grpc", ns="client"),
            http_route(parents=mesh_parent(namespace="app"), backend="producer-http"),
            grpc_route([{"backendRefs": to("consumer-grpc")}], ns="client",
                       parents=mesh_parent(namespace="app"))]
    r = make_router(objs, twin)
    assert picked(r.service("svc", "app", 9000, client_namespace="other"), "/a.B/C") == "producer-http"
    assert picked(r.service("svc", "app", 9000, client_namespace="client"), "/a.B/C") == "consumer-grpc"
    assert conditions(r, "HTTPRoute", "h")[0]["Accepted"] == ("True", "Accepted")
    objs = [SERVICE, *backend_services("producer-grpc"), *backend_services("consumer-http", ns="client"),
            http_route(ns="client", parents=mesh_parent(namespace="app"), backend="consumer-http"),
            grpc_route([{"backendRefs": to("producer-grpc")}], parents=mesh_parent(namespace="app"))]
    r = make_router(objs, twin)
    assert picked(r.service("svc", "app", 9000, client_namespace="client"), "/a.B/C") == "consumer-http"
    assert picked(r.service("svc", "app", 9000, client_namespace="other"), "/a.B/C") == "producer-grpc"
    assert conditions(r, "HTTPRoute", "h", ns="client")[0]["Accepted"] == ("True", "Accepted")


def test_grpc_route_status_reasons():
    objs = [gateway(), grpc_route([{"backendRefs": [{"name": "s", "namespace": "elsewhere", "port": 1}]}],
                                  hostnames=["a.example.com"])]
    r = routecore.Router(load(objs), seed=1)
    assert conditions(r, "GRPCRoute", "g") == [{"Accepted": ("True", "Accepted"),
                                               "ResolvedRefs": ("False", "RefNotPermitted")}]
    with pytest.raises(LookupError):
        r.status("GRPCRoute", "app", "missing")
    with pytest.raises(LookupError):
        r.status("HTTPRoute", "app", "g")  # the kind is part of the identity


def test_httproute_and_grpcroute_of_one_name_keep_their_own_outcomes(twin, make_router):
    """An HTTPRoute and a GRPCRoute may share namespace/name; on one listener (different
    hostnames) each answers with its own kind and backends, also after an update of one."""
    objs = [gateway(), http_route(name="x", hostnames=["h.example.com"], backend="web"),
            grpc_route([{"backendRefs": to("rpc")}], name="x", hostnames=["g.example.com"])]
    router = make_router(objs, twin)

    def both(r):
        v = r.gateway("edge", "infra")
        out = []
        for host in ("h.example.com", "g.example.com"):
            d = call(v, "/pkg.Svc/M", host=host)
            out.append((d.kind, d.route, d.backend.name))
        return out

    assert both(router) == [("HTTPRoute", "app/x", "web"), ("GRPCRoute", "app/x", "rpc")]
    changed = grpc_route([{"backendRefs": to("rpc2")}], name="x", hostnames=["g.example.com"])
    after = both(router.update(changed=[changed]))
    assert after == [("HTTPRoute", "app/x", "web"), ("GRPCRoute", "app/x", "rpc2")]
    assert after == both(make_router([objs[0], objs[1], changed], twin))
