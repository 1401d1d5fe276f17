"""Per-call cost of ``view.route(method, target, headers, host=...)``, both twins, growing tables.

Every call routes the next request of the workload's fixed list of 256 (hits spread over the
rules, ~10% misses), cycling; a round is ``iterations`` calls and pytest-benchmark reports the
time per call. ``test_route_floor`` is the same loop around a no-op function: subtract it to get
routecore's own cost.
"""
import itertools

import pytest

import workloads

CASES = [(twin, wl, n) for twin in ("native", "python") for wl in ("mesh", "gateway")
         for n in workloads.SIZES]


def _rounds(twin, n):
    """(rounds, iterations): the pure twin scans every entry of the candidate host groups, so at
    N=10000 one call takes milliseconds; keep its run short."""
    if twin == "native":
        return 200, 256
    if n <= 100:
        return 50, 256
    if n <= 1000:
        return 10, 64
    return 5, 16


@pytest.mark.parametrize("twin,workload,n", CASES, ids=[f"{t}-{w}-{n}" for t, w, n in CASES])
def test_route(benchmark, compile_view, twin, workload, n):
    view, requests = compile_view(twin, workload, n)
    route = view.route
    calls = itertools.cycle(requests)

    def one():
        method, target, headers, host = next(calls)
        return route(method, target, headers, host=host)

    # warm the view (first-use caches), then measure one request per call
    for method, target, headers, host in requests:
        route(method, target, headers, host=host)
    rounds, iterations = _rounds(twin, n)
    benchmark.pedantic(one, rounds=rounds, iterations=iterations, warmup_rounds=1)


def _noop(method, target, headers, *, host=None):
    return None


def test_route_floor(benchmark):
    """The cost of the call itself: a no-op Python function with the same arguments."""
    requests = workloads.mesh(10).requests
    calls = itertools.cycle(requests)

    def one():
        method, target, headers, host = next(calls)
        return _noop(method, target, headers, host=host)

    benchmark.pedantic(one, rounds=200, iterations=len(requests), warmup_rounds=1)
