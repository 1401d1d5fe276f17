"""A headers argument route() cannot read gives the same error on both twins whatever the
decision reads (README "Choices where the spec leaves room"): with ``host=`` given, the native
twin reads no header for a rule without header conditions, so it checks every item apart
(_check_given, _match_c_headers.pxi); without ``host=`` the Host walk reads them all."""
import pytest
from hypothesis import given, settings, strategies as st

from routecore import _match

from conftest import make_router

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

CONFIG = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: routecore
  listeners: [{name: web, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: app}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  hostnames: ["shop.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: plain, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /h}, headers: [{name: x-env, value: a}]}]
    backendRefs: [{name: env, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /r}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mesh, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: a, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /r}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]
"""

TARGETS = ["/plain/x", "/h", "/r/1", "/nowhere"]
HOST = ("host", "shop.example.com")
GOOD = [("accept", "*/*"), (b"x-env", b"a"), ("x-env", b"b"), (b"user-agent", "u"), (1, "v"),
        ["x-env", "a"], ("content-type", 5), "xy", b"ab"]  # (a 2-character str or bytes unpacks)
ODD = [("x-env",), ("x-env", "a", "b"), (), 7, None, "x", b"abc", {("a", "b")}]


@pytest.fixture(scope="module")
def views():
    out = {}
    for twin in (True, False):
        r = make_router(CONFIG, twin)
        out[twin] = [r.gateway("edge", namespace="infra", port=80),
                     r.service("svc", namespace="default", port=80)]
    return out


def _outcome(view, target, headers, kw):
    try:
        return "ok", view.route("GET", target, headers(), **kw).to_dict()
    except Exception as e:
        return "error", type(e), str(e)


def _agree(views, items, make=list):
    for i in range(2):
        for target in TARGETS:
            for kw in ({}, {"host": "shop.example.com"}):
                got = _outcome(views[True][i], target, lambda: make(items), kw)
                want = _outcome(views[False][i], target, lambda: make(items), kw)
                assert got == want, (i, target, kw, items)


@pytest.mark.parametrize("odd", range(len(ODD)))
@pytest.mark.parametrize("where", ["first", "after-host", "last"])
@pytest.mark.parametrize("make", [list, tuple, iter], ids=["list", "tuple", "iter"])
def test_an_item_no_twin_can_read_raises_on_both(views, odd, where, make):
    item = ODD[odd]
    items = {"first": [item, HOST], "after-host": [HOST, item] + GOOD,
             "last": [HOST] + GOOD + [item]}[where]
    _agree(views, items, make)
    if make is not iter:  # (a fresh iterator each call above; this one is shared)
        with pytest.raises((TypeError, ValueError)):
            views[True][0].route("GET", "/plain/x", make(items), host="shop.example.com")


def test_readable_items_of_every_kind_decide_on_both(views):
    _agree(views, [HOST] + GOOD)
    d = views[True][0].route("GET", "/plain/x", [HOST] + GOOD, host="shop.example.com")
    assert d.matched and d.backend is not None


@pytest.mark.parametrize("headers", [None, (), [], {}, {"x-env": "a", 3: b"b"}, 5, object()])
def test_other_headers_arguments(views, headers):
    for i in range(2):
        for target in TARGETS:
            for kw in ({}, {"host": "shop.example.com"}):
                got = _outcome(views[True][i], target, lambda: headers, kw)
                want = _outcome(views[False][i], target, lambda: headers, kw)
                assert got == want, (i, target, kw, headers)


ITEM = st.one_of(
    st.tuples(st.sampled_from(["x-env", "accept", b"x-env", "host", 1]),
              st.sampled_from(["a", b"a", "b", 2])),
    st.lists(st.sampled_from(["x-env", "a", b"b"]), max_size=3),
    st.tuples(st.just("x-env")),
    st.integers(),
    st.text(max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ITEM, max_size=6), st.sampled_from(TARGETS), st.booleans(), st.booleans())
def test_any_header_list_gives_one_answer(views, items, target, host, mesh):
    kw = {"host": "shop.example.com"} if host else {}
    i = int(mesh)
    assert (_outcome(views[True][i], target, lambda: list(items), kw)
            == _outcome(views[False][i], target, lambda: list(items), kw))
