"""routecore.testing: its strategies give what they promise, and reference_decide agrees with both twins."""
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, note, settings, strategies as st
from hypothesis.errors import InvalidArgument

import routecore
from routecore import testing as rt
from routecore.testing import (InvalidHTTPRoute, ReferenceDecision, configs, gateways, grpcroutes, httproutes,
                               invalid_httproutes, parents, reference_decide, requests_for)

for _name, _kw in (("ci", dict(max_examples=300)), ("long", dict(max_examples=20000))):
    try:
        settings.get_profile(_name)
    except InvalidArgument:
        settings.register_profile(_name, deadline=None, **_kw)
_LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long" or settings.get_current_profile_name() == "long"


def _settings(n):
    base = settings.get_profile("long" if _LONG else "ci")
    return settings(base, max_examples=base.max_examples if _LONG else n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_import_routecore_imports_neither_testing_nor_hypothesis():
    code = ("import sys, routecore; bad = [m for m in ('routecore.testing', 'hypothesis') if m in sys.modules];"
            " assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the public names: the package split (strategies, invalid objects, oracle) kept every one ---

PUBLIC_NAMES = {"API_VERSIONS", "BACKENDS", "CONFLICTING_LISTENERS", "CONTROLS", "FILTER_KINDS",
                "GATEWAY_GROUP", "GRPC_API_VERSIONS", "GRPC_CONTENT_TYPES", "GRPC_METHODS",
                "GRPC_METHOD_REGEXES", "GRPC_SERVICES", "GRPC_SERVICE_REGEXES", "GRPC_TARGETS", "GW_HOSTS",
                "GW_ROUTE_HOSTNAMES", "HEADER_NAMES", "HEADER_REGEXES", "HEADER_VALUES",
                "HOSTILE_SEGMENTS", "HOSTS", "HOST_TRICKS", "INVALID_HOSTS", "InvalidHTTPRoute",
                "LISTENER_HOSTNAMES", "LISTENER_HOSTNAMES_FULL", "MATCH_KINDS", "NAMESPACES", "NS_LABELS",
                "ORIGIN_TRICKS", "PATH_TRICKS", "PATH_VALUES", "QUERIES", "QUERY_NAMES", "QUERY_REGEXES",
                "QUERY_VALUES", "REGEXES", "REQ_HEADER_NAMES", "REQ_HEADER_VALUES", "ROUTE_HOSTNAMES",
                "ROUTE_KINDS", "ROUTE_NAMES", "ReferenceDecision", "SAFE_REGEXES", "SEGMENTS", "SELECTORS",
                "SNIS", "SPECIAL_TARGETS", "TIMESTAMPS", "TOKEN_TRICKS", "TRICKY_REGEXES", "configs",
                "gateways", "generic_requests", "grpcroutes", "httproutes", "injected_httproutes",
                "invalid_httproutes", "parents", "reference_decide", "register_profiles", "requests_for",
                # issue 13: the TLS/TCP/UDP kinds
                "STREAM_LISTENERS", "STREAM_PORTS", "STREAM_SNIS", "TLS_ROUTE_HOSTNAMES", "reference_decide_stream",
                "stream_configs", "stream_connections"}


def test_public_names_are_pinned():
    # every public name the single-module routecore.testing had, but the names it imported for its
    # own use (st, copy, re, re2, dataclass and typing names)
    assert {n for n in dir(rt) if not n.startswith("_")} == PUBLIC_NAMES
    assert sorted(rt.__all__) == ["InvalidHTTPRoute", "ReferenceDecision", "configs", "gateways", "generic_requests",
                                  "grpcroutes", "httproutes", "injected_httproutes", "invalid_httproutes",
                                  "parents", "reference_decide", "reference_decide_stream", "register_profiles",
                                  "requests_for", "stream_configs", "stream_connections"]


# --- valid objects are accepted ------------------------------------------------------------------

@_settings(150)
@given(route=st.one_of(httproutes(), httproutes(parent="gateway"), grpcroutes(), grpcroutes(parent="gateway"),
                       httproutes(match_kinds=("Exact",), filter_kinds=(), regexes=False, max_rules=1),
                       httproutes(filter_kinds=rt.FILTER_KINDS, min_rules=3, max_rules=6, max_matches=5)))
def test_routes_are_valid(route):
    cfg = routecore.load(route)
    assert len(cfg.routes) == 1 and cfg.issues == ()


@_settings(60)
@given(gw=st.one_of(gateways(), gateways(shape="simple")))
def test_gateways_are_valid(gw):
    assert len(routecore.load(gw).gateways) == 1


def test_knobs_are_honoured():
    @_settings(60)
    @given(route=httproutes(match_kinds=("Exact", "headers"), regexes=False, filter_kinds=(), max_rules=2))
    def check(route):
        assert 1 <= len(route["spec"]["rules"]) <= 2
        for rule in route["spec"]["rules"]:
            assert "filters" not in rule
            for m in rule.get("matches", ()):
                assert set(m) <= {"path", "headers"}
                assert m.get("path", {}).get("type", "Exact") == "Exact" or m["path"]["value"] == "/"
                assert all(h.get("type", "Exact") == "Exact" for h in m.get("headers", ()))
    check()


CONFIG_SHAPES = {
    "mesh-simple": dict(parent="mesh", shape="simple"),
    "mesh-full": dict(parent="mesh"),
    "mesh-grpc": dict(parent="mesh", shape="simple", grpc="only"),
    "gateway-simple": dict(parent="gateway", shape="simple"),
    "gateway-full": dict(parent="gateway"),
}


@pytest.mark.parametrize("shape", list(CONFIG_SHAPES))
def test_configs_load_and_route_on_every_parent(shape):
    @_settings(60)
    @given(objs=configs(**CONFIG_SHAPES[shape]), data=st.data())
    def check(objs, data):
        router = routecore.Router(routecore.load(objs), seed=1)
        ps = parents(objs)
        assert ps or not any(o["kind"] == "Gateway" for o in objs)
        for p in ps:
            view = (router.gateway(p["name"], p["namespace"], p["port"]) if p["kind"] == "Gateway" else
                    router.service(p["name"], p["namespace"], p["port"], p["client_namespace"]))
            req = data.draw(requests_for(objs))
            assert set(req) <= {"method", "target", "headers", "host", "sni"}
            d = view.route(req["method"], req["target"], req["headers"], host=req["host"], sni=req.get("sni"))
            routes = {(o["kind"], f'{o["metadata"]["namespace"]}/{o["metadata"]["name"]}'): o for o in objs
                      if o["kind"] in ("HTTPRoute", "GRPCRoute")}
            assert (d.route is None) == (d.rule is None) and (d.route is None or d.matched)
            if d.route is not None:  # a rule of a route of this config, of its kind
                assert 0 <= d.rule < len(routes[d.kind, d.route]["spec"]["rules"])
            assert (d.status is None) != (d.backend is None)
            expected = reference_decide(objs, p, req)
            assert expected.admits(d), f"{req}: reference {expected}, got {d!r}"
    check()


# --- invalid objects are refused, at the stated path ---------------------------------------------

@_settings(400)
@given(case=st.one_of(invalid_httproutes(), invalid_httproutes(parent="mesh")))
def test_invalid_httproutes_are_refused_at_the_stated_path(case):
    assert isinstance(case, InvalidHTTPRoute)
    with pytest.raises(routecore.ConfigError) as info:
        routecore.load(case.obj)
    paths = {e.path for e in info.value.errors}
    note(f"{case.rule}: {info.value}")
    assert paths == {case.path}, f"{case.rule}: expected only {case.path}, got {sorted(paths)}"


# --- reference_decide against both twins ---------------------------------------------------------

OPTIONS = st.fixed_dictionaries({"regex_precedence": st.sampled_from(["after-prefix", "before-prefix"]),
                                 "normalize_path": st.booleans(), "merge_slashes": st.booleans(),
                                 "escaped_slashes": st.sampled_from(["reject", "keep", "unescape"])})


def _agree(objs, data, options, max_requests=4):
    routers = [routecore.Router(routecore.load(objs), seed=3, native=n, **options)
               for n in ((True, False) if routecore.NATIVE else (False,))]
    reqs = requests_for(objs)
    for p in parents(objs):
        for router in routers:
            view = (router.gateway(p["name"], p["namespace"], p["port"]) if p["kind"] == "Gateway" else
                    router.service(p["name"], p["namespace"], p["port"], p["client_namespace"]))
            for req in data.draw(st.lists(reqs, min_size=1, max_size=max_requests)):
                expected = reference_decide(objs, p, req, **options)
                d = view.route(req["method"], req["target"], req["headers"], host=req["host"], sni=req.get("sni"))
                if not expected.admits(d):
                    note(f"parent {p}\nrequest {req}\nreference {expected}\ngot {d!r}")
                assert expected.admits(d)


@_settings(150)
@given(objs=configs(parent="gateway"), data=st.data(), options=OPTIONS)
def test_reference_agrees_with_twins_on_gateways(objs, data, options):
    _agree(objs, data, options)


@_settings(150)
@given(objs=st.one_of(configs(parent="mesh"), configs(parent="mesh", shape="simple", grpc="only")),
       data=st.data(), options=OPTIONS)
def test_reference_agrees_with_twins_on_mesh(objs, data, options):
    _agree(objs, data, options, max_requests=2)


# --- reference_decide by hand ---------------------------------------------------------------------

GW = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "infra"},
      "spec": {"gatewayClassName": "gc", "listeners": [
          {"name": "any", "port": 443, "protocol": "HTTPS", "allowedRoutes": {"namespaces": {"from": "All"}}},
          {"name": "wild", "port": 443, "protocol": "HTTPS", "hostname": "*.example.com",
           "allowedRoutes": {"namespaces": {"from": "All"}}}]}}


def _route(name, ns, hostnames, rules):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [{"name": "gw", "namespace": "infra"}], "hostnames": hostnames, "rules": rules}}


CONFIG = [GW,
          _route("shop", "store", ["shop.example.com"], [
              {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
               "backendRefs": [{"name": "api", "port": 80}, {"name": "api", "namespace": "other", "port": 80}]}]),
          _route("all", "store", [], [{"backendRefs": [{"name": "web", "port": 80}]}])]
PARENT = {"kind": "Gateway", "namespace": "infra", "name": "gw", "port": 443}


@pytest.mark.parametrize("request_, expected", [
    ({"method": "GET", "target": "/api/x", "headers": [], "host": "shop.example.com"},
     ReferenceDecision(route="store/shop", kind="HTTPRoute", rule=0, listener="wild", backends=frozenset(
         {("store", "api", 80)}), statuses=frozenset({500}),
         invalid_backends=frozenset({("other", "api", 80, "RefNotPermitted")}))),
    ({"method": "GET", "target": "/apix", "headers": [("Host", "Shop.Example.com:443")]},
     ReferenceDecision(route="store/all", kind="HTTPRoute", rule=0, listener="wild",
                       backends=frozenset({("store", "web", 80)}))),
    ({"method": "GET", "target": "/", "headers": [], "host": "shop.example.com", "sni": "other.org"},
     ReferenceDecision(status=421, statuses=frozenset({421}))),
    ({"method": "GET", "target": "/", "headers": [], "host": "other.org"},
     ReferenceDecision(route="store/all", kind="HTTPRoute", rule=0, listener="any",
                       backends=frozenset({("store", "web", 80)}))),
])
def test_reference_by_hand(request_, expected):
    assert reference_decide(CONFIG, PARENT, request_) == expected
    d = routecore.Router(routecore.load(CONFIG), seed=1).gateway("gw", "infra", 443).route(
        request_["method"], request_["target"], request_["headers"], host=request_.get("host"),
        sni=request_.get("sni"))
    assert expected.admits(d)


def test_reference_mesh_without_routes_goes_to_the_service():
    r = reference_decide([], {"kind": "Service", "namespace": "default", "name": "svc", "port": 80},
                         {"method": "GET", "target": "/"})
    assert r == ReferenceDecision(backends=frozenset({("default", "svc", 80)})) and not r.matched


def test_reference_unknown_parent_is_a_lookup_error():
    with pytest.raises(LookupError):
        reference_decide(CONFIG, dict(PARENT, port=80), {"method": "GET", "target": "/"})


# --- found by reference_decide: a wildcard stands for one or more labels, never an empty one -------

@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("host", [".a.example.com", "a..example.com"])
def test_empty_label_host_matches_no_wildcard(native, host):
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
          "metadata": {"name": "gw", "namespace": "default"},
          "spec": {"gatewayClassName": "gc", "listeners": [
              {"name": "wild", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"}]}}
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "default"},
             "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "b", "port": 80}]}]}}
    req = {"method": "GET", "target": "/", "headers": [], "host": host}
    parent = {"kind": "Gateway", "namespace": "default", "name": "gw", "port": 80}
    expected = reference_decide([gw, route], parent, req)
    assert expected == ReferenceDecision(status=404, statuses=frozenset({404}))  # no listener takes it
    d = routecore.Router(routecore.load([gw, route]), seed=1, native=native).gateway(
        "gw", "default", 80).route("GET", "/", host=host)
    assert expected.admits(d) and d.status == 404 and d.listener is None
