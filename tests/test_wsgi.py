"""routecore.wsgi.RoutingMiddleware behind real WSGI servers on 127.0.0.1, driven by httpx (both
twins): wsgiref.simple_server in a thread (no RAW_URI: the target is rebuilt from PATH_INFO), and
gunicorn as a subprocess (RAW_URI set) for the rewrite of the undecoded target."""
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

import routecore.wsgi
from routecore.wsgi import RoutingMiddleware

from conftest import make_router
from test_asgi import CONFIG, GATEWAY, GW, HOST, ROUTES, raw_get

ROOT = Path(__file__).resolve().parent.parent


def echo_app(name):
    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        decision = environ.get("routecore.decision")
        data = {
            "app": name, "method": environ["REQUEST_METHOD"],
            "script_name": environ.get("SCRIPT_NAME", ""), "path_info": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""), "raw_uri": environ.get("RAW_URI"),
            "headers": {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                        if k.startswith("HTTP_")},
            "backend": str(decision.backend) if decision is not None else None,
            "body": body.decode("latin-1"),
        }
        out = json.dumps(data).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Drop", "gone"),
                                  ("X-App", name), ("Content-Length", str(len(out)))])
        return [out]
    return app


BACKENDS = {"store/a:8080": echo_app("a"), "store/b:8080": echo_app("b")}


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _Server(WSGIServer):
    def server_bind(self):
        # accepted sockets inherit TCP_NODELAY (no delayed-ACK stalls between writes)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


class Served:
    """wsgiref.simple_server serving ``app`` on 127.0.0.1 (ephemeral port) in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60,
                                   follow_redirects=False)
        return self

    def __exit__(self, *exc):
        self.client.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(60)


@pytest.fixture
def router(twin):
    return make_router(CONFIG, twin)


@pytest.fixture
def served(router):
    with Served(RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)) as s:
        yield s


def test_header_match_picks_backend(served):
    data = served.client.get("/anything", headers={**HOST, "x-env": "canary"}).json()
    assert data["app"] == "b" and data["backend"] == "store/b:8080"
    assert served.client.get("/anything", headers=HOST).status_code == 404


def test_weights(served):
    apps = Counter(served.client.get(f"/split/{i}", headers=HOST).json()["app"] for i in range(400))
    assert 60 <= apps["b"] <= 140 and apps["a"] + apps["b"] == 400, apps


def test_redirect_is_answered(served):
    r = served.client.get("/old/page?x=1", headers=HOST)
    assert r.status_code == 301 and r.headers["location"] == "http://shop.example.com/new/page?x=1"
    assert "x-app" not in r.headers


def test_rewrite_path_query_and_host(served):
    data = served.client.get("/api/items/a%20b?q=a%20b&z=1", headers=HOST).json()
    assert data["app"] == "a"
    assert data["path_info"] == "/v2/items/a b" and data["query"] == "q=a%20b&z=1"
    assert data["headers"]["host"] == "internal.example.com"
    # unchanged target: PATH_INFO as the server decoded it
    assert served.client.get("/split/a%20b", headers=HOST).json()["path_info"] == "/split/a b"


def test_path_normalised_upstream(served):
    status, data = raw_get(served.port, "/x/../api/%7Eitem")
    assert status == 200 and data["path_info"] == "/v2/~item"
    assert raw_get(served.port, "/split/./a/../b")[1]["path_info"] == "/split/b"


def test_request_header_filters(served):
    data = served.client.get("/hdr", headers={**HOST, "x-secret": "s3", "x-keep": "k",
                                              "x-added": "no"}).json()
    assert data["headers"]["x-added"] == "yes" and data["headers"]["x-keep"] == "k"
    assert "x-secret" not in data["headers"]
    assert data["headers"]["host"] == "shop.example.com"


def test_request_body_and_content_type_survive_header_filters(served):
    data = served.client.post("/hdr", headers={**HOST, "content-type": "text/plain"},
                              content=b"payload").json()
    assert data["body"] == "payload" and data["method"] == "POST"


def test_response_header_filters(served):
    r = served.client.get("/hdr", headers=HOST)
    assert r.headers["x-resp"] == "1" and "x-drop" not in r.headers and r.headers["x-app"] == "a"
    assert served.client.get("/split", headers=HOST).headers["x-drop"] == "gone"


def test_404_and_500(served):
    r = served.client.get("/nothing", headers=HOST)
    assert r.status_code == 404 and r.text == "no route matched\n"
    assert served.client.get("/api", headers={"host": "elsewhere.org"}).status_code == 404
    r = served.client.get("/broken", headers=HOST)
    assert r.status_code == 500 and "no valid backend" in r.text


def test_cors_preflight_and_actual_request(served):
    r = served.client.options("/cors", headers={**HOST, "origin": "https://app.example.com",
                                                "access-control-request-method": "POST"})
    assert r.status_code == 204 and "x-app" not in r.headers
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    r = served.client.get("/cors", headers={**HOST, "origin": "https://app.example.com"})
    assert r.headers["x-app"] == "a"
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"


def test_grpc_errors_get_grpc_status(served):
    grpc = {**HOST, "content-type": "application/grpc"}
    r = served.client.post("/pkg.Svc/Call", headers=grpc, content=b"")
    assert r.status_code == 200 and r.headers["content-type"] == "application/grpc"
    assert r.headers["grpc-status"] == "12"
    r = served.client.post("/broken", headers=grpc, content=b"")
    assert (r.status_code, r.headers["grpc-status"]) == (200, "14")


def test_forwards_rewrite_target_and_headers_through_the_public_fast_path(router):
    """The middleware reads only public Decision members (request_path, changes, upstream_path,
    apply_*_headers): rewrites and header filters reach the backend."""
    with Served(RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)) as s:
        data = s.client.get("/api/items/7?q=1", headers=HOST).json()
        assert (data["path_info"], data["query"]) == ("/v2/items/7", "q=1")
        assert data["headers"]["host"] == "internal.example.com"
        r = s.client.get("/hdr", headers={**HOST, "x-secret": "s", "content-type": "text/plain"})
        assert r.json()["headers"]["x-added"] == "yes" and "x-secret" not in r.json()["headers"]
        assert r.headers["x-resp"] == "1" and "x-drop" not in r.headers
        data = s.client.get("/split/a%20b?x=%41", headers={**HOST, "x-k": "v"}).json()
        assert (data["path_info"], data["query"]) == ("/split/a b", "x=%41")
        assert data["headers"]["host"] == "shop.example.com" and data["headers"]["x-k"] == "v"


def test_unmapped_backend_goes_to_wrapped_app(served):
    data = served.client.get("/other/1", headers=HOST).json()
    assert data["app"] == "fallback" and data["backend"] == "store/c:8080"


def test_no_app_for_backend_is_502(router):
    with Served(RoutingMiddleware(None, router, gateway="infra/edge:80",
                                  backends={"store/a": echo_app("a")})) as s:
        assert s.client.get("/anything", headers={**HOST, "x-env": "canary"}).status_code == 502
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "a"


def test_hot_reload(twin):
    router = make_router(CONFIG, twin)
    with Served(RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)) as s:
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "a"
        router.reload(CONFIG.replace("backendRefs: [{name: a, port: 8080}]\n  - name: hdr",
                                     "backendRefs: [{name: b, port: 8080}]\n  - name: hdr"))
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "b"
        router.reload(ROUTES)
        assert s.client.get("/api/x", headers=HOST).status_code == 404
        router.reload(CONFIG)
        assert s.client.get("/api/x", headers=HOST).json()["app"] == "a"


def test_gateway_port_from_server_port(twin):
    holder = {}

    def late(environ, start_response):  # the router needs the port, known once bound
        return holder["mw"](environ, start_response)

    with Served(late) as s:
        router = make_router(GATEWAY.replace("PORT", str(s.port)) + "---" + ROUTES, twin)
        holder["mw"] = RoutingMiddleware(echo_app("fallback"), router, gateway=("infra", "edge"),
                                         backends=BACKENDS)
        r = s.client.get("/old/x", headers=HOST)
        assert r.status_code == 301 and r.headers["location"] == f"http://shop.example.com:{s.port}/new/x"


def test_mesh_service(router):
    with Served(RoutingMiddleware(echo_app("fallback"), router, service=("default", "svc", 80),
                                  backends=BACKENDS)) as s:
        assert s.client.get("/items/1").json()["app"] == "a"
        assert s.client.get("/other").status_code == 404


def test_script_name_kept_when_the_rewrite_stays_under_it(router):
    """SCRIPT_NAME stays when the rewritten path lies under it, else it is folded into PATH_INFO
    (wsgiref sets SCRIPT_NAME to "": a mounting app in front sets it here)."""
    mw = RoutingMiddleware(echo_app("fallback"), router, gateway=GW, backends=BACKENDS)

    def mounted(script):
        def app(environ, start_response):
            environ["SCRIPT_NAME"], environ["PATH_INFO"] = script, environ["PATH_INFO"][len(script):]
            return mw(environ, start_response)
        return app

    with Served(mounted("/api")) as s:
        data = s.client.get("/api/items", headers=HOST).json()  # rewritten to /v2/items
        assert (data["script_name"], data["path_info"]) == ("", "/v2/items")
    with Served(mounted("/split")) as s:
        data = raw_get(s.port, "/split/x/../y")[1]  # normalised to /split/y
        assert (data["script_name"], data["path_info"]) == ("/split", "/y")


# --- gunicorn: a real pre-fork server that sets RAW_URI ----------------------------------------

GUNICORN_APP = textwrap.dedent('''
    import json
    from routecore import Router, load
    from routecore.wsgi import RoutingMiddleware

    def echo(environ, start_response):
        data = {"path_info": environ["PATH_INFO"], "raw_uri": environ.get("RAW_URI"),
                "query": environ["QUERY_STRING"], "host": environ.get("HTTP_HOST"),
                "added": environ.get("HTTP_X_ADDED"),
                "backend": str(environ["routecore.decision"].backend)}
        out = json.dumps(data).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Drop", "1")])
        return [out]

    router = Router(load(CONFIG), seed=1, native=NATIVE)
    app = RoutingMiddleware(echo, router, gateway=("infra", "edge", 80))
''')


@pytest.fixture
def gunicorn(tmp_path, twin):
    (tmp_path / "gapp.py").write_text(f"CONFIG = {CONFIG!r}\nNATIVE = {twin!r}\n" + GUNICORN_APP)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"fd://{sock.fileno()}", "--workers", "1",
         "--log-level", "warning", "--chdir", str(tmp_path), "gapp:app"],
        pass_fds=[sock.fileno()], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sock.close()  # gunicorn holds the listening socket now: if it dies, connections are refused
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, follow_redirects=False)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                client.get("/", headers=HOST, timeout=5)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start: " + proc.stdout.read().decode())
                time.sleep(0.1)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(60)
        proc.stdout.close()


def test_gunicorn_raw_uri_rewritten(gunicorn):
    data = gunicorn.get("/api/a%3Bb?q=%20", headers=HOST).json()
    assert data["raw_uri"] == "/v2/a%3Bb?q=%20"       # the undecoded target, reserved escape kept
    assert data["path_info"] == "/v2/a;b" and data["query"] == "q=%20"
    r = gunicorn.get("/api/a%2Fb?q=%20", headers=HOST)  # an escaped slash: refused (issue 11)
    assert r.status_code == 400
    assert data["host"] == "internal.example.com" and data["backend"] == "store/a:8080"
    data = gunicorn.get("/hdr/x", headers=HOST).json()
    assert data["raw_uri"] == "/hdr/x" and data["added"] == "yes"
    status, data = raw_get(gunicorn.base_url.port, "/split/a/../b?x")
    assert data["raw_uri"] == "/split/b?x" and data["path_info"] == "/split/b"
    r = gunicorn.get("/old/x?k=v", headers=HOST)
    assert r.status_code == 301 and r.headers["location"] == "http://shop.example.com/new/x?k=v"
