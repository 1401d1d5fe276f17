"""Time of ``routecore.load`` and of compiling a view, and memory per rule of a compiled view
(issue 6: "compile: 10,000 routes in <= 1 s; memory <= 2 KB per rule").

``test_load`` / ``test_compile``: the two phases bench/conftest.py's ``compiled()`` times, per
workload (mesh, gateway) and N (1,000 and 10,000), native twin: ``routecore.load(objects)``, then
``wl.bind(routecore.Router(config, seed=1))`` (Router + the view's table) on a config loaded
once. ``extra_info``: ``routes`` (HTTPRoute objects) and ``rules`` (their rules).

``test_patch``: ``Router.update``'s configuration side (routecore._config.patch) with 1 or 1,000
of the gateway workload's 10,000 routes changed.

``test_memory_per_rule``: at N=10,000, in a fresh interpreter (nothing else built before), the
bytes a compiled view holds per rule (config + router + view together), two ways:
``tracemalloc_bytes_per_rule`` (Python-heap bytes traced while building, still held after a full
collection) and ``rss_bytes_per_rule`` (growth of the resident set over the same build, which
also counts C/C++ allocations and freed memory the allocator keeps). The benchmark time of that
test is the subprocess's, which is not a figure of interest; its ``extra_info`` also holds the
load and compile times of that fresh process. Limits are reported (conftest.py prints the
figures), never asserted.
"""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

import routecore
from routecore import _match
from routecore._config.patch import patch

import workloads

BENCH_DIR = str(Path(__file__).parent)
WORKLOADS = ("mesh", "gateway")
SIZES = (1000, 10000)
CASES = [(wl, n) for wl in WORKLOADS for n in SIZES]
IDS = [f"{wl}-{n}" for wl, n in CASES]

_WORKLOADS = {}


def _workload(name, n):
    if (name, n) not in _WORKLOADS:
        _WORKLOADS[(name, n)] = workloads.WORKLOADS[name](n)
    return _WORKLOADS[(name, n)]


def counts(objects):
    """(HTTPRoute objects, HTTPRoute rules) of a workload's Kubernetes objects."""
    routes = [o for o in objects if o.get("kind") == "HTTPRoute"]
    return len(routes), sum(len(o["spec"].get("rules", ())) for o in routes)


def _native():
    assert _match.NativeTable is not None, "the native extension is not built"


@pytest.mark.parametrize("workload,n", CASES, ids=IDS)
def test_load(benchmark, workload, n):
    wl = _workload(workload, n)
    routes, rules = counts(wl.objects)
    benchmark.extra_info.update(routes=routes, rules=rules)
    config = benchmark.pedantic(routecore.load, args=(wl.objects,), rounds=3, iterations=1)
    assert len(config.routes) == routes


@pytest.mark.parametrize("workload,n", CASES, ids=IDS)
def test_compile(benchmark, workload, n):
    _native()
    wl = _workload(workload, n)
    routes, rules = counts(wl.objects)
    config = routecore.load(wl.objects)

    def compile_view():
        return wl.bind(routecore.Router(config, seed=1, native=True))

    benchmark.extra_info.update(routes=routes, rules=rules)
    view = benchmark.pedantic(compile_view, rounds=3, iterations=1)
    method, target, headers, host = wl.requests[0]
    assert view.route(method, target, headers, host=host).matched  # the first request is a hit


@pytest.mark.parametrize("changed", (1, 1000))
def test_patch(benchmark, changed):
    """The configuration side of ``Router.update``: ``changed`` of the gateway workload's 10,000
    routes modified (a label added), parsed and put in place of the old ones."""
    wl = _workload("gateway", 10000)
    config = routecore.load(wl.objects)
    objects = [copy.deepcopy(o) for o in wl.objects[1:1 + changed]]
    for o in objects:
        o["metadata"]["labels"] = {"release": "2"}
    benchmark.extra_info.update(routes=len(config.routes), changed=changed)
    new, touched, changes = benchmark.pedantic(patch, args=(config, objects), rounds=3, iterations=1)
    assert len(touched) == changed and len(new.routes) == len(config.routes)


# Run in a fresh interpreter: the figures must not include (or be hidden by) memory that earlier
# tests allocated or freed. Prints one JSON object.
_MEMORY_SCRIPT = r"""
import gc, json, os, sys, time, tracemalloc

bench_dir, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, bench_dir)
import routecore
import workloads


def rss():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"), "statm"
    except OSError:  # no procfs: the peak resident set (KB on Linux, bytes on macOS)
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * (1 if sys.platform == "darwin" else 1024), "ru_maxrss"


def build(wl):
    config = routecore.load(wl.objects)
    router = routecore.Router(config, seed=1, native=True)
    return config, router, wl.bind(router)


wl = workloads.WORKLOADS[name](n)
build(workloads.WORKLOADS[name](10))  # imports and first-use caches: not part of the figures
gc.collect()

rss0, source = rss()
t0 = time.perf_counter()
config = routecore.load(wl.objects)
t1 = time.perf_counter()
router = routecore.Router(config, seed=1, native=True)
view = wl.bind(router)
t2 = time.perf_counter()
gc.collect()
rss1, _ = rss()
del config, router, view
gc.collect()

tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
kept = build(wl)
gc.collect()
after = tracemalloc.get_traced_memory()[0]
tracemalloc.stop()

print(json.dumps({"rss_bytes": rss1 - rss0, "rss_source": source, "traced_bytes": after - before,
                  "load_ms": (t1 - t0) * 1000, "compile_ms": (t2 - t1) * 1000}))
"""


def measure_memory(workload, n):
    """The fresh interpreter's figures (see _MEMORY_SCRIPT)."""
    proc = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, BENCH_DIR, workload, str(n)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("workload", WORKLOADS)
def test_memory_per_rule(benchmark, memory_report, workload):
    _native()
    n = 10000
    routes, rules = counts(_workload(workload, n).objects)
    figures = benchmark.pedantic(measure_memory, args=(workload, n), rounds=1, iterations=1)
    per_rule = {"tracemalloc_bytes_per_rule": figures["traced_bytes"] / rules,
                "rss_bytes_per_rule": figures["rss_bytes"] / rules}
    benchmark.extra_info.update(routes=routes, rules=rules, **figures, **per_rule)
    memory_report(workload, n, rules, per_rule["tracemalloc_bytes_per_rule"],
                  per_rule["rss_bytes_per_rule"], figures["rss_source"])
    # a compiled view of 10,000 rules holds memory, by either measure
    assert per_rule["tracemalloc_bytes_per_rule"] > 0
    assert per_rule["rss_bytes_per_rule"] > 0
