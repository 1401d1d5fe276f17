"""Per-call cost of ``view.route(method, target, headers, host=...)``, both twins, growing tables.

One benchmark call routes the workload's fixed list of 256 requests (hits spread over the rules,
~10% misses) in a plain loop; pytest-benchmark reports the time of the whole list and
bench/conftest.py prints the median per decision (the list's median divided by its length).
``test_route_floor`` is the same loop around a no-op function.
"""
import pytest

import workloads

CASES = [(twin, wl, n) for twin in ("native", "python") for wl in ("mesh", "gateway")
         for n in workloads.SIZES]


def _plan(twin, n):
    """(rounds, requests per round): the pure twin scans every entry of the candidate host
    groups, so at N=10000 one call takes milliseconds; keep its runs short."""
    if twin == "native":
        return 1000, None  # ~50 ms of rounds: a median that a short burst of other load can't move
    if n <= 100:
        return 20, None
    if n <= 1000:
        return 5, 64
    return 3, 16


def batch(route, requests):
    """One benchmark call routes every request of the list once, in a plain loop."""

    def run():
        for method, target, headers, host in requests:
            route(method, target, headers, host=host)

    return run


@pytest.mark.parametrize("twin,workload,n", CASES, ids=[f"{t}-{w}-{n}" for t, w, n in CASES])
def test_route(benchmark, compile_view, twin, workload, n):
    view, requests = compile_view(twin, workload, n)
    rounds, limit = _plan(twin, n)
    requests = requests[:limit] if limit else requests
    run = batch(view.route, requests)
    run()  # warm up: first-use caches
    benchmark.extra_info["decisions"] = len(requests)
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)


def _noop(method, target, headers, *, host=None):
    return None


def test_route_floor(benchmark):
    """The cost of the loop and the call itself: a no-op Python function, same arguments."""
    requests = workloads.mesh(10).requests
    run = batch(_noop, requests)
    benchmark.extra_info["decisions"] = len(requests)
    benchmark.pedantic(run, rounds=100, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("twin", ["native", "python"])
@pytest.mark.parametrize("workload", ["mesh", "gateway"])
def test_route_many(benchmark, compile_view, twin, workload):
    """The batch entry point: ``view.route_many(requests)`` over the whole list per call."""
    n = 1000
    view, requests = compile_view(twin, workload, n)
    requests = [r if r[3] is not None else r[:3] for r in requests]
    if twin == "python":
        requests = requests[:64]
    view.route_many(requests)  # warm up
    benchmark.extra_info["decisions"] = len(requests)
    benchmark.pedantic(view.route_many, args=(requests,), rounds=50 if twin == "native" else 5,
                       iterations=1, warmup_rounds=1)
