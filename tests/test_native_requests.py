"""The native core's own readings of a request (issue 15: headers read in C, route_asgi and
route_wsgi native for the common scope and environ) against the readings they replace: the
routecore._adapters functions and the pure twin, on inputs chosen to hit every branch (header
names in every case, as str, bytes and dict keys, lengths the table has and has not, names of
63+ characters, non-ASCII names, repeated headers, empty CONTENT_TYPE, raw_path with "?")."""
import pytest

from routecore import _adapters, _match

from test_adapters import CONFIG, asgi_scope, wsgi_environ
from conftest import make_router

LONG = "x-" + "a" * 70  # a referenced name longer than 63 characters

EXTRA = CONFIG + f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: hdrs, namespace: store}}
spec:
  parentRefs: [{{name: edge, namespace: infra}}]
  hostnames: ["hdr.example.com"]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /}}, headers: [{{name: X-Env, value: "a,b"}}]}}]
    backendRefs: [{{name: joined, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /}}, headers: [{{name: {LONG}, value: "1"}}]}}]
    backendRefs: [{{name: long, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /}}, headers: [{{name: Content-Type, value: "text/x"}}]}}]
    backendRefs: [{{name: ctype, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /}}}}]
    backendRefs: [{{name: plain, port: 80}}]
"""

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

HEADER_SETS = [
    [("Host", "hdr.example.com"), ("X-Env", "a"), ("x-env", "b")],
    [("HOST", "hdr.example.com"), ("X-ENV", "a,b"), ("User-Agent", "u")],
    [(b"host", b"hdr.example.com"), (b"X-Env", b"a"), (b"x-env", b"b")],
    [("host", "hdr.example.com"), (LONG.upper(), "1")],
    [("host", "hdr.example.com"), ("x-\u00e9nv", "a,b"), ("X-Env", "a,b")],  # a non-ASCII name
    [("host", "hdr.example.com"), ("Content-Type", "text/x"), ("Accept", "*/*")],
    [("host", "hdr.example.com"), ["X-Env", "a,b"]],                          # a list, not a tuple
    {"host": "hdr.example.com", "x-env": "a,b"},
    {b"host": b"hdr.example.com", b"X-ENV": b"a,b"},
    (("host", "hdr.example.com"), ("x-env", "a,b")),
    [("host", "hdr.example.com"), ("x-env", b"a,b")],
]


@pytest.mark.parametrize("headers", HEADER_SETS, ids=range(len(HEADER_SETS)))
def test_native_header_reading_matches_the_pure_twin(headers):
    native = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(EXTRA, False).gateway("edge", namespace="infra", port=8000)
    got = native.route("GET", "/x", headers)
    assert got.to_dict() == pure.route("GET", "/x", headers).to_dict()
    assert got.backend is not None


SCOPES = [
    asgi_scope("POST", "/api/v1", query=b"v=2", headers=[(b"x-env", b"canary")]),
    asgi_scope("GET", "/api/v1", raw_path=b"/api/v1?ignored=1", query=b"x=1"),
    asgi_scope("GET", "/old/page", query=b""),
    asgi_scope("GET", "/caf\u00e9", raw_path="/caf\u00e9".encode("latin-1")),
    asgi_scope("GET", "/api", scheme="wss", type_="websocket"),
    asgi_scope("GET", "/api", raw_path=b""),                       # no raw_path: the adapter
    dict(asgi_scope("GET", "/api"), query_string="v=2"),            # a str query: the adapter
    # route_asgi's own readings (no truth tests, the scheme by length, ASCII decoded in place)
    asgi_scope("GET", "/api", scheme="ws", type_="websocket"),
    asgi_scope("GET", "/api", scheme=b"ws"),                        # not a str: compared as is
    asgi_scope("GET", "/api", scheme="WS"),
    asgi_scope("GET", "/api", scheme=None),
    dict(asgi_scope("GET", "/api"), query_string=None),              # None reads as b""
    {k: v for k, v in asgi_scope("GET", "/api", query=b"v=2").items() if k != "query_string"},
    {k: v for k, v in asgi_scope("GET", "/api").items() if k not in ("scheme", "method")},
    dict(asgi_scope("GET", "/api"), headers=None),
    dict(asgi_scope("GET", "/api"), headers=[]),
    dict(asgi_scope("GET", "/api"), headers=((b"host", b"shop.example.com:8000"),)),
    asgi_scope("GET", "/caf\u00e9", raw_path="/caf\u00e9".encode("latin-1"), query=b"q=\xe9"),
    asgi_scope("GET", "/api", query=b"q=\xe9&v=2"),                # only the query not ASCII
    asgi_scope("GET", "/abcdefghijklmnop/q", query=b"abcdefgh"),    # whole words of ASCII
    asgi_scope("GET", "/api", raw_path=b"/api?", query=b""),
    asgi_scope("GET", "/api", headers=[(b"host", b"caf\xe9.example.com")]),  # a non-ASCII Host
]


@pytest.mark.parametrize("scope", SCOPES, ids=range(len(SCOPES)))
def test_native_route_asgi_matches_the_adapter(scope):
    view = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    assert view.route_asgi(scope).to_dict() == _adapters.route_asgi(view, scope).to_dict()


def _environ(**kw):
    env = wsgi_environ(**kw)
    env["HTTP_HOST"] = "hdr.example.com"
    return env


ENVIRONS = [
    dict(_environ(path_info="/x", raw_uri="/x?y=1"), HTTP_X_ENV="a,b"),
    dict(_environ(path_info="/x", raw_uri="/x"), CONTENT_TYPE="text/x"),
    dict(_environ(path_info="/x", raw_uri="/x"), CONTENT_TYPE="", HTTP_CONTENT_TYPE="text/x"),
    dict(_environ(path_info="/x", raw_uri="/x"), CONTENT_TYPE="text/x", HTTP_CONTENT_TYPE="text/y"),
    dict(_environ(path_info="/x", raw_uri="/x"), **{"HTTP_" + LONG.upper().replace("-", "_"): "1"}),
    dict(_environ(path_info="/x", raw_uri="/x"), HTTP_x_env="a,b"),
    dict(_environ(path_info="/x", raw_uri="/x"), **{"HTTP_X_\u00c9NV": "1", "HTTP_X_ENV": "a,b"}),
    _environ(path_info="/x"),                                         # no RAW_URI: the adapter
    # route_wsgi's own truth tests: an empty RAW_URI, REQUEST_URI instead, an empty HTTP_HOST
    dict(_environ(path_info="/x", raw_uri=""), REQUEST_URI="/x?a=1"),
    dict(_environ(path_info="/x", raw_uri="/x"), HTTP_HOST=""),
    dict(_environ(path_info="/x", raw_uri="/x"), HTTP_HOST=None, SERVER_NAME="hdr.example.com"),
    dict(_environ(path_info="/x", raw_uri="/x"), CONTENT_TYPE=b"text/x"),
    dict(_environ(path_info="/x", raw_uri="/x"), CONTENT_TYPE=0, HTTP_X_ENV="a,b"),
    dict(_environ(path_info="/x", raw_uri="/x"), HTTP_="x", H="y", C="", CONTENT="z"),
]


@pytest.mark.parametrize("environ", ENVIRONS, ids=range(len(ENVIRONS)))
def test_native_route_wsgi_matches_the_adapter(environ):
    view = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    assert view.route_wsgi(environ).to_dict() == _adapters.route_wsgi(view, environ).to_dict()


# route()'s arguments: the native entry point reads the common call itself (rc_route, keyword
# names by identity) and every other call through the general reading; both must bind the
# arguments as the pure twin's Python signature does
_HOST = "hdr.example.com"
CALLS = [
    (("GET", "/x"), {}),
    (("GET", "/x", [("x-env", "a,b")]), {"host": _HOST}),
    (("GET", "/x"), {"host": _HOST, "scheme": "https", "sni": _HOST}),
    (("GET",), {"path": "/x", "headers": [("x-env", "a,b")], "host": _HOST}),
    ((), {"method": "GET", "path": "/x", "host": _HOST}),
    (("GET", "/x", ()), {"".join(["ho", "st"]): _HOST}),                 # a name not interned
    (("GET", "/x", ()), {"sni": _HOST, "host": _HOST, "scheme": "http"}),
]
BAD_CALLS = [
    (("GET",), {}),
    ((), {}),
    (("GET", "/x", (), _HOST), {}),                                    # host is keyword-only
    (("GET", "/x"), {"hots": _HOST}),
    (("GET", "/x"), {"method": "GET"}),
    (("GET", "/x", ()), {"headers": ()}),
    (("GET", "/x"), {"".join(["ho", "sts"]): _HOST}),
]


@pytest.mark.parametrize("args,kwargs", CALLS, ids=range(len(CALLS)))
def test_native_route_binds_arguments_as_the_pure_twin(args, kwargs):
    native = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(EXTRA, False).gateway("edge", namespace="infra", port=8000)
    assert native.route(*args, **kwargs).to_dict() == pure.route(*args, **kwargs).to_dict()


@pytest.mark.parametrize("args,kwargs", BAD_CALLS, ids=range(len(BAD_CALLS)))
def test_native_route_refuses_what_the_signature_refuses(args, kwargs):
    native = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(EXTRA, False).gateway("edge", namespace="infra", port=8000)
    with pytest.raises(TypeError):
        pure.route(*args, **kwargs)
    with pytest.raises(TypeError, match="route()"):
        native.route(*args, **kwargs)


def test_native_route_signature_is_the_pure_twins():
    import inspect
    native = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(EXTRA, False).gateway("edge", namespace="infra", port=8000)
    assert inspect.signature(native.route) == inspect.signature(pure.route)
