"""route_asgi / route_wsgi's own readings in the native core (src_c/routecore/_match_c_adapt.pxi)
against routecore._adapters and the pure twin: scope and environ keys read at the entry where
they were found last time (the guess must never change an answer: keys moved, deleted, inserted
before, of another str type, colliding keys whose __eq__ raises), and the ASGI target taken from
raw_path whatever scope["path"] says (raw_path's bytes read in place:
tests/test_native_asgi_bytes.py)."""
import pytest

from routecore import _adapters, _match

from test_adapters import asgi_scope, wsgi_environ
from test_native_requests import EXTRA
from conftest import make_router

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")


@pytest.fixture(scope="module")
def views():
    native = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(EXTRA, False).gateway("edge", namespace="infra", port=8000)
    return native, pure


class S(str):
    """A str subclass: equal to the plain key, not an exact str."""


class Clash:
    """A key with the hash of ``name`` whose comparison raises."""

    def __init__(self, name):
        self.h = hash(name)

    def __hash__(self):
        return self.h

    def __eq__(self, other):
        raise RuntimeError("compared")


def _reordered(d, order):
    return {k: d[k] for k in order}


def _scopes():
    base = asgi_scope("POST", "/api/v1", query=b"v=2", headers=[(b"x-env", b"canary")])
    keys = list(base)
    yield base
    yield _reordered(base, keys[::-1])                                  # every key moved
    yield dict({"x%d" % i: i for i in range(20)}, **base)               # keys inserted before
    d = dict(base)
    del d["method"]
    d["method"] = "POST"                                                # deleted, re-added last
    yield d
    d = dict(base)
    d[1] = "a non-str key"                                              # a general dict
    yield d
    d = _reordered(base, keys[::-1])
    d[S("query_string")] = d.pop("query_string")                        # an equal key of a str subclass
    yield d
    d = dict(base)
    d["query_string"] = b""
    d["method"] = "GET"
    yield d
    # keys whose values have the types the readings accept, swapped in place: a value read at
    # a stale position would be taken as it is (the method as the scheme, root_path as path)
    swap = {"method": "scheme", "scheme": "method", "path": "root_path", "root_path": "path"}
    yield {swap.get(k, k): base[swap.get(k, k)] for k in keys}
    yield base                                                          # the first layout again


def test_scope_keys_found_wherever_they_are(views):
    native, pure = views
    got = []
    for scope in list(_scopes()) * 2:  # each layout after another: the guesses are always stale
        want = pure.route_asgi(scope).to_dict()
        assert native.route_asgi(scope).to_dict() == want
        assert _adapters.route_asgi(native, scope).to_dict() == want
        got.append(want["backend"])
    assert "api-canary" in str(got) and "'api'" in str(got)  # the cases differ in their answers


PATH_CASES = [
    # scope["path"] taken as the target only when it is raw_path's text
    asgi_scope("POST", "/apX/v1", raw_path=b"/api/v1", headers=[(b"x-env", b"canary")]),
    asgi_scope("GET", "/api/v1", raw_path=b"/apX/v1"),
    # raw_path with a "?" and no query_string: the part after it is not the query, even when
    # scope["path"] has the same text
    dict(asgi_scope("POST", "/api/v1?v=2", raw_path=b"/api/v1?v=2", headers=[(b"x-env", b"canary")])),
    asgi_scope("GET", "/caf\u00e9", raw_path="/caf\u00e9".encode("latin-1")),
    asgi_scope("GET", "/a b", raw_path=b"/a%20b"),
    dict(asgi_scope("GET", "/api"), path=S("/api")),
    dict(asgi_scope("GET", "/api"), path=None),
    {k: v for k, v in asgi_scope("GET", "/api").items() if k != "path"},
]


@pytest.mark.parametrize("scope", PATH_CASES, ids=range(len(PATH_CASES)))
def test_scope_path_is_raw_paths_text_or_unused(views, scope):
    native, pure = views
    want = pure.route_asgi(scope).to_dict()
    assert native.route_asgi(scope).to_dict() == want
    assert native.route_asgi(scope).upstream_path == pure.route_asgi(scope).upstream_path


def test_scope_path_clash_is_not_an_error():
    # the adapter never reads "path" when raw_path is there: a key that raises when compared
    # with "path" changes nothing (and raw_path's own clash raises in both)
    native = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    scope = {k: v for k, v in asgi_scope("GET", "/api").items() if k != "path"}
    scope[Clash("path")] = 1
    assert native.route_asgi(scope).to_dict() == _adapters.route_asgi(native, scope).to_dict()
    bad = {k: v for k, v in asgi_scope("GET", "/api").items() if k != "raw_path"}
    bad[Clash("raw_path")] = 1
    with pytest.raises(RuntimeError, match="compared"):
        _adapters.route_asgi(native, bad)
    with pytest.raises(RuntimeError, match="compared"):
        native.route_asgi(bad)


def _environs():
    base = dict(wsgi_environ("GET", "/x", raw_uri="/x?y=1"), HTTP_HOST="hdr.example.com",
                HTTP_X_ENV="a,b")
    keys = list(base)
    yield base
    yield _reordered(base, keys[::-1])
    yield dict({"X_%d" % i: str(i) for i in range(30)}, **base)
    d = dict(base)
    d[S("RAW_URI")] = d.pop("RAW_URI")
    yield d
    d = dict(base)
    del d["RAW_URI"]
    d["REQUEST_URI"] = "/y"
    yield d
    d = dict(base)
    d["HTTP_HOST"] = ""
    d["SERVER_NAME"] = "shop.example.com"
    d[S("wsgi.url_scheme")] = d.pop("wsgi.url_scheme")
    yield d
    yield base


def test_environ_keys_found_wherever_they_are(views):
    native, pure = views
    for environ in list(_environs()) * 2:
        want = pure.route_wsgi(environ).to_dict()
        assert native.route_wsgi(environ).to_dict() == want
        assert _adapters.route_wsgi(native, environ).to_dict() == want


# route_asgi decides raw_path's path and query_string apart (_decide_split) when _scan reads the
# path whole and the query has no "#"; anything else joins them into the target first. Each case
# here gives a different answer if the split path took it (the canary needs x-env and v=2).
SPLIT_CASES = [
    asgi_scope("POST", "/api/v1", query=b"v=2", headers=[(b"x-env", b"canary")]),   # split
    # a "#" in the query: the joined target's fragment is dropped (v=2 stays the query)
    asgi_scope("POST", "/api/v1", query=b"v=2#x", headers=[(b"x-env", b"canary")]),
    asgi_scope("POST", "/api/v1", query=b"v=3#v=2", headers=[(b"x-env", b"canary")]),
    # a "?" in raw_path (scope["path"] the same text): the path ends there, query_string is the query
    asgi_scope("POST", "/api/v1?v=2", raw_path=b"/api/v1?v=2", query=b"w=1",
               headers=[(b"x-env", b"canary")]),
    asgi_scope("POST", "/api/v1?v=3", raw_path=b"/api/v1?v=3", query=b"v=2",
               headers=[(b"x-env", b"canary")]),
    # paths _scan declines (dot-segments, escapes, "//"): normalised from the joined target
    asgi_scope("POST", "/api/./v1", query=b"v=2", headers=[(b"x-env", b"canary")]),
    asgi_scope("POST", "/x/../api", query=b"v=2", headers=[(b"x-env", b"canary")]),
    asgi_scope("POST", "/ap%69/v1", raw_path=b"/ap%69/v1", query=b"v=2", headers=[(b"x-env", b"canary")]),
    asgi_scope("POST", "//api", query=b"v=2", headers=[(b"x-env", b"canary")]),
    # a method that is not a str: the joined target through _decide
    dict(asgi_scope("POST", "/api/v1", query=b"v=2", headers=[(b"x-env", b"canary")]), method=b"POST"),
    # no query, a query that is not ASCII, a long path (rc_scan_path), an empty path before "?"
    asgi_scope("GET", "/api/v1", headers=[(b"x-env", b"canary")]),
    asgi_scope("GET", "/api/v1", query=b"v=2&w=\xe9", headers=[(b"x-env", b"canary")]),
    asgi_scope("GET", "/api/" + "x" * 70, query=b"v=2", headers=[(b"x-env", b"canary")]),
    asgi_scope("GET", "/api", raw_path=b"?v=2", query=b"v=2", headers=[(b"x-env", b"canary")]),
]


@pytest.mark.parametrize("scope", SPLIT_CASES, ids=range(len(SPLIT_CASES)))
def test_scope_path_and_query_decided_apart_as_joined(views, scope):
    native, pure = views
    want = pure.route_asgi(scope)
    got = native.route_asgi(scope)
    assert got.to_dict() == want.to_dict()
    assert (got.request_path, got._query, got.upstream_path) == (want.request_path, want._query, want.upstream_path)
    assert got.to_dict() == _adapters.route_asgi(native, scope).to_dict()


def test_split_cases_differ_in_their_answers(views):
    # the cases above test something: the split request is the canary, the others are not all it
    _, pure = views
    backends = [pure.route_asgi(s).to_dict()["backend"] for s in SPLIT_CASES]
    assert "api-canary" in str(backends[0])
    assert any("api-canary" not in str(b) for b in backends[1:])


@pytest.mark.parametrize("n", [4, 5, 7, 8, 9, 15, 16, 17, 24, 31])
def test_scope_path_compared_with_raw_path_at_every_byte(views, n):
    # scope["path"] is taken only when it is raw_path's text: one character off at any place
    # (the word-wise compare, its shifted word under 8 bytes, its overlapping last word)
    native, pure = views
    raw = ("/api/" + "abcdefghijklmnopqrstuvwxyz0123456789")[:n]  # (matched: a request_path)
    for i in range(n):
        text = raw[:i] + ("Z" if raw[i] != "Z" else "Y") + raw[i + 1:]
        scope = asgi_scope("GET", text, raw_path=raw.encode("latin-1"))
        got = native.route_asgi(scope)
        assert got.to_dict() == pure.route_asgi(scope).to_dict()
        assert got.request_path == raw, (n, i)
    scope = asgi_scope("GET", raw, raw_path=raw.encode("latin-1"))
    assert native.route_asgi(scope).request_path == raw


def _fresh(key):
    """key as a new str object (not the interned one): read by value, not by identity."""
    return "".join(list(key))


def test_scope_keys_read_by_value_when_not_the_same_object(views):
    native, pure = views
    base = asgi_scope("POST", "/api/v1", query=b"v=2", headers=[(b"x-env", b"canary")])
    fresh = {_fresh(k): v for k, v in base.items()}
    assert all(a is not b for a, b in zip(fresh, base) if len(a) > 1)
    for scope in (base, fresh, base, fresh):
        assert native.route_asgi(scope).to_dict() == pure.route_asgi(scope).to_dict()
    assert "api-canary" in str(native.route_asgi(fresh).to_dict()["backend"])
    # a key of the same length with another character, where the key was: not the key
    for key in ("method", "query_string", "headers", "raw_path"):
        odd = {(k[:-1] + "X" if k == key else k): v for k, v in base.items()}
        assert native.route_asgi(odd).to_dict() == pure.route_asgi(odd).to_dict(), key
    environ = dict(wsgi_environ("GET", "/x", raw_uri="/x?y=1"), HTTP_HOST="hdr.example.com",
                   HTTP_X_ENV="a,b")
    fresh = {_fresh(k): v for k, v in environ.items()}
    for env in (environ, fresh, environ, fresh):
        assert native.route_wsgi(env).to_dict() == pure.route_wsgi(env).to_dict()
    for key in ("RAW_URI", "HTTP_HOST", "REQUEST_METHOD", "wsgi.url_scheme"):
        odd = {(k[:-1] + "X" if k == key else k): v for k, v in fresh.items()}
        assert native.route_wsgi(odd).to_dict() == pure.route_wsgi(odd).to_dict(), key


def test_route_asgi_and_route_wsgi_take_their_argument_as_the_pure_twin(views):
    # the common call is read in C (rc_route_asgi / rc_route_wsgi); any other goes to the
    # general method, with Python's errors
    import inspect
    native, pure = views
    scope = asgi_scope("POST", "/api/v1", query=b"v=2", headers=[(b"x-env", b"canary")])
    environ = dict(wsgi_environ("GET", "/x", raw_uri="/x?y=1"), HTTP_HOST="hdr.example.com")
    assert native.route_asgi(scope=scope).to_dict() == pure.route_asgi(scope).to_dict()
    assert native.route_wsgi(environ=environ).to_dict() == pure.route_wsgi(environ).to_dict()
    for view in (native, pure):
        for call in (lambda: view.route_asgi(), lambda: view.route_asgi(scope, 1),
                     lambda: view.route_asgi(scope, scope=scope), lambda: view.route_asgi(scop=scope),
                     lambda: view.route_wsgi(), lambda: view.route_wsgi(environ, environ=environ)):
            with pytest.raises(TypeError):
                call()
    for name in ("route_asgi", "route_wsgi"):
        want = list(inspect.signature(getattr(pure, name)).parameters)
        assert list(inspect.signature(getattr(native, name)).parameters) == want
        assert getattr(type(native), name).__doc__
