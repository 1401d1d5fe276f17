"""Real requests: the workloads' requests with REAL_HEADERS (``host`` plus 11 common headers, the
Host in the headers) in every form a server hands them over (bench/workloads.py FORMS), native
twin, gateway and mesh at N=10,000, against the floor: bench/floor.pyx's ``route_headers``, a
Cython method with route()'s signature that walks the same headers and returns None.

One benchmark call routes the 256 requests once; bench/conftest.py prints the median per
decision. Ratios to read from one run: ``real[gateway-pairs]`` / ``real_floor[pairs]`` (the
issue's bound: 4x), ``real[gateway-scope]`` / ``real[gateway-asgi]`` (route_asgi against route()
on the same request: 1.3x) and ``real[gateway-wsgi]`` / ``real[gateway-pairs]`` (route_wsgi).
"""
import pytest

import floor
import workloads

N = 10_000
FORMS = workloads.FORMS
CASES = [(wl, form) for wl in ("gateway", "mesh") for form in FORMS]
_REQUESTS = {}


def _requests(wl, form):
    key = (wl, form)
    if key not in _REQUESTS:
        _REQUESTS[key] = workloads.real(wl, N, form)
    return _REQUESTS[key]


def _decide(view, form, r):
    if form == "wsgi":
        return view.route_wsgi(r.headers)
    if form == "scope":
        return view.route_asgi(r.headers)
    return view.route(r.method, r.target, r.headers)


def _calls(view, form, requests):
    """The zero-argument function a round times: one call per request, as a server makes it."""
    if form in ("wsgi", "scope"):  # the environ or the scope alone
        call = view.route_wsgi if form == "wsgi" else view.route_asgi
        items = [r.headers for r in requests]

        def run():
            for item in items:
                call(item)
    else:
        route = view.route
        args = [(r.method, r.target, r.headers) for r in requests]

        def run():
            for method, target, headers in args:
                route(method, target, headers)
    return run


@pytest.mark.parametrize("workload,form", CASES, ids=[f"{w}-{f}" for w, f in CASES])
def test_real(benchmark, compile_view, workload, form):
    view, _ = compile_view("native", workload, N)
    requests = _requests(workload, form)
    # every form decides as the (str, str) pairs do (rule and status; weighted draws differ)
    for r, p in zip(requests, _requests(workload, "pairs")):
        got, want = _decide(view, form, r), _decide(view, "pairs", p)
        assert (got.route, got.rule, got.status) == (want.route, want.rule, want.status), r
    run = _calls(view, form, requests)
    run()
    benchmark.extra_info["decisions"] = len(requests)
    benchmark.pedantic(run, rounds=300, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("form", ["pairs", "asgi", "mapping"])
def test_real_floor(benchmark, form):
    f = floor.floor().route_headers
    args = [(r.method, r.target, r.headers) for r in _requests("gateway", form)]

    def run():
        for method, target, headers in args:
            f(method, target, headers)

    benchmark.extra_info["decisions"] = len(args)
    benchmark.pedantic(run, rounds=300, iterations=1, warmup_rounds=1)
