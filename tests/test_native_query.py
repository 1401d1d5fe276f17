"""The native query reading (_query_get in _match_c.pyx: query_map(query[start:]).get(name) of the
pure twin) reads the query's characters with its kind and data taken once. Each request below
must decide as the pure twin, for queries of one, two and four bytes per character (the kind
read once must be the query's), a parameter at the very end (the end of the query closes a
parameter as "&" does), the first of repeated names, names that only start like the one asked,
a name without "=", empty parameters and "=" inside a value."""
import pytest

import routecore
from builders import APPS, be, gateway, gw_ref, httproute, listener, outcome, prefix, qp, rule
from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")

WIDE2 = "\u0101"       # two bytes per character
WIDE4 = "\U0001F600"   # four


def _views():
    objs = [gateway("gw", listener("web", 80, from_="All"), ns=APPS),
            httproute("r", [gw_ref("gw", APPS)], [
                rule(be("v2"), matches=[prefix("/q", queryParams=[qp("v", "2")])]),
                rule(be("wide"), matches=[prefix("/q", queryParams=[qp("w", WIDE2 + "x")])]),
                rule(be("wider"), matches=[prefix("/q", queryParams=[qp("z", WIDE4)])]),
                rule(be("e1"), matches=[prefix("/q", queryParams=[qp("e", "1")])]),
                rule(be("eq"), matches=[prefix("/q", queryParams=[qp("k", "a=b")])]),
                rule(be("none"), matches=[prefix("/q")])])]
    cfg = routecore.load(objs)
    return [routecore.Router(cfg, native=native).gateway("gw", APPS, 80) for native in (True, False)]


CASES = [
    ("/q?v=2", "v2"),                          # the last (and only) parameter: closed by the end
    ("/q?a=1&v=2", "v2"),
    ("/q?v=2&a=1", "v2"),
    ("/q?v=3&v=2", "none"),                    # the first of repeated names
    ("/q?vv=2&v=3", "none"),                   # a longer name that starts like "v"
    ("/q?&&v=2", "v2"),                        # empty parameters
    ("/q?v", "none"),                          # no "=": the value is ""
    ("/q?e", "none"),
    ("/q?e=", "none"),
    ("/q?e=1", "e1"),
    ("/q?e=1x&e=1", "none"),
    ("/q?k=a=b", "eq"),                        # "=" inside a value
    ("/q?x=" + WIDE2 + "&v=2", "v2"),          # a two-byte query, its last parameter
    ("/q?w=" + WIDE2 + "x", "wide"),
    ("/q?w=" + WIDE2 + "y&v=2", "v2"),
    ("/q?a=" + WIDE4 + "&v=2", "v2"),          # four bytes per character
    ("/q?z=" + WIDE4, "wider"),
    ("/q?z=" + WIDE4 + "&v=2", "v2"),          # (rule order: v2 first)
    ("/q?zz=" + WIDE4 + "&a" + WIDE4 + "=2", "none"),
    ("/q?a" + WIDE4 + "=2&z=" + WIDE4, "wider"),
]


@pytest.mark.parametrize("target, backend", CASES)
def test_query_conditions_decide_as_the_pure_twin(target, backend):
    native, pure = (v.route("GET", target, host="example.com") for v in _views())
    assert outcome(pure) == backend  # (the reference: each case is meant to reach this rule)
    assert outcome(native) == backend
    assert native.to_dict() == pure.to_dict()
