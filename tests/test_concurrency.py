"""One router, many threads (issue 5, item 6), on both twins.

- 8 threads route a fixed list of requests many times through one view: every decision equals
  the single-threaded one; for the weighted rule (3:1) the backend is one of the rule's and the
  overall split is about 3:1 (the draw order interleaves, so which request got which draw is not
  fixed);
- ``Router.reload`` swapping between two configurations while 8 threads route through
  ``router.service(...)`` (which follows reloads): every decision is configuration A's or B's
  answer for that request, never a mix, never an exception.

The switch interval is lowered to make the threads interleave often. Bounded: a fixed number of
iterations per thread, and joins with a timeout.
"""
from __future__ import annotations

import sys
import threading
from collections import Counter

import pytest

import routecore

THREADS = 8
ROUNDS = 150

CONFIG = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: Exact, value: /admin}}]
    backendRefs: [{name: admin, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /public}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
    backendRefs: [{name: public, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}}]
    backendRefs: [{name: items, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /h}, headers: [{name: x-canary, value: "true"}]}]
    backendRefs: [{name: canary, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{type: RegularExpression, name: v, value: "[0-9]+"}]}]
    backendRefs: [{name: query, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {statusCode: 301, hostname: new.example.com}
  - matches: [{path: {type: PathPrefix, value: /w}}]
    backendRefs: [{name: heavy, port: 80, weight: 3}, {name: light, port: 80, weight: 1}]
"""

REQUESTS = [
    ("GET", "/admin", ()),
    ("GET", "/public/x?y=1", ()),
    ("GET", "/public/../admin", ()),
    ("GET", "/items/42", ()),
    ("GET", "/h/x", [("X-Canary", "true")]),
    ("GET", "/h/x", [("x-canary", "false")]),
    ("GET", "/q?v=12", ()),
    ("GET", "/old/page?z", [("host", "a.example.com")]),
    ("POST", "/nope", ()),
    ("GET", "/w/1", ()),
]
WEIGHTED = {i for i, r in enumerate(REQUESTS) if r[1].startswith("/w")}


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _run_threads(target, n=THREADS, timeout=120):
    errors = []
    barrier = threading.Barrier(n)

    def wrap(k):
        try:
            barrier.wait()
            target(k)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a routing thread did not finish"
    if errors:
        raise errors[0]


def test_threads_get_the_single_threaded_decisions(twin, fast_switching):
    router = routecore.Router(routecore.load(CONFIG), native=twin, seed=1)
    view = router.service("svc")
    expected = [view.route(m, t, h).to_dict() for m, t, h in REQUESTS]
    # the weighted rule: every alternative a single thread can see
    alternatives = {}
    for i in WEIGHTED:
        seen = {}
        for _ in range(200):
            d = view.route(*REQUESTS[i]).to_dict()
            seen[d["backend"]["name"]] = d
        assert set(seen) == {"heavy", "light"}
        alternatives[i] = list(seen.values())

    results = [[] for _ in range(THREADS)]

    def work(k):
        out = results[k]
        for _ in range(ROUNDS):
            for m, t, h in REQUESTS:
                out.append(view.route(m, t, h).to_dict())

    _run_threads(work)
    picks = Counter()
    for out in results:
        assert len(out) == ROUNDS * len(REQUESTS)
        for n, got in enumerate(out):
            i = n % len(REQUESTS)
            if i in WEIGHTED:
                assert got in alternatives[i]
                picks[got["backend"]["name"]] += 1
            else:
                assert got == expected[i], REQUESTS[i]
    total = sum(picks.values())
    assert total == THREADS * ROUNDS * len(WEIGHTED)
    # 3:1 weights; 1200 draws: the standard deviation of the share is about 0.0125
    assert abs(picks["heavy"] / total - 0.75) < 0.06, picks


def test_threads_routing_through_many_views(twin, fast_switching):
    """Views built concurrently on first use (Router._view's lock): each thread asks for the
    view per request, half of them for a client namespace no one asked for before."""
    router = routecore.Router(routecore.load(CONFIG), native=twin, seed=1)
    ref = routecore.Router(routecore.load(CONFIG), native=twin, seed=1).service("svc")
    expected = [ref.route(m, t, h).to_dict() for m, t, h in REQUESTS]
    views = []

    def work(k):
        for r in range(ROUNDS // 5):
            v = router.service("svc", client_namespace=f"ns{(k + r) % 4}")
            views.append(v)
            for i, (m, t, h) in enumerate(REQUESTS):
                if i not in WEIGHTED:
                    assert v.route(m, t, h).to_dict() == expected[i]

    _run_threads(work)
    # one table per key, whoever built it first
    assert len({id(v) for v in views}) == 4


CONFIG_B = CONFIG.replace("name: admin, port: 80", "name: admin-b, port: 80").replace(
    "value: /public}", "value: /pub}").replace("weight: 3}", "weight: 0}")


def test_reload_while_routing(twin, fast_switching):
    cfg_a, cfg_b = routecore.load(CONFIG), routecore.load(CONFIG_B)
    answers = []
    for cfg in (cfg_a, cfg_b):
        v = routecore.Router(cfg, native=twin, seed=1).service("svc")
        answers.append([v.route(m, t, h).to_dict() for m, t, h in REQUESTS])
    weighted_ok = {}
    for i in WEIGHTED:
        v = routecore.Router(cfg_a, native=twin, seed=1).service("svc")
        weighted_ok[i] = {str(v.route(*REQUESTS[i]).to_dict()) for _ in range(100)}
        weighted_ok[i].add(str(answers[1][i]))  # B: weight 0 on "heavy": always "light"
        assert len(weighted_ok[i]) == 2

    router = routecore.Router(cfg_a, native=twin, seed=1)
    old_view = router.service("svc")
    stop = threading.Event()
    seen = Counter()
    reloads = []

    def reloader():
        n = 0
        while not stop.is_set() and n < 400:
            n += 1
            # Config objects mostly (fast), now and then YAML text (load + compile)
            src = (cfg_b if n % 2 else cfg_a) if n % 10 else (CONFIG_B if n % 2 else CONFIG)
            router.reload(src)
        reloads.append(n)

    def work(k):
        for _ in range(ROUNDS):
            for i, (m, t, h) in enumerate(REQUESTS):
                got = router.service("svc").route(m, t, h).to_dict()
                if i in WEIGHTED:
                    assert str(got) in weighted_ok[i], got
                else:
                    assert got in (answers[0][i], answers[1][i]), (REQUESTS[i], got)
                    seen[0 if got == answers[0][i] else 1] += 1

    rt = threading.Thread(target=reloader, daemon=True)
    rt.start()
    try:
        _run_threads(work)
    finally:
        stop.set()
        rt.join(120)
    assert not rt.is_alive() and reloads and reloads[0] >= 1
    assert router.generation == reloads[0]
    # a table handed out before the reloads keeps answering from configuration A
    assert [old_view.route(m, t, h).to_dict() for i, (m, t, h) in enumerate(REQUESTS)
            if i not in WEIGHTED] == [a for i, a in enumerate(answers[0]) if i not in WEIGHTED]


def test_reload_to_an_invalid_config_keeps_serving(twin, fast_switching):
    router = routecore.Router(routecore.load(CONFIG), native=twin, seed=1)
    bad = CONFIG.replace('"/items/[0-9]+"', '"/items/(?=x)"')
    expected = router.service("svc").route("GET", "/admin").to_dict()

    def work(k):
        for r in range(ROUNDS):
            if k == 0 and r % 10 == 0:
                with pytest.raises(routecore.ConfigError):
                    router.reload(bad)
            assert router.service("svc").route("GET", "/admin").to_dict() == expected

    _run_threads(work)
    assert router.generation == 0
