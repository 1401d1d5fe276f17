"""view.route_asgi(scope) and view.route_wsgi(environ) against realistic server inputs (both twins)."""
import io
import sys

import pytest

from builders import gateway_yaml, listener_yaml
from conftest import make_router

CONFIG = gateway_yaml(listener_yaml("web", 8000, hostname="*.example.com")) + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: store}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  hostnames: ["shop.example.com"]
  rules:
  - name: canary
    matches:
    - path: {type: PathPrefix, value: /api}
      method: POST
      headers: [{name: X-Env, value: canary}]
      queryParams: [{name: v, value: "2"}]
    backendRefs: [{name: api-canary, port: 8080}]
  - name: api
    matches: [{path: {type: PathPrefix, value: /api}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
    backendRefs: [{name: api, port: 8080}]
  - name: old
    matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mesh, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: Exact, value: /a%20b}}]
    backendRefs: [{name: encoded, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /items}, queryParams: [{name: id, value: "7"}]}]
    backendRefs: [{name: items, port: 80}]
"""


@pytest.fixture
def router(twin):
    return make_router(CONFIG, twin)


def asgi_scope(method="GET", path="/", raw_path=None, query=b"", headers=(), scheme="http", type_="http"):
    return {
        "type": type_,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode("latin-1"),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"shop.example.com:8000"), (b"user-agent", b"curl/8.5.0"),
                    (b"accept", b"*/*")] + list(headers),
        "client": ("127.0.0.1", 51234),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def wsgi_environ(method="GET", path_info="/", query="", headers=None, raw_uri=None, scheme="http"):
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "0.0.0.0",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "shop.example.com:8000",
        "HTTP_USER_AGENT": "curl/8.5.0",
        "HTTP_ACCEPT": "*/*",
        "CONTENT_TYPE": "",
        "CONTENT_LENGTH": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if raw_uri is not None:
        env["RAW_URI"] = raw_uri
    env.update(headers or {})
    return env


# --- ASGI --------------------------------------------------------------------------------------

def test_asgi_rewrite_keeps_raw_path_and_query(router):
    v = router.gateway("edge", "infra", 8000)
    d = v.route_asgi(asgi_scope(path="/api/a b", raw_path=b"/api/a%20b", query=b"x=1&y=%20"))
    assert d.status is None and d.backend.name == "api" and d.listener == "web"
    assert d.rule_name == "api"
    assert d.upstream_path == "/a%20b?x=1&y=%20"
    assert d.upstream_host == "shop.example.com:8000"
    assert d.to_dict() == v.route("GET", "/api/a%20b?x=1&y=%20", [("host", "shop.example.com:8000")]).to_dict()


def test_asgi_method_headers_and_query_match(router):
    v = router.gateway("edge", "infra", 8000)
    scope = asgi_scope(method="POST", path="/api/orders", query=b"v=2",
                       headers=[(b"x-env", b"canary"), (b"content-type", b"application/json")])
    d = v.route_asgi(scope)
    assert d.backend.name == "api-canary" and d.rule == 0
    scope["query_string"] = b"v=3"
    assert v.route_asgi(scope).backend.name == "api"
    scope["query_string"] = b"v=2"
    scope["method"] = "PUT"
    assert v.route_asgi(scope).backend.name == "api"


def test_asgi_redirect_uses_scope_scheme(router):
    v = router.gateway("edge", "infra", 8000)
    d = v.route_asgi(asgi_scope(path="/old/x", query=b"k=v", scheme="https"))
    assert d.status == 302
    assert d.location == "https://shop.example.com:8000/new/x?k=v"


def test_asgi_websocket_scope(router):
    v = router.gateway("edge", "infra", 8000)
    scope = asgi_scope(path="/old/ws", type_="websocket", scheme="wss")
    scope.pop("method")
    d = v.route_asgi(scope)
    assert d.status == 302 and d.location == "https://shop.example.com:8000/new/ws"


def test_asgi_unknown_host_is_404(router):
    v = router.gateway("edge", "infra", 8000)
    scope = asgi_scope(path="/api")
    scope["headers"] = [(b"host", b"other.org")]
    d = v.route_asgi(scope)
    assert (d.status, d.listener) == (404, None)


def test_asgi_without_raw_path(router):
    v = router.gateway("edge", "infra", 8000)
    scope = asgi_scope(path="/api/a b", query=b"q=1")
    scope.pop("raw_path")
    d = v.route_asgi(scope)
    assert d.backend.name == "api" and d.upstream_path == "/a%20b?q=1"


def test_asgi_mesh_service(router):
    v = router.service("svc", "default", 80)
    d = v.route_asgi(asgi_scope(path="/items/1", query=b"id=7&id=8"))
    assert d.backend.name == "items" and d.upstream_path == "/items/1?id=7&id=8"
    d = v.route_asgi(asgi_scope(path="/a b", raw_path=b"/a%20b"))
    assert d.backend.name == "encoded" and d.upstream_path == "/a%20b"  # matched undecoded
    d = v.route_asgi(asgi_scope(path="/nothing"))
    assert (d.matched, d.status) == (False, 404)


def test_asgi_grpc(router):
    v = router.gateway("edge", "infra", 8000)
    scope = asgi_scope(method="POST", path="/pkg.Svc/Call", headers=[(b"content-type", b"application/grpc")])
    scope["http_version"] = "2"
    d = v.route_asgi(scope)
    assert (d.status, d.grpc_status) == (404, 12)


# --- WSGI --------------------------------------------------------------------------------------

def test_wsgi_rewrite_from_decoded_path_info(router):
    v = router.gateway("edge", "infra", 8000)
    d = v.route_wsgi(wsgi_environ(path_info="/api/a b", query="x=1"))
    assert d.backend.name == "api" and d.listener == "web"
    assert d.upstream_path == "/a%20b?x=1"
    assert d.upstream_host == "shop.example.com:8000"


def test_wsgi_prefers_raw_uri(router):
    v = router.gateway("edge", "infra", 8000)
    d = v.route_wsgi(wsgi_environ(path_info="/api/a/b", query="x=1", raw_uri="/api/a%3Bb?x=1"))
    assert d.upstream_path == "/a%3Bb?x=1"
    # an escaped slash in the raw target is refused (issue 11), though PATH_INFO has none
    d = v.route_wsgi(wsgi_environ(path_info="/api/a/b", query="x=1", raw_uri="/api/a%2Fb?x=1"))
    assert d.status == 400


def test_wsgi_method_headers_and_query_match(router):
    v = router.gateway("edge", "infra", 8000)
    env = wsgi_environ(method="POST", path_info="/api/orders", query="v=2",
                       headers={"HTTP_X_ENV": "canary", "CONTENT_TYPE": "application/json",
                                "CONTENT_LENGTH": "2"})
    assert v.route_wsgi(env).backend.name == "api-canary"
    env["HTTP_X_ENV"] = "prod"
    assert v.route_wsgi(env).backend.name == "api"


def test_wsgi_redirect_uses_url_scheme(router):
    v = router.gateway("edge", "infra", 8000)
    d = v.route_wsgi(wsgi_environ(path_info="/old/x", query="k=v", scheme="https"))
    assert d.status == 302 and d.location == "https://shop.example.com:8000/new/x?k=v"


def test_wsgi_host_falls_back_to_server_name(router):
    v = router.gateway("edge", "infra", 8000)
    env = wsgi_environ(path_info="/api")
    del env["HTTP_HOST"]
    env["SERVER_NAME"] = "shop.example.com"
    d = v.route_wsgi(env)
    assert d.backend.name == "api"


def test_wsgi_grpc_content_type(router):
    v = router.gateway("edge", "infra", 8000)
    env = wsgi_environ(method="POST", path_info="/pkg.Svc/Call", headers={"CONTENT_TYPE": "application/grpc"})
    d = v.route_wsgi(env)
    assert (d.status, d.grpc_status) == (404, 12)


def test_wsgi_mesh_service(router):
    v = router.service("svc", "default", 80)
    d = v.route_wsgi(wsgi_environ(path_info="/items", query="id=7"))
    assert d.backend.name == "items" and d.upstream_path == "/items?id=7"


def test_wsgi_without_raw_uri_keeps_non_ascii_bytes(twin, make_router):
    text = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: Exact, value: /caf%C3%A9}}]
    backendRefs: [{name: cafe, port: 80}]
  - backendRefs: [{name: other, port: 80}]
"""
    view = make_router(text, twin).service("svc")
    # a WSGI server puts the raw request bytes, decoded as latin-1, into PATH_INFO
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/caf\u00c3\u00a9", "SCRIPT_NAME": "",
               "QUERY_STRING": "", "HTTP_HOST": "svc", "wsgi.url_scheme": "http"}
    assert view.route_wsgi(environ).backend.name == "cafe"


def test_asgi_without_raw_path_uses_path_once(twin, make_router):
    text = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - matches: [{path: {type: Exact, value: /app/x}}]
    backendRefs: [{name: x, port: 80}]
  - backendRefs: [{name: other, port: 80}]
"""
    view = make_router(text, twin).service("svc")
    scope = {"type": "http", "method": "GET", "path": "/app/x", "root_path": "/app",
             "query_string": b"", "headers": [], "scheme": "http"}
    assert view.route_asgi(scope).backend.name == "x"
