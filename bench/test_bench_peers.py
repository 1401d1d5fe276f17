"""routecore against the routers a Python user would otherwise pick, on shared workloads.

``pytest bench/test_bench_peers.py --benchmark-only --benchmark-json=out.json`` then
``python bench/report.py out.json --markdown bench/results.md --plot bench/results.png``.

Every contender (bench/peers/) is built from the same route set in its own terms and must give,
on the benchmarked requests, the rule routecore gives (a wrong-but-fast answer is not a result);
a contender that cannot express what the workload uses is skipped, with the reason. One
benchmark call routes the request list once in a plain loop; ``extra_info["decisions"]`` is the
list's length, so median / decisions is the time of one decision, as in test_bench_route.py.

Slow cells (the linear scanners at large N) route a prefix of the list and run fewer rounds, so
that each cell measures about a second (PEERS_CELL_SECONDS) and the file runs in about 4 minutes.
``test_floor`` is the same loop around an empty method of a cdef class (bench/floor.pyx,
compiled by bench/floor.py) with view.route's signature: the cost of the loop and the call.
"""
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import peers  # noqa: E402
from peers import workloads  # noqa: E402

CELL_SECONDS = float(os.environ.get("PEERS_CELL_SECONDS", "1.0"))  # measured time per cell
LIST_SECONDS = 0.05     # one round routes at most this much (longer lists are cut)
MAX_ROUNDS = 100
MIN_ROUNDS = 3

CASES = [(wl, n, c) for wl, sizes in workloads.WORKLOAD_SIZES.items() for n in sizes
         for c in peers.CONTENDERS]

_REFERENCE = {}


def _reference(wl):
    """(routecore's contender, its answers on the workload's requests: the expected answers)."""
    key = (wl.name, wl.n)
    if key not in _REFERENCE:
        _REFERENCE.clear()  # one workload at a time: the tables at N=16,384 are large
        c = peers.module("routecore").build(wl)
        _REFERENCE[key] = (c, c.answers(wl.requests))
    return _REFERENCE[key]


def _plan(contender, requests):
    """(requests, rounds): time a few requests, cut the list so that one round stays under
    LIST_SECONDS, then run enough rounds for about CELL_SECONDS."""
    probe = requests[:8]
    run = contender.batch(probe)
    reset = getattr(contender, "reset", None)
    run()
    if reset:
        reset()
    t0 = time.perf_counter()
    run()
    per = max((time.perf_counter() - t0) / len(probe), 1e-8)
    limit = len(requests)
    if per * limit > LIST_SECONDS:
        limit = max(16, int(LIST_SECONDS / per) // 16 * 16)
    rounds = int(CELL_SECONDS / (per * limit))
    return requests[:limit], max(MIN_ROUNDS, min(MAX_ROUNDS, rounds))


@pytest.mark.parametrize("workload,n,contender", CASES,
                         ids=[f"{w}-{n}-{c}" for w, n, c in CASES])
def test_peer(benchmark, workload, n, contender):
    wl = workloads.get(workload, n)
    why = peers.cannot(contender, wl)
    if why:
        pytest.skip(f"{contender} on {workload}: {why}")
    try:
        mod = peers.module(contender)
    except ImportError as exc:  # the bench extra is not installed
        pytest.skip(f"{contender}: {exc}")
    ref, expected = _reference(wl)
    c = ref if contender == "routecore" else mod.build(wl)
    requests, rounds = _plan(c, wl.requests)
    got = c.answers(requests)
    wrong = [(r.method, r.target, r.host, e, g)
             for r, e, g in zip(requests, expected, got) if e != g]
    assert not wrong, f"{contender} disagrees with routecore on {len(wrong)} requests: {wrong[:3]}"
    run = c.batch(requests)
    benchmark.extra_info.update(decisions=len(requests), contender=contender,
                                workload=workload, n=n, rules=len(wl.entries))
    benchmark.pedantic(run, setup=getattr(c, "reset", None), rounds=rounds, iterations=1,
                       warmup_rounds=1)


@pytest.fixture(scope="session")
def floor_route():
    """bench/floor.pyx's ``Floor().route``, compiled with Cython (bench/floor.py)."""
    pytest.importorskip("Cython", reason="the floor is compiled with Cython (bench extra)")
    import floor
    return floor.floor().route


def test_floor(benchmark, floor_route):
    """The loop and the call alone: routecore's batch loop around an empty Cython method."""
    requests = [tuple(r) for r in workloads.get("mesh", 10).requests]

    def run():
        for method, target, headers, host in requests:
            floor_route(method, target, headers, host=host)

    benchmark.extra_info.update(decisions=len(requests), contender="floor", workload="floor", n=0)
    benchmark.pedantic(run, rounds=MAX_ROUNDS, iterations=1, warmup_rounds=1)
