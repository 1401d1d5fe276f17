"""Per-request cost of routecore.asgi / routecore.wsgi RoutingMiddleware against the bare app.

The middleware and the bare app are called in-process on the same prebuilt requests (the
workload's 256 requests as ASGI scopes / WSGI environs, ~10% of them answered 404 by the
middleware), with no-op receive/send (ASGI: one asyncio loop drives the list per benchmark call)
or start_response (WSGI). The middleware is bound to a Router (the view is looked up per request,
as in production) and dispatches to the same bare app. ``*_middleware`` minus ``*_bare`` is
what the middleware adds to a request, routing included; ``filters`` is a rule with a URLRewrite
(path and host), request and response header filters on every request (the slow path).
bench/conftest.py prints the median per request.
"""
import asyncio

import pytest

import routecore
from routecore import _match
from routecore.asgi import RoutingMiddleware as AsgiMiddleware
from routecore.wsgi import RoutingMiddleware as WsgiMiddleware

import workloads

N = 100  # rules in the workload's table
TWINS = ("native", "python")
CASES = [(twin, wl) for twin in TWINS for wl in ("gateway", "mesh")]
IDS = [f"{t}-{w}" for t, w in CASES]

FILTERS = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    filters:
    - type: URLRewrite
      urlRewrite: {hostname: internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-env, value: prod}], remove: [cookie]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {add: [{name: x-served-by, value: routecore}], remove: [server]}
    backendRefs: [{name: app, port: 8080}]
"""
FILTER_REQUESTS = [("GET", f"/api/items/{i}?page={i % 3}", [("accept", "*/*"), ("cookie", "a=b")], None)
                   for i in range(workloads.N_REQUESTS)]

_ROUTERS = {}


def router_for(twin, workload):
    key = (twin, workload)
    if key not in _ROUTERS:
        if twin == "native":
            assert _match.NativeTable is not None, "the native extension is not built"
        if workload == "filters":
            objects, requests, view = FILTERS, FILTER_REQUESTS, "service"
        else:
            wl = workloads.WORKLOADS[workload](N)
            objects, requests, view = wl.objects, wl.requests, wl.view
        router = routecore.Router(routecore.load(objects), seed=1, native=(twin == "native"))
        _ROUTERS[key] = (router, requests, view)
    return _ROUTERS[key]


def binding(view):
    return {"gateway": ("default", "gw", 80)} if view == "gateway" else {"service": ("default", "svc", 80)}


def rounds(twin):
    return 50 if twin == "native" else 20


# --- ASGI --------------------------------------------------------------------------------------

START = {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"text/plain"), (b"server", b"bench")]}
BODY = {"type": "http.response.body", "body": b"ok"}
REQUEST = {"type": "http.request", "body": b"", "more_body": False}


async def bare_asgi(scope, receive, send):
    await send(START)
    await send(BODY)


async def receive():
    return REQUEST


async def send(message):
    pass


def scope_of(method, target, headers, host):
    path, _, query = target.partition("?")
    raw = [(b"host", (host or "svc.default.svc.cluster.local").encode()),
           (b"user-agent", b"bench/1.0"), (b"accept-encoding", b"gzip")]
    raw += [(n.lower().encode(), v.encode()) for n, v in headers]
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "server": ("10.0.0.1", 80), "client": ("10.0.0.2", 40000), "scheme": "http",
            "method": method, "root_path": "", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "headers": raw, "state": {}}


def asgi_runner(app, requests):
    scopes = [scope_of(*r) for r in requests]
    loop = asyncio.new_event_loop()

    async def many():
        for scope in scopes:
            await app(scope, receive, send)

    def run():
        loop.run_until_complete(many())

    return run, loop


def bench_asgi(benchmark, app, requests, n_rounds):
    run, loop = asgi_runner(app, requests)
    try:
        run()  # warm up: first-use caches
        benchmark.extra_info["decisions"] = len(requests)
        benchmark.pedantic(run, rounds=n_rounds, iterations=1, warmup_rounds=1)
    finally:
        loop.close()


def test_asgi_bare(benchmark):
    bench_asgi(benchmark, bare_asgi, workloads.gateway(N).requests, 50)


@pytest.mark.parametrize("twin,workload", CASES, ids=IDS)
def test_asgi_middleware(benchmark, twin, workload):
    router, requests, view = router_for(twin, workload)
    bench_asgi(benchmark, AsgiMiddleware(bare_asgi, router, **binding(view)), requests, rounds(twin))


@pytest.mark.parametrize("twin", TWINS)
def test_asgi_middleware_filters(benchmark, twin):
    router, requests, view = router_for(twin, "filters")
    bench_asgi(benchmark, AsgiMiddleware(bare_asgi, router, **binding(view)), requests, rounds(twin))


# --- WSGI --------------------------------------------------------------------------------------

WSGI_HEADERS = [("Content-Type", "text/plain"), ("Server", "bench")]


def bare_wsgi(environ, start_response):
    start_response("200 OK", WSGI_HEADERS)
    return [b"ok"]


def start_response(status, headers, exc_info=None):
    return None


def environ_of(method, target, headers, host):
    path, _, query = target.partition("?")
    env = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
           "SERVER_NAME": "10.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
           "REMOTE_ADDR": "10.0.0.2", "RAW_URI": target,
           "HTTP_HOST": host or "svc.default.svc.cluster.local", "HTTP_USER_AGENT": "bench/1.0",
           "HTTP_ACCEPT_ENCODING": "gzip", "wsgi.url_scheme": "http", "wsgi.version": (1, 0)}
    for name, value in headers:
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return env


def wsgi_runner(app, requests):
    environs = [environ_of(*r) for r in requests]

    def run():  # a server builds a new environ per request: copy (both sides pay the same)
        for env in environs:
            for _ in app(dict(env), start_response):
                pass

    return run


def bench_wsgi(benchmark, app, requests, n_rounds):
    run = wsgi_runner(app, requests)
    run()
    benchmark.extra_info["decisions"] = len(requests)
    benchmark.pedantic(run, rounds=n_rounds, iterations=1, warmup_rounds=1)


def test_wsgi_bare(benchmark):
    bench_wsgi(benchmark, bare_wsgi, workloads.gateway(N).requests, 50)


@pytest.mark.parametrize("twin,workload", CASES, ids=IDS)
def test_wsgi_middleware(benchmark, twin, workload):
    router, requests, view = router_for(twin, workload)
    bench_wsgi(benchmark, WsgiMiddleware(bare_wsgi, router, **binding(view)), requests, rounds(twin))


@pytest.mark.parametrize("twin", TWINS)
def test_wsgi_middleware_filters(benchmark, twin):
    router, requests, view = router_for(twin, "filters")
    bench_wsgi(benchmark, WsgiMiddleware(bare_wsgi, router, **binding(view)), requests, rounds(twin))
