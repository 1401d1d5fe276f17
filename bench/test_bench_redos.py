"""Hostile configurations: the time of patterns that backtrack catastrophically in a backtracking
engine, against 100 KB adversarial values (RE2: linear), and of loading and compiling a
10,000-route configuration. tests/test_hostile.py checks the decisions; only the time is here.

``test_redos_header`` / ``test_redos_path``: one benchmark call routes one request whose 100 KB
header value (or path) is a near miss for the pattern; conftest.py prints ns per decision.
``test_redos_scale``: the same at 10 KB and 1 MB for ``(a+)+$``, to see the time grow linearly.
``test_load_10000_routes`` / ``test_compile_10000_routes``: routecore.load of 10,000 HTTPRoutes
(dicts), and Router + the view's table (per twin).
"""
import pytest

import routecore
from routecore import _match

import workloads

TWINS = ("native", "python")
REDOS = {
    "(a+)+$": "a" * 100_000 + "!",
    "(x|x)*y": "x" * 100_000,
    "(.*a){20}": "a" * 19 + "b" * 100_000,
    "(a|aa)+b": "a" * 100_000,
}
IDS = {"(a+)+$": "nested-plus", "(x|x)*y": "alt-star", "(.*a){20}": "dotstar-20", "(a|aa)+b": "overlap-alt"}
CASES = [(t, rx) for t in TWINS for rx in REDOS]


def _config(patterns):
    rules = [{"matches": [{"path": {"type": "PathPrefix", "value": f"/h{i}"},
                           "headers": [{"type": "RegularExpression", "name": "x-v", "value": rx}]},
                          {"path": {"type": "RegularExpression", "value": f"/p{i}/{rx}"}}],
              "backendRefs": [{"name": f"b{i}", "port": 80}]} for i, rx in enumerate(patterns)]
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "redos", "namespace": "default"},
            "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 80}],
                     "rules": rules}}


_VIEWS = {}


def _view(twin):
    if twin not in _VIEWS:
        if twin == "native":
            assert _match.NativeTable is not None, "the native extension is not built"
        cfg = routecore.load(_config(list(REDOS)))
        _VIEWS[twin] = routecore.Router(cfg, seed=1, native=(twin == "native")).service("svc")
    return _VIEWS[twin]


def _bench(benchmark, route, args, kwargs=None, rounds=20):
    d = route(*args, **(kwargs or {}))
    assert d.status == 404  # a near miss, decided
    benchmark.extra_info["decisions"] = 1
    benchmark.pedantic(route, args=args, kwargs=kwargs or {}, rounds=rounds, iterations=1,
                       warmup_rounds=1)


@pytest.mark.parametrize("twin,rx", CASES, ids=[f"{t}-{IDS[rx]}" for t, rx in CASES])
def test_redos_header(benchmark, twin, rx):
    i = list(REDOS).index(rx)
    _bench(benchmark, _view(twin).route, ("GET", f"/h{i}", [("x-v", REDOS[rx])]))


@pytest.mark.parametrize("twin,rx", CASES, ids=[f"{t}-{IDS[rx]}" for t, rx in CASES])
def test_redos_path(benchmark, twin, rx):
    i = list(REDOS).index(rx)
    _bench(benchmark, _view(twin).route, ("GET", f"/p{i}/" + REDOS[rx]))


@pytest.mark.parametrize("size", [10_000, 100_000, 1_000_000])
def test_redos_scale(benchmark, size):
    _bench(benchmark, _view("native").route, ("GET", "/h0", [("x-v", "a" * size + "!")]), rounds=10)


_BIG = {}


def _big():
    if "objs" not in _BIG:
        _BIG["objs"] = workloads.mixed_routes()
        _BIG["config"] = routecore.load(_BIG["objs"])
    return _BIG


def test_load_10000_routes(benchmark):
    objs = _big()["objs"]
    config = benchmark.pedantic(routecore.load, args=(objs,), rounds=3, iterations=1)
    assert len(config.routes) == 10_000


@pytest.mark.parametrize("twin", TWINS)
def test_compile_10000_routes(benchmark, twin):
    config = _big()["config"]

    def compile_view():
        return routecore.Router(config, seed=1, native=(twin == "native")).service("svc")

    view = benchmark.pedantic(compile_view, rounds=3, iterations=1)
    assert view.route("GET", "/r9998/12").backend.name == "b9998"
