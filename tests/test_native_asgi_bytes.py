"""route_asgi's target read from the scope's bytes (src_c/routecore/_match_c_adapt.pxi): the
query_string kept as bytes (the query matches and Decision._query read it as latin-1 where it
lies), the scope's keys read through one look at its entries. For any raw_path, path and
query_string (escapes, "?", "#", non-ASCII, empty, values that are not bytes) the native
route_asgi gives the pure adapter's answer or error, and route()'s on the target the adapter
joins."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routecore import _adapters, _match

from test_adapters import CONFIG, asgi_scope
from conftest import make_router

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

# query matches on names and values the bytes reading must find as the decoded text would:
# exact ASCII, a latin-1 value (one byte), a value wider than latin-1 (no latin-1 text has it),
# a regex
QUERY_ROUTES = CONFIG + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: q, namespace: store}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  hostnames: ["shop.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: k, value: v}]}]
    backendRefs: [{name: qa, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: u, value: "\u00fc"}]}]
    backendRefs: [{name: qlatin, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: w, value: "\u0101"}]}]
    backendRefs: [{name: qwide, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: r, type: RegularExpression, value: "x.*"}]}]
    backendRefs: [{name: qre, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "/re/[a-z\u00e9]+"}}]
    backendRefs: [{name: qregex, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /q}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /z}}
    backendRefs: [{name: qplain, port: 80}]
"""


@pytest.fixture(scope="module")
def views():
    native = make_router(QUERY_ROUTES, True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(QUERY_ROUTES, False).gateway("edge", namespace="infra", port=8000)
    return native, pure


# bytes that change a reading: "?" and "#" (where the path and query end), "%" and "." (what
# _scan declines), "&" and "=" (the query's pairs), latin-1 and UTF-8 bytes, letters of the
# routes' names and values
PIECES = [b"/", b"q", b"a", b"re", b"api", b"old", b"v1", b"?", b"#", b"%", b"%2F", b"%41", b".",
          b"..", b"&", b"=", b"k", b"v", b"k=v", b"u=\xfc", b"w=\xc4\x81", b"r=x", b"v=2", b"\xe9",
          b"\xfc", b"\xc3\xa9", b" ", b"//"]
QUERY_PIECES = [b"k=v", b"k=w", b"kk=v", b"k", b"=", b"v", b"&", b"#", b"?", b"u=\xfc",
                b"u=\xc3\xbc", b"w=\xc4\x81", b"r=x", b"v=2", b"%41", b"\xe9", b"+"]
RAW = st.lists(st.sampled_from(PIECES), max_size=8).map(b"".join)
PATHS = st.sampled_from([b"/q", b"/q/", b"/q/a", b"/api", b"/api/v1", b"/old/x", b"/re/a", b"/re/",
                         b"/", b""])
RAW_PATHS = st.one_of(PATHS, st.builds(lambda a, b: a + b, PATHS, RAW), RAW,
                      st.sampled_from([None, "/q", bytearray(b"/q"), 7]))
QUERIES = st.one_of(st.lists(st.sampled_from(QUERY_PIECES), max_size=6).map(b"".join), RAW,
                    st.sampled_from([None, "k=v", bytearray(b"k=v"), 7, b"", b"#", b"k=v#"]))
METHODS = st.sampled_from(["GET", "POST", b"POST", None])
MISSING = object()


@st.composite
def scopes(draw):
    raw = draw(RAW_PATHS)
    qs = draw(QUERIES)
    if isinstance(raw, bytes):  # "path": raw_path's text (a server's, no escapes), or other text
        path = draw(st.sampled_from([raw.decode("latin-1"), "/q", "/api/v1", MISSING, None]))
    else:
        path = draw(st.sampled_from(["/q", "/api/v1", "/old/x", MISSING]))
    scope = asgi_scope("GET", "/", headers=draw(st.sampled_from([[], [(b"x-env", b"canary")]])),
                       scheme=draw(st.sampled_from(["http", "https", "ws", "wss", None])))
    for key, value in (("raw_path", raw), ("query_string", qs), ("path", path),
                       ("method", draw(METHODS))):
        if value is MISSING or value is None and draw(st.booleans()):
            scope.pop(key)
        else:
            scope[key] = value
    return scope


def _answer(call):
    """(what a decision shows of the request, or the error's type and text)."""
    try:
        d = call()
    except Exception as exc:  # noqa: BLE001 (the twins must raise the same)
        return ("error", type(exc).__name__, str(exc))
    return (d.to_dict(), d.request_path, d._query, d.upstream_path, d.location, d.backend)


@settings(max_examples=400, deadline=None)
@given(scopes())
def test_route_asgi_bytes_as_the_pure_adapter_and_route(views, scope):
    native, pure = views
    got = _answer(lambda: native.route_asgi(scope))
    assert got == _answer(lambda: pure.route_asgi(scope))
    assert got == _answer(lambda: _adapters.route_asgi(native, scope))
    raw, qs = scope.get("raw_path"), scope.get("query_string")
    if type(raw) is bytes and raw and type(qs) in (bytes, type(None)):
        target = raw.decode("latin-1").split("?", 1)[0]
        if qs:
            target += "?" + qs.decode("latin-1")
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme"), scope.get("scheme"))
        assert got == _answer(lambda: native.route(scope.get("method", "GET"), target,
                                                   scope["headers"], scheme=scheme))


QUERY_CASES = [
    (b"k=v", "store/qa:80"), (b"a=1&k=v", "store/qa:80"), (b"k=w&k=v", "store/qplain:80"),
    (b"u=\xfc", "store/qlatin:80"), ("u=\u00fc".encode(), "store/qplain:80"),
    ("w=\u0101".encode(), "store/qplain:80"), (b"r=xy", "store/qre:80"), (b"k", "store/qplain:80"),
    (b"kk=v", "store/qplain:80"), (b"=v&k=v", "store/qa:80"), (b"k=v#", "store/qa:80"),
    (b"k=w#&k=v", "store/qplain:80"),
]


@pytest.mark.parametrize("qs,backend", QUERY_CASES, ids=range(len(QUERY_CASES)))
def test_query_bytes_matched_as_their_latin1_text(views, qs, backend):
    # the cases differ in their answers: a bytes reading that found the wrong pair fails one
    native, pure = views
    scope = asgi_scope("GET", "/q/a", query=qs)
    got = native.route_asgi(scope)
    assert str(got.backend) == backend == str(pure.route_asgi(scope).backend)
    assert got._query == qs.decode("latin-1").split("#")[0] == pure.route_asgi(scope)._query
    assert got.upstream_path == pure.route_asgi(scope).upstream_path
    assert got.upstream_path.endswith("?" + got._query)


# prefixes of 66 to 220 characters: raw_path's boundaries past 64 hashed by the pass over its
# bytes (rc_scan_path), and more than 64 of them (overflow: the joined target's text instead)
LONG = "/a" * 33


def _long_routes():
    out = CONFIG
    for first in range(33, 111, 16):  # (16 rules a route at most)
        rules = "".join(f"""  - matches: [{{path: {{type: PathPrefix, value: "{"/a" * k}"}}}}]
    backendRefs: [{{name: p{k}, port: 80}}]
""" for k in range(first, min(first + 16, 111)))
        out += f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: long{first}, namespace: store}}
spec:
  parentRefs: [{{name: edge, namespace: infra}}]
  hostnames: ["shop.example.com"]
  rules:
{rules}"""
    return out


@pytest.mark.parametrize("raw", [b"/a" * 33, b"/a" * 40 + b"/b", b"/a" * 40 + b"b", b"/a" * 110,
                                 b"/a" * 120 + b"/", b"/a" * 50 + b"%41", b"/a" * 40 + b"/\xe9",
                                 b"/a" * 32 + b"/"])
def test_long_raw_paths_as_their_text(raw):
    native = make_router(_long_routes(), True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(_long_routes(), False).gateway("edge", namespace="infra", port=8000)
    for qs in (b"", b"k=v"):
        scope = asgi_scope("GET", "/", raw_path=raw, query=qs)
        got = _answer(lambda: native.route_asgi(scope))
        assert got == _answer(lambda: pure.route_asgi(scope))
        target = raw.decode("latin-1") + ("?" + qs.decode() if qs else "")
        assert got == _answer(lambda: native.route("GET", target, scope["headers"]))
    if raw.startswith(b"/a" * 33) and raw[66:67] in (b"", b"/"):
        assert got[-1] is not None and got[-1].name.startswith("p")  # a long prefix matched


@pytest.mark.parametrize("n", [1, 2, 7, 8, 15, 16, 17, 31, 40])
def test_query_fragment_found_at_every_byte(views, n):
    # a "#" anywhere in query_string (rc_bytes_has: one load up to 16 bytes, memchr past them)
    # sends the request to the joined target, whose fragment is dropped: the query stops there
    native, pure = views
    for i in range(n):
        qs = (b"k=v&" + b"x" * n)[:n]
        qs = qs[:i] + b"#" + qs[i + 1:]
        scope = asgi_scope("GET", "/q/a", query=qs)
        got = native.route_asgi(scope)
        assert got._query == pure.route_asgi(scope)._query == qs.decode().split("#")[0], (n, i)
        assert got.to_dict() == pure.route_asgi(scope).to_dict()
