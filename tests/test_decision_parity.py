"""One public Decision type: both twins' decisions are ``routecore.Decision``, expose the same
attributes (routecore._decision's lists, which the stub and routecore.types.Decision declare too)
and give equal values for the same requests."""
import ast
from pathlib import Path

import pytest

import routecore
from routecore import _decision, _match, types
from routecore._match_py import Decision as PyDecision

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")

CONFIG = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: gc
  listeners:
  - {name: web, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: infra}
spec:
  parentRefs: [{name: edge}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 301}
  - matches: [{path: {type: PathPrefix, value: /api}}]
    timeouts: {request: 5s}
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 8080}}
    - type: URLRewrite
      urlRewrite: {hostname: api.internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {add: [{name: x-served, value: "yes"}]}
    backendRefs: [{name: api, port: 8080, weight: 3}, {name: api-canary, port: 8080, weight: 1}]
  - matches: [{path: {type: Exact, value: /}}]
    backendRefs: [{name: home, port: 80}]
"""
REQUESTS = [
    ("GET", "/old/page?q=1", (), "shop.example.com"),        # redirect
    ("GET", "/api/items?x=1", (("x-a", "1"),), "shop.example.com"),  # rewrite, mirror, timeouts
    ("POST", "/api/items", (), "shop.example.com"),
    ("GET", "/", (), "shop.example.com"),
    ("GET", "/nowhere", (), "shop.example.com"),              # 404
    ("GET", "/", (), "other.example.com"),                    # 404: no route for the host
    ("GET", "/api/x", (("content-type", "application/grpc"),), "shop.example.com"),
    ("GET", "/api/../..//x", (), "shop.example.com"),
    ("GET", "/", (), "bad host"),                             # 400: invalid Host
    ("GET", "relative", (), "shop.example.com"),              # 400: refused path
]


def _views():
    out = []
    for native in (False, True):
        router = routecore.Router(routecore.load(CONFIG), native=native, seed=7)
        out.append(router.gateway("edge", namespace="infra", port=80))
    return out


def test_both_twins_decisions_are_the_one_public_type():
    py, c = _views()
    for view in (py, c):
        d = view.route("GET", "/", host="shop.example.com")
        assert isinstance(d, routecore.Decision)
    assert _match.PyDecision is not _match.NativeDecision
    assert not isinstance(object(), routecore.Decision)


def _public(cls):
    return {n for n in dir(cls) if not n.startswith("_")}


def test_both_twins_expose_exactly_the_field_list():
    expected = set(_decision.FIELDS + _decision.METHODS + _decision.FAST_PATH)
    assert _public(PyDecision) == expected
    assert _public(_match.NativeDecision) == expected
    assert set(_decision.CHOICE_FIELDS + _decision.REQUEST_FIELDS) == set(_decision.FIELDS)
    assert len(set(_decision.FIELDS)) == len(_decision.FIELDS)


def test_the_stub_and_the_protocol_declare_the_field_list():
    expected = set(_decision.FIELDS + _decision.METHODS + _decision.FAST_PATH)
    tree = ast.parse((ROOT / "routecore" / "_match_c.pyi").read_text())
    stub = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Decision")
    names = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
    assert {n for n in names if not n.startswith("_")} == expected
    proto = {n for n in vars(types.Decision) if not n.startswith("_")}
    assert proto == expected


def test_both_twins_give_equal_values_for_every_field():
    py, c = _views()
    statuses = set()
    for method, target, headers, host in REQUESTS:
        a = py.route(method, target, headers, host=host)
        b = c.route(method, target, headers, host=host)
        for name in _decision.FIELDS + _decision.FAST_PATH:
            assert getattr(a, name) == getattr(b, name), (target, host, name)
        for name in ("apply_request_headers", "apply_response_headers"):
            assert getattr(a, name)(headers) == getattr(b, name)(headers), (target, name)
        assert a.to_dict() == b.to_dict()
        assert list(a.to_dict()) == list(_decision.FIELDS)
        statuses.add(a.status)
    # the set covers a forward, a redirect, a 404 and a 400
    assert {None, 301, 404, 400} <= statuses
    api = py.route("GET", "/api/items", host="shop.example.com")
    assert api.mirrors and api.timeouts is not None and api.changes.rewrite is not None
    assert api.changes.response_headers and not api.changes.request_headers
    assert api.request_path == "/api/items" and api.upstream_path == "/v2/items"


def test_the_same_seed_picks_the_same_weighted_backends_in_both_twins():
    py, c = _views()
    picks = [[v.route("GET", "/api/x", host="shop.example.com").backend.name for _ in range(64)]
             for v in (py, c)]
    assert picks[0] == picks[1] and len(set(picks[0])) == 2
