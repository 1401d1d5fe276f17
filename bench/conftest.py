"""Shared fixtures for the routing benchmarks: compiled views, built once per (twin, workload, N).

``pytest bench/ --benchmark-only`` must work although pyproject's addopts disable benchmarks for
the unit-test run: asking for --benchmark-only re-enables them here.
"""
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import routecore  # noqa: E402
from routecore import _match  # noqa: E402

import workloads  # noqa: E402

_CACHE = {}
COMPILE_TIMES = {}
MEMORY = {}  # (workload, n) -> (rules, tracemalloc bytes per rule, RSS bytes per rule, RSS source)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if config.getoption("benchmark_only", False):
        config.option.benchmark_enable = True


def compiled(twin: str, workload: str, n: int):
    """(view, requests) for a twin ("native"/"python"); load and compile times are recorded."""
    key = (twin, workload, n)
    if key not in _CACHE:
        if twin == "native":
            assert _match.NativeTable is not None, "the native extension is not built"
        wl = workloads.WORKLOADS[workload](n)
        t0 = time.perf_counter()
        config = routecore.load(wl.objects)
        t1 = time.perf_counter()
        view = wl.bind(routecore.Router(config, seed=1, native=(twin == "native")))
        t2 = time.perf_counter()
        COMPILE_TIMES[key] = (t1 - t0, t2 - t1)
        _CACHE[key] = (view, wl.requests)
    return _CACHE[key]


@pytest.fixture(scope="session")
def compile_view():
    return compiled


@pytest.fixture(scope="session")
def memory_report():
    """record(workload, n, rules, tracemalloc_per_rule, rss_per_rule, rss_source): printed below."""
    def record(workload, n, rules, traced, rss, source):
        MEMORY[(workload, n)] = (rules, traced, rss, source)
    return record


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    rows = [(b.name, b.stats.median / b.extra_info["decisions"] * 1e9)
            for b in (session.benchmarks if session else [])
            if b.stats is not None and b.extra_info.get("decisions")]
    tr = terminalreporter
    if rows:
        tr.section("routecore: median ns per decision")
        for name, ns in sorted(rows):
            tr.write_line(f"{name:45} {ns:14,.0f} ns")
    if MEMORY:
        tr.section("routecore: memory per rule of a compiled view (config + router + view)")
        for (workload, n), (rules, traced, rss, source) in sorted(MEMORY.items()):
            tr.write_line(f"{workload:7} N={n:<6} rules {rules:6}   tracemalloc {traced:8,.0f} B/rule   "
                          f"RSS growth {rss:8,.0f} B/rule ({source})")
    if not COMPILE_TIMES:
        return
    tr.section("routecore load / compile times")
    for (twin, workload, n), (load_s, compile_s) in sorted(COMPILE_TIMES.items()):
        tr.write_line(f"{twin:6} {workload:7} N={n:<6} load {load_s * 1000:9.1f} ms   "
                      f"compile {compile_s * 1000:9.1f} ms")
