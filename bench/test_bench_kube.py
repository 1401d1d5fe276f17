"""Time from a watch event to a live decision for one changed HTTPRoute (issue 14), through the
Kubernetes API test server (tests/kubeapi) and a real KubeSource (debounce 0, no status writes).

One round: the route ``shop/r0`` changes backend (v1 <-> v2) on the API server; the time runs
from that write until ``router.gateway(...).route(...)`` answers with the new backend (polled
every 0.5 ms). It includes the watch event's trip over HTTP, the store update, the digest, and
today's full ``load`` + ``Router.reload`` of every route: the baseline for the incremental work
(issue 14 item 2). N = 100, 1,000, 10,000 HTTPRoutes (one rule each) on one Gateway listener.

    python -m pytest bench/test_bench_kube.py --benchmark-only -q
"""
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from kubeapi import KubeAPIServer  # noqa: E402
from kubeapi.objects import basic_cluster, route  # noqa: E402
from routecore.kube import KubeSource  # noqa: E402


@pytest.mark.parametrize("n", [100, 1_000, 10_000])
def test_event_to_live_decision(benchmark, tmp_path, n):
    api = KubeAPIServer().start()
    src = None
    try:
        basic_cluster(api, routes=n)
        kubeconfig = api.write_kubeconfig(str(tmp_path / "kubeconfig"))
        src = KubeSource(kubeconfig=kubeconfig, debounce=0.0, write_status=False, seed=1)
        src.start(timeout=300)
        state = {"backend": "v1"}

        def view():
            return src.router.gateway("edge", namespace="infra", port=80)

        def change():
            state["backend"] = "v2" if state["backend"] == "v1" else "v1"
            api.apply(route("r0", backend=state["backend"]))
            deadline = time.monotonic() + 120
            while view().route("GET", "/", host="h.example").backend.name != state["backend"]:
                if time.monotonic() > deadline:
                    raise AssertionError("the change never became live")
                time.sleep(0.0005)

        benchmark.extra_info.update(routes=n, reloads_before=src.stats["reloads"])
        benchmark.pedantic(change, rounds=5 if n <= 1_000 else 3, iterations=1, warmup_rounds=1)
    finally:
        if src is not None:
            src.stop()
        api.stop()
