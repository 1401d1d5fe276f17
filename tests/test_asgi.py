"""routecore.asgi.RoutingMiddleware behind a real uvicorn server on 127.0.0.1, driven by httpx
(both twins). WebSocket scopes and the ASGI trailers extension are tested at the ASGI level
(the venv has no `websockets`/`wsproto`, so uvicorn cannot serve WebSockets here; uvicorn does not
offer http.response.trailers): the middleware is called with a real scope and asyncio queues."""
import asyncio
import http.client
import json
import socket
import threading
import time
from collections import Counter

import httpx
import pytest
import uvicorn

import routecore
import routecore.asgi
from routecore.asgi import RoutingMiddleware

from builders import gateway_yaml, listener_yaml
from conftest import make_router

GATEWAY = gateway_yaml(listener_yaml("web", "PORT", hostname="*.example.com"))

ROUTES = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: store}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  hostnames: ["shop.example.com"]
  rules:
  - name: canary
    matches: [{path: {type: PathPrefix, value: /}, headers: [{name: x-env, value: canary}]}]
    backendRefs: [{name: b, port: 8080}]
  - name: split
    matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs: [{name: a, port: 8080, weight: 3}, {name: b, port: 8080, weight: 1}]
  - name: old
    matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {statusCode: 301, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}
  - name: api
    matches: [{path: {type: PathPrefix, value: /api}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        hostname: internal.example.com
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
    backendRefs: [{name: a, port: 8080}]
  - name: hdr
    matches: [{path: {type: PathPrefix, value: /hdr}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Added, value: "yes"}]
        remove: [x-secret]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        add: [{name: X-Resp, value: "1"}]
        remove: [x-drop]
    backendRefs: [{name: a, port: 8080}]
  - name: broken
    matches: [{path: {type: PathPrefix, value: /broken}}]
    backendRefs: [{name: a, port: 8080, weight: 0}]
  - name: cors
    matches: [{path: {type: PathPrefix, value: /cors}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example.com"], allowMethods: [GET, POST],
             allowHeaders: [x-token], exposeHeaders: [x-trace], maxAge: 600}
    backendRefs: [{name: a, port: 8080}]
  - name: other
    matches: [{path: {type: PathPrefix, value: /other}}]
    backendRefs: [{name: c, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mesh, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /items}}]
    backendRefs: [{name: a, namespace: store, port: 8080}]
"""

CONFIG = GATEWAY.replace("PORT", "80") + "---" + ROUTES
GW = ("infra", "edge", 80)
HOST = {"host": "shop.example.com"}


# --- backends: echo what they received --------------------------------------------------------

def echo_app(name):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        decision = scope.get("routecore.decision")
        state = scope.get("state") or {}
        data = {
            "app": name, "method": scope["method"], "path": scope["path"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query": scope["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "backend": str(decision.backend) if decision is not None else None,
            "state_backend": (str(state["routecore.decision"].backend)
                              if "routecore.decision" in state else None),
            "body": body.decode("latin-1"),
        }
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"x-drop", b"gone"),
                                (b"x-app", name.encode())]})
        await send({"type": "http.response.body", "body": json.dumps(data).encode()})
    return app


BACKENDS = {"store/a:8080": echo_app("a"), "store/b:8080": echo_app("b")}


def raw_get(port, target, host="shop.example.com"):
    """GET ``target`` sent verbatim (httpx removes dot-segments itself): (status, JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", target, headers={"Host": host})
        response = conn.getresponse()
        body = response.read()
        kind = response.getheader("content-type", "")
        return response.status, json.loads(body) if kind == "application/json" else body.decode()
    finally:
        conn.close()


def header(data, name):
    values = [v for k, v in data["headers"] if k == name]
    return ",".join(values) if values else None


# --- a real uvicorn server in a thread ---------------------------------------------------------

class Served:
    """uvicorn serving ``app`` on 127.0.0.1 (ephemeral port) in a background thread."""

    def __init__(self, app, sock=None):
        self.sock = sock or bound_socket()
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False,
                                loop="asyncio", http="h11", ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start within 60 s")
            time.sleep(0.02)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60,
                                   follow_redirects=False)
        return self

    def __exit__(self, *exc):
        self.client.close()
        self.server.should_exit = True
        self.thread.join(60)
        self.sock.close()


def bound_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit TCP_NODELAY: without it a response written in two parts waits
    # for the client's delayed ACK (~40 ms a request)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def router(twin):
    return make_router(CONFIG, twin)


@pytest.fixture
def served(router):
    with Served(RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)) as s:
        yield s


# --- HTTP through a real server ---------------------------------------------------------------

def test_header_match_picks_backend(served):
    r = served.client.get("/anything", headers={**HOST, "x-env": "canary"})
    assert r.status_code == 200 and r.json()["app"] == "b"
    assert r.json()["backend"] == "store/b:8080" and r.json()["state_backend"] == "store/b:8080"
    assert served.client.get("/anything", headers=HOST).status_code == 404


def test_weights(served):
    apps = Counter(served.client.get(f"/split/{i}", headers=HOST).json()["app"] for i in range(400))
    assert set(apps) == {"a", "b"}
    assert 60 <= apps["b"] <= 140, apps  # weight 1 of 4: 100 expected


def test_redirect_is_answered(served):
    r = served.client.get("/old/page?x=1", headers=HOST)
    assert r.status_code == 301
    assert r.headers["location"] == "http://shop.example.com/new/page?x=1"
    assert "x-app" not in r.headers  # no backend saw it


def test_rewrite_path_query_and_host(served):
    r = served.client.get("/api/items/7?q=a%20b&z=1", headers=HOST)
    data = r.json()
    assert data["app"] == "a"
    assert data["path"] == "/v2/items/7" and data["raw_path"] == "/v2/items/7"
    assert data["query"] == "q=a%20b&z=1"
    assert header(data, "host") == "internal.example.com"


def test_path_normalised_upstream(served):
    status, data = raw_get(served.port, "/x/../api/%7Eitem")
    assert status == 200 and data["raw_path"] == "/v2/~item" and data["path"] == "/v2/~item"
    status, data = raw_get(served.port, "/split/./a/../b")  # no rewrite: normalised all the same
    assert data["raw_path"] == "/split/b"


def test_request_header_filters(served):
    r = served.client.get("/hdr", headers={**HOST, "x-secret": "s3", "x-keep": "k", "x-added": "no"})
    data = r.json()
    assert header(data, "x-added") == "yes"
    assert header(data, "x-secret") is None
    assert header(data, "x-keep") == "k"
    assert header(data, "host") == "shop.example.com"  # unchanged without a hostname rewrite


def test_response_header_filters(served):
    r = served.client.get("/hdr", headers=HOST)
    assert r.headers["x-resp"] == "1"
    assert "x-drop" not in r.headers
    assert r.headers["x-app"] == "a"
    # no response filter on this rule: the backend's headers pass as sent
    assert served.client.get("/split", headers=HOST).headers["x-drop"] == "gone"


def test_request_body_reaches_backend(served):
    r = served.client.post("/api/orders", headers=HOST, content=b"payload")
    assert r.json()["body"] == "payload" and r.json()["method"] == "POST"


def test_404_and_500(served):
    r = served.client.get("/nothing", headers=HOST)
    assert r.status_code == 404 and r.text == "no route matched\n"
    r = served.client.get("/api", headers={"host": "elsewhere.org"})
    assert r.status_code == 404
    r = served.client.get("/broken", headers=HOST)
    assert r.status_code == 500 and "no valid backend" in r.text


def test_cors_preflight_and_actual_request(served):
    r = served.client.options("/cors", headers={**HOST, "origin": "https://app.example.com",
                                                "access-control-request-method": "POST",
                                                "access-control-request-headers": "x-token"})
    assert r.status_code == 204 and "x-app" not in r.headers
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    assert r.headers["access-control-allow-headers"] == "x-token"
    assert r.headers["access-control-max-age"] == "600"
    r = served.client.get("/cors", headers={**HOST, "origin": "https://app.example.com"})
    assert r.status_code == 200 and r.headers["x-app"] == "a"
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    assert r.headers["access-control-expose-headers"] == "x-trace"


def test_grpc_errors_get_grpc_status(served):
    grpc = {**HOST, "content-type": "application/grpc", "te": "trailers"}
    r = served.client.post("/pkg.Svc/Call", headers=grpc, content=b"\x00\x00\x00\x00\x00")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/grpc"
    assert r.headers["grpc-status"] == "12" and r.headers["grpc-message"] == "no route matched"
    r = served.client.post("/broken", headers=grpc, content=b"")
    assert (r.status_code, r.headers["grpc-status"]) == (200, "14")
    r = served.client.post("/old/x", headers=grpc, content=b"")  # a redirect a gRPC client cannot follow
    assert (r.status_code, r.headers["grpc-status"]) == (200, "2")
    assert "redirect to http://shop.example.com/new/x" in r.headers["grpc-message"]


def test_forwards_rewrite_target_and_headers_through_the_public_fast_path(router):
    """The middleware reads only public Decision members (request_path, changes, upstream_path,
    apply_*_headers): rewrites, header filters and encoded paths reach the backend."""
    with Served(RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)) as s:
        data = s.client.get("/api/items/7?q=1", headers=HOST).json()
        assert (data["raw_path"], data["query"]) == ("/v2/items/7", "q=1")
        assert header(data, "host") == "internal.example.com"
        r = s.client.get("/hdr", headers={**HOST, "x-secret": "s"})
        assert header(r.json(), "x-added") == "yes" and header(r.json(), "x-secret") is None
        assert r.headers["x-resp"] == "1" and "x-drop" not in r.headers
        r = s.client.get("/split/a%20b?x=%41", headers={**HOST, "x-k": "v"})
        data = r.json()
        assert (data["path"], data["raw_path"], data["query"]) == ("/split/a b", "/split/a%20b", "x=%41")
        assert header(data, "host") == "shop.example.com" and header(data, "x-k") == "v"
        assert r.headers["x-drop"] == "gone"


def test_unmapped_backend_goes_to_wrapped_app(served):
    data = served.client.get("/other/1", headers=HOST).json()
    assert data["app"] == "fallback" and data["state_backend"] == "store/c:8080"


def test_no_app_for_backend_is_502(router):
    with Served(RoutingMiddleware(None, router, gateway="infra/edge:80",
                                  backends={"store/a": echo_app("a")})) as s:
        assert s.client.get("/anything", headers={**HOST, "x-env": "canary"}).status_code == 502
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "a"  # "ns/name" key


def test_hot_reload(twin):
    router = make_router(CONFIG, twin)
    with Served(RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)) as s:
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "a"
        router.reload(CONFIG.replace("backendRefs: [{name: a, port: 8080}]\n  - name: hdr",
                                     "backendRefs: [{name: b, port: 8080}]\n  - name: hdr"))
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "b"
        router.reload(ROUTES)  # the Gateway is gone: nothing is routed to it any more
        assert s.client.get("/api/x", headers=HOST).status_code == 404
        router.reload(CONFIG)
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "a"


def test_gateway_port_from_server(twin):
    sock = bound_socket()
    port = sock.getsockname()[1]
    router = make_router(GATEWAY.replace("PORT", str(port)) + "---" + ROUTES, twin)
    with Served(RoutingMiddleware(echo_app("fallback"), router, gateway=("infra", "edge"),
                                  backends=BACKENDS), sock=sock) as s:
        r = s.client.get("/old/x", headers=HOST)
        assert r.status_code == 301 and r.headers["location"] == f"http://shop.example.com:{port}/new/x"
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "a"


def test_fixed_view_and_mesh_service(router):
    view = router.service("svc", "default", 80)
    with Served(RoutingMiddleware(echo_app("fallback"), view, backends=BACKENDS)) as s:
        data = s.client.get("/items/1", headers={"host": "svc.default.svc"}).json()
        assert data["app"] == "a" and data["path"] == "/items/1"
        assert s.client.get("/other").status_code == 404
    with Served(RoutingMiddleware(echo_app("fallback"), router, service="default/svc:80",
                                  backends=BACKENDS)) as s:
        assert s.client.get("/items/2").json()["app"] == "a"


def test_binding_errors(router):
    app = echo_app("x")
    with pytest.raises(TypeError):
        RoutingMiddleware(app, router)
    with pytest.raises(TypeError):
        RoutingMiddleware(app, router, gateway=GW, service=("default", "svc", 80))
    with pytest.raises(LookupError):
        RoutingMiddleware(app, router, gateway=("infra", "nope", 80))
    with pytest.raises(LookupError):
        RoutingMiddleware(app, router, gateway=("infra", "edge", 81))
    with pytest.raises(ValueError):
        RoutingMiddleware(app, router, service=("default", "svc"))
    with pytest.raises(TypeError):
        RoutingMiddleware(None, router, gateway=GW)
    with pytest.raises(TypeError):
        RoutingMiddleware(app, router.gateway("edge", "infra", 80), gateway=GW)


# --- ASGI-level: websockets, trailers, lifespan ------------------------------------------------

async def drive(app, scope, incoming):
    """Run ``app`` on ``scope`` with ``incoming`` messages queued; return what it sent."""
    queue = asyncio.Queue()
    for message in incoming:
        queue.put_nowait(message)
    sent = []

    async def send(message):
        sent.append(message)

    await asyncio.wait_for(app(scope, queue.get, send), 30)
    return sent


def ws_scope(path, extensions=None, headers=((b"host", b"shop.example.com"),)):
    return {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "scheme": "ws", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": list(headers), "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80), "subprotocols": [], "state": {},
            **({"extensions": extensions} if extensions is not None else {})}


async def ws_echo(scope, receive, send):
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept", "headers": [(b"x-drop", b"gone"), (b"x-ws", b"1")]})
    message = await receive()
    await send({"type": "websocket.send",
                "text": json.dumps({"path": scope["path"], "got": message.get("text"),
                                    "backend": str(scope["routecore.decision"].backend),
                                    "x-added": dict(scope["headers"]).get(b"x-added", b"").decode()})})
    await send({"type": "websocket.close", "code": 1000})


def test_websocket_accepted_and_filtered(router):
    mw = RoutingMiddleware(echo_app("fallback"), router, gateway=GW,
                           backends={"store/a:8080": ws_echo})
    sent = asyncio.run(drive(mw, ws_scope("/hdr/ws"), [
        {"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}]))
    assert sent[0]["type"] == "websocket.accept"
    assert (b"x-resp", b"1") in sent[0]["headers"] and (b"x-drop", b"gone") not in sent[0]["headers"]
    data = json.loads(sent[1]["text"])
    assert data == {"path": "/hdr/ws", "got": "hi", "backend": "store/a:8080", "x-added": "yes"}
    sent = asyncio.run(drive(mw, ws_scope("/api/ws"), [
        {"type": "websocket.connect"}, {"type": "websocket.receive", "text": "x"}]))
    assert json.loads(sent[1]["text"])["path"] == "/v2/ws"


def test_websocket_denied_with_close(router):
    mw = RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)
    sent = asyncio.run(drive(mw, ws_scope("/nothing"), [{"type": "websocket.connect"}]))
    assert [m["type"] for m in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008 and sent[0]["reason"].startswith("404")


def test_websocket_denied_with_http_response(router):
    mw = RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)
    sent = asyncio.run(drive(mw, ws_scope("/old/ws", {"websocket.http.response": {}}),
                             [{"type": "websocket.connect"}]))
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 301
    assert (b"location", b"http://shop.example.com/new/ws") in sent[0]["headers"]
    assert sent[1]["type"] == "websocket.http.response.body"


def http_scope(path, headers, extensions=None):
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "2", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80), "extensions": extensions or {}}


def test_grpc_trailers_when_the_server_supports_them(router):
    mw = RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)
    scope = http_scope("/pkg.Svc/Call", [(b"host", b"shop.example.com"),
                                          (b"content-type", b"application/grpc+proto")],
                       {"http.response.trailers": {}})
    sent = asyncio.run(drive(mw, scope, [{"type": "http.request", "body": b""}]))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body",
                                         "http.response.trailers"]
    assert sent[0]["status"] == 200 and sent[0]["trailers"] is True
    assert (b"content-type", b"application/grpc") in sent[0]["headers"]
    assert (b"grpc-status", b"12") in sent[2]["headers"]


def test_lifespan_goes_to_wrapped_app_or_is_answered(router):
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])
        await receive()
        await send({"type": "lifespan.startup.complete"})

    asyncio.run(drive(RoutingMiddleware(app, router, gateway=GW), {"type": "lifespan"},
                      [{"type": "lifespan.startup"}]))
    assert seen == ["lifespan"]
    sent = asyncio.run(drive(RoutingMiddleware(None, router, gateway=GW, backends=BACKENDS),
                             {"type": "lifespan"},
                             [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_scope_of_the_server_is_not_modified(router):
    mw = RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)
    scope = http_scope("/api/x", [(b"host", b"shop.example.com")])
    asyncio.run(drive(mw, scope, [{"type": "http.request", "body": b""}]))
    assert scope["path"] == "/api/x" and "routecore.decision" not in scope


def test_wrapped_app_without_backends(router):
    got = []

    async def app(scope, receive, send):
        got.append((scope["routecore.decision"], scope["state"]["routecore.decision"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = RoutingMiddleware(app, router, gateway=GW)
    sent = asyncio.run(drive(mw, http_scope("/split", [(b"host", b"shop.example.com")]),
                             [{"type": "http.request", "body": b""}]))
    assert sent[0]["status"] == 204
    decision, in_state = got[0]
    assert decision is in_state and decision.route == "store/shop" and decision.rule_name == "split"
