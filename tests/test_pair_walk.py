"""The native pair walk (rc_walk_pairs_in, _match_c_headers.pxi: a negative index counted up to 0,
a name's type tested against str first and its type read again for bytes) against the pure twin:
the item the walk leaves to the general reading at the first, a middle and the last place, lists
around 63/64 items, str and bytes names mixed in both orders, a repeated Host as str and bytes,
and items the pure twin refuses (the same error type)."""
import pytest

from routecore import _match

from test_native_requests import EXTRA
from conftest import make_router

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

HOST = ("host", "hdr.example.com")
FILLER = [("x-abc", "1"), ("accept", "*/*"), (b"x-abd", b"2"), ("user-agent", "u")]  # (5: X-Env's length)
ODD = [["X-Env", "a,b"], ("X-Env",), ("X-Env", "a,b", "c"), (1, "v"), ("X-Env", 5),
       (b"X-ENV", b"a,b"), ("x-env", "a,b"), ("\u212aost", "k")]


def _outcome(view, headers):
    try:
        return "ok", view.route("GET", "/x", headers).to_dict()
    except Exception as e:  # the pure twin's error must be the native one's
        return "error", type(e)


@pytest.fixture(scope="module")
def views():
    native = make_router(EXTRA, True).gateway("edge", namespace="infra", port=8000)
    pure = make_router(EXTRA, False).gateway("edge", namespace="infra", port=8000)
    return native, pure


def _cases():
    for odd in ODD:
        for n in (0, 1, 5, 62, 63, 64, 130):  # filler pairs around the odd item
            fill = [FILLER[k % len(FILLER)] for k in range(n)]
            yield [odd, HOST] + fill           # left to the general reading first
            yield [HOST] + fill[: n // 2] + [odd] + fill[n // 2:]
            yield [HOST] + fill + [odd]        # last
    for n in (1, 63, 64, 65):
        fill = [FILLER[k % len(FILLER)] for k in range(n)]
        yield fill + [HOST]
        yield fill + [(b"host", b"hdr.example.com")]
        yield [(b"host", b"hdr.example.com")] + fill + [("X-Env", "a,b")]
        yield [HOST] + fill + [(b"Host", b"hdr.example.com")]  # a repeated Host: joined
        yield [(b"HOST", b"hdr.example.com")] + fill + [HOST]


CASES = list(_cases())


@pytest.mark.parametrize("headers", CASES, ids=range(len(CASES)))
def test_the_pair_walk_gives_the_pure_twins_answer(views, headers):
    native, pure = views
    for form in (list(headers), tuple(headers)):
        assert _outcome(native, form) == _outcome(pure, form)
