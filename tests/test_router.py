"""routecore._router: views, their errors, and caching."""
import pytest

import routecore
from routecore import _match

from builders import gateway_yaml, listener_yaml

SVC = """
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---""" + gateway_yaml(
    listener_yaml("web", from_=None),
    name="gw",
    ns="default",
    class_name="x")


def test_views_are_cached_per_key():
    r = routecore.Router.from_source(SVC)
    assert r.service("svc", port=80) is r.service("svc", port=80)
    assert r.gateway("gw") is r.gateway("gw", namespace="default", port=80)


def test_cached_view_is_the_compiled_view_or_none_and_follows_reload():
    r = routecore.Router.from_source(SVC)
    key = ("gateway", "default", "gw", 80)
    assert r.cached_view(key) is None  # not compiled yet: nothing is built by asking
    view = r.gateway("gw")
    assert r.cached_view(key) is view
    assert r.cached_view(("service", "default", "svc", 80, None)) is None
    r.reload(SVC)
    assert r.cached_view(key) is r.gateway("gw") and r.cached_view(key) is not view


@pytest.mark.parametrize("call, message", [
    (lambda r: r.gateway("nope"), "no Gateway default/nope"),
    (lambda r: r.gateway("gw", port=81), "has no listener on port 81"),
    (lambda r: r.service("nope"), "no Service default/nope"),
    (lambda r: r.service("svc", port=81), "has no port 81"),
])
def test_unknown_views_are_lookup_errors(call, message):
    r = routecore.Router.from_source(SVC)
    with pytest.raises(LookupError, match=message):
        call(r)


def test_router_needs_a_config():
    with pytest.raises(TypeError, match="Router.from_source"):
        routecore.Router("kind: HTTPRoute")


def test_native_false_uses_the_pure_twin():
    r = routecore.Router.from_source(SVC, native=False)
    assert type(r.service("svc")).__module__ == "routecore._match_py"


def test_native_true_without_the_extension_is_an_error(monkeypatch):
    monkeypatch.setattr(_match, "NativeTable", None)
    with pytest.raises(RuntimeError, match="native routecore extension is not available"):
        routecore.Router.from_source(SVC, native=True)


def test_seed_makes_choices_reproducible():
    text = SVC + """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules: [{backendRefs: [{name: a, port: 80}, {name: b, port: 80}]}]
---
{apiVersion: v1, kind: Service, metadata: {name: a, namespace: default}, spec: {ports: [{port: 80}]}}
---
{apiVersion: v1, kind: Service, metadata: {name: b, namespace: default}, spec: {ports: [{port: 80}]}}
"""
    def picks(seed):
        v = routecore.Router.from_source(text, seed=seed).service("svc")
        return [v.route("GET", "/").backend.name for _ in range(50)]
    assert picks(3) == picks(3)
    assert set(picks(3)) == {"a", "b"}


ROUTE = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
"""


def test_reload_swaps_the_configuration_and_keeps_old_tables(twin):
    r = routecore.Router.from_source(SVC + ROUTE, native=twin)
    old_view = r.gateway("gw")
    assert old_view.route("GET", "/", host="x").backend.name == "svc"
    r.reload(SVC + ROUTE.replace("name: svc, port: 80", "name: svc, port: 81"))
    assert r.generation == 1
    assert r.gateway("gw").route("GET", "/", host="x").backend.port == 81
    assert old_view.route("GET", "/", host="x").backend.port == 80  # in-flight table unchanged
    assert r.gateway("gw") is not old_view


def test_reload_of_an_invalid_config_keeps_the_old_one(twin):
    r = routecore.Router.from_source(SVC + ROUTE, native=twin)
    view = r.gateway("gw")
    with pytest.raises(routecore.ConfigError):
        r.reload(SVC + ROUTE.replace("port: 80}]}]", "port: 0}]}]"))
    assert r.generation == 0 and r.gateway("gw") is view


def test_reload_drops_views_that_no_longer_exist(twin):
    r = routecore.Router.from_source(SVC + ROUTE, native=twin)
    r.gateway("gw")
    r.reload(ROUTE)
    with pytest.raises(LookupError):
        r.gateway("gw")


def test_route_many_equals_route_one_by_one(twin):
    text = SVC + ROUTE + """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: m, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{headers: [{name: x-v, value: "2"}]}]
    backendRefs: [{name: svc, port: 80}]
"""
    requests = [("GET", "/"), ("GET", "/a", [("x-v", "2")]), ("GET", "/b", (), "h.example"),
                ("POST", "/c?x=1", {"X-V": "2"}, None)]
    one = routecore.Router.from_source(text, native=twin, seed=5).service("svc")
    many = routecore.Router.from_source(text, native=twin, seed=5).service("svc")
    expected = [one.route(*r[:3], host=r[3]) if len(r) == 4 else one.route(*r) for r in requests]
    assert [d.to_dict() for d in many.route_many(requests)] == [d.to_dict() for d in expected]
    with pytest.raises(ValueError, match="a request is"):
        many.route_many([("GET",)])


# --- repr (issue 11, item 13) --------------------------------------------------------------------


def test_repr_of_router_and_views_says_what_they_are():
    from pathlib import Path

    from routecore import NATIVE, Router

    examples = Path(__file__).resolve().parent.parent / "examples"
    for native in ([True, False] if NATIVE else [False]):
        twin = "native" if native else "pure"
        router = Router.from_source(examples, seed=1, native=native)
        assert repr(router) == f"<Router generation=0 gateways=1 services=0 routes=2 {twin}>"
        edge = router.gateway("edge", namespace="infra", port=80)
        assert repr(edge) == f"<GatewayView infra/edge:80 listeners=1 rules=2 {twin}>"
        mesh = router.service("reviews", port=9080, client_namespace="shop")
        assert repr(mesh) == f"<ServiceView default/reviews:9080 client=shop rules=2 {twin}>"
        assert repr(router.service("reviews", port=9080)).startswith("<ServiceView default/reviews:9080 rules=")
        router.reload(examples)
        assert repr(router).startswith("<Router generation=1 ")
        bare = type(edge).__new__(type(edge))
        assert repr(bare) == f"<routecore view (not initialised) {twin}>"
