"""route_asgi / route_wsgi's own readings in the native core (src_c/routecore/_match_c_adapt.pxi)
against routecore._adapters and the pure twin: scope and environ keys read at the entry where
they were found last time (the guess must never change an answer: keys moved, deleted, inserted
before, of another str type, colliding keys whose __eq__ raises), and the ASGI target taken from
scope["path"] only when it is raw_path's text."""
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
