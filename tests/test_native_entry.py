"""The native route()'s own paths (issue 15, branch `own`): rc_route jumps to _decide_c for
route(m, t), route(m, t, h) and route(m, t, h, host=); every other call goes through rc_route_kw
and Table._decide (scheme, sni, wsgi in a ReqMore); a request that is not plain text or whose
target _scan cannot read is made ready by _req_general, whose text is kept in four references
that _decide_c drops. Each path must answer as the pure twin does, and take or drop no
reference it should not: the caller's objects come back to their reference counts, a Decision
is referenced once by its holder, the text made on the general path is not leaked."""
import sys
import tracemalloc

import pytest

from routecore import _match

from conftest import make_router
from test_native_requests import EXTRA

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

HOST = "hdr.example.com"
H = [("host", HOST), ("x-env", "a,b")]

# (args, kwargs): each of rc_route's own shapes, then shapes that go through rc_route_kw, then
# requests that _req_general makes ready (bytes, an unscannable target, a refused path, a query,
# an absolute-form target whose authority is the Host)
CALLS = [
    (("GET", "/x"), {}),
    (("GET", "/x?a=1", H), {}),
    (("GET", "/x", []), {"host": HOST}),
    (("GET", "/x", ()), {"host": "no-such.example.com"}),
    (("GET", "/x", H), {"host": HOST + ":8000"}),
    (("GET", "/x", H), {"scheme": "https"}),
    (("GET", "/x", H), {"sni": HOST}),
    (("GET", "/x", H), {"sni": "other.example.com", "host": HOST}),
    (("GET", "/x"), {"headers": H}),
    ((b"GET", "/x", H), {}),
    (("GET", b"/x?q=1", H), {}),
    (("GET", "/x", ()), {"host": HOST.encode()}),
    (("GET", "/a/../x?q=%41", H), {}),
    (("GET", "/a%2Fb", H), {}),
    (("GET", "/a%zz", H), {}),
    (("GET", "http://hdr.example.com/x?y=1", ()), {}),
    (("GET", "/x?q", [("host", HOST)]), {"scheme": "http"}),
]


def _views():
    return (make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000),
            make_router(EXTRA, False).gateway("edge", namespace="infra", port=8000))


@pytest.mark.parametrize("args,kwargs", CALLS, ids=range(len(CALLS)))
def test_every_entry_path_answers_as_the_pure_twin(args, kwargs):
    native, pure = _views()
    d = native.route(*args, **kwargs)
    assert d.to_dict() == pure.route(*args, **kwargs).to_dict()
    assert d.request_path == pure.route(*args, **kwargs).request_path


@pytest.mark.parametrize("args,kwargs", CALLS, ids=range(len(CALLS)))
def test_every_entry_path_takes_and_drops_its_references(args, kwargs):
    native, _ = _views()
    objs = list(args) + list(kwargs.values()) + [x for h in H for x in h]
    native.route(*args, **kwargs)  # (anything cached on first use is made now)
    before = [sys.getrefcount(o) for o in objs]
    kept = [native.route(*args, **kwargs) for _ in range(50)]
    d = native.route(*args, **kwargs)
    if d is not kept[0]:  # (a prebuilt Decision is shared: the same object every time)
        assert sys.getrefcount(d) == 2  # d's reference and the call's: none taken for it
    del kept, d
    assert [sys.getrefcount(o) for o in objs] == before


@pytest.mark.parametrize("args,kwargs", [c for c in CALLS if any(
    isinstance(a, bytes) or (isinstance(a, str) and ("%" in a or ".." in a or "://" in a))
    for a in list(c[0]) + list(c[1].values()))], ids=str)
def test_the_text_made_for_a_general_request_is_released(args, kwargs):
    """_req_general's four references (path, method, query, Host) are dropped with the Decision:
    a leak of one small string per call shows as ~50 bytes a call here."""
    native, _ = _views()
    for _ in range(200):
        native.route(*args, **kwargs)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(20000):
            native.route(*args, **kwargs)
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < 100_000, grown


def test_an_uninitialised_table_refuses_every_entry():
    native, _ = _views()
    bare = type(native).__new__(type(native))
    for args, kwargs in CALLS:
        with pytest.raises(TypeError, match="not initialised"):
            bare.route(*args, **kwargs)


@pytest.mark.parametrize("headers", [[], (), None, [("accept", "*/*")], (("host", HOST),),
                                     [("Host", "shop.example.com")], {}, {"host": HOST}],
                         ids=str)
@pytest.mark.parametrize("view", ["gateway", "mesh"])
def test_the_host_read_from_empty_or_absent_headers(view, headers):
    """_decide_at reads the Host from any headers but None (an empty list or tuple is walked
    and holds none): each decides as the pure twin, a gateway's missing Host as no Host at all
    (its listener's wildcard hostname takes none), and no reference is taken or dropped."""
    twins = []
    for twin in (True, False):
        r = make_router(EXTRA, twin)
        twins.append(r.gateway("edge", namespace="infra", port=8000) if view == "gateway"
                     else r.service("svc", namespace="default", port=80))
    native, pure = twins
    for target in ("/api/x", "/items?id=7", "/a%20b", "/nothing"):
        d = native.route("GET", target, headers)
        assert d.to_dict() == pure.route("GET", target, headers).to_dict(), target
    if headers is not None:  # (None's count moves with everything else)
        refs = sys.getrefcount(headers)
        for _ in range(20):
            native.route("GET", "/api/x", headers)
        assert sys.getrefcount(headers) == refs
