"""An exact header condition read against a raw bytes value (ASGI's (bytes, bytes) pairs)
compares the rule's text with the bytes in place (Table._check, src_c/routecore/_match_c.pyx
_bytes_is): latin-1, so a byte >= 0x80 is the code point of its value (no ASCII rule value matches it); a
value of any length is compared whole. The native twin gives the
pure twin's decision for bytes values of every kind, names in any case, repeated headers
(joined with "," as text), and regex conditions (still read as text)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routecore import _match

from conftest import make_router

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

# rule values (visible ASCII, the config's rule): lengths 1, 7, 8, 9, 16, 17 (each side of a
# word), a space and a tab inside
VALUES = {"one": "t", "seven": "abcdefg", "eight": "abcdefgh", "nine": "abcdefghi",
          "sixteen": "0123456789abcdef", "seventeen": "0123456789abcdefg", "gap": "a b\tc"}


def _config():
    rules = []
    for i, (name, value) in enumerate(VALUES.items()):
        rules.append(f"""
  - matches: [{{path: {{type: PathPrefix, value: /{name}}}, headers: [{{name: X-Val, value: "{value}"}}]}}]
    backendRefs: [{{name: b{i}, port: 80}}]""")
    rules.append("""
  - matches: [{path: {type: PathPrefix, value: /two}, headers: [{name: x-a, value: "1"}, {name: X-B, value: "Z"}]}]
    backendRefs: [{name: two, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /re}, headers: [{name: x-val, type: RegularExpression, value: "a.c.?"}]}]
    backendRefs: [{name: re, port: 80}]""")
    routes = "".join(rules)
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: edge, namespace: infra}}
spec:
  gatewayClassName: routecore
  listeners: [{{name: web, port: 80, protocol: HTTP, allowedRoutes: {{namespaces: {{from: All}}}}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: shop, namespace: app}}
spec:
  parentRefs: [{{name: edge, namespace: infra}}, {{group: "", kind: Service, name: svc, port: 80}}]
  rules:{routes}
"""


@pytest.fixture(scope="module")
def views():
    out = {}
    for twin in (True, False):
        r = make_router(_config(), twin)
        out[twin] = [r.gateway("edge", namespace="infra", port=80),
                     r.service("svc", namespace="app", port=80)]
    return out


TARGETS = ["/" + n for n in VALUES] + ["/two", "/re"]
# bytes values: each rule value's latin-1 bytes, one byte short, one byte more, its last byte
# changed, its UTF-8 bytes (not latin-1), upper case
RAW = []
for v in list(VALUES.values()) + ["1", "Z", "abc", "abc\u00fc", "abd", "\u00fc\u00e9x"]:
    if max(map(ord, v)) < 256:
        b = v.encode("latin-1")
        RAW += [b, b[:-1], b + b"x", b[:-1] + bytes([b[-1] ^ 1]), b.upper()]
    RAW.append(v.encode("utf-8"))
RAW += [b"", b"\xff", b"\xfc\xe9", b"t\x00", b"\x00t", b"a\xfcc"]
NAMES = [b"x-val", b"X-Val", b"X-VAL", "x-val", b"x-a", b"X-A", b"x-b", b"X-B", b"x-other"]
HOSTS = [b"shop.example.com", b"Shop.Example.COM:80", b"sh\xf6p.example.com", b"other.example",
         b"", b"a b", "shop.example.com"]


def _decide(view, target, headers, kw):
    try:
        d = view.route("GET", target, headers, **kw)
        return "ok", d.to_dict(), d.upstream_host, d.location
    except Exception as e:
        return "error", type(e)


def _agree(views, headers):
    """Both twins, with host= given and with the Host read from the headers (a mesh view reads
    it after the header conditions read the headers: _host_only's bytes Host as it came)."""
    for i in range(2):
        for target in TARGETS:
            for kw in ({"host": "shop.example.com"}, {}):
                got = _decide(views[True][i], target, list(headers), kw)
                want = _decide(views[False][i], target, list(headers), kw)
                assert got == want, (i, target, kw, headers)


@pytest.mark.parametrize("raw", RAW, ids=repr)
def test_each_bytes_value_decides_as_the_pure_twin(views, raw):
    for name in (b"x-val", b"X-Val"):
        _agree(views, [(b"accept", b"*/*"), (name, raw)])


def test_exact_bytes_values_match_where_their_latin1_text_does(views):
    """The decisions themselves, so that a native reading the pure twin shares cannot pass."""
    for i in range(2):
        view = views[True][i]
        for n, (name, value) in enumerate(VALUES.items()):
            raw = value.encode("latin-1")
            d = view.route("GET", "/" + name, [(b"x-val", raw)], host="shop.example.com")
            assert d.matched and d.backend.name == f"b{n}", (name, raw)
            for other in (raw[:-1], raw + b"x", raw[:-1] + bytes([raw[-1] ^ 1]), raw.upper(),
                          raw[:-1] + b"\xfc", b"\xfc" + raw[1:], raw + b"\x00"):
                if other == raw:
                    continue
                d = view.route("GET", "/" + name, [(b"X-VAL", other)], host="shop.example.com")
                assert not d.matched, (name, other)


def test_repeated_and_two_condition_headers(views):
    for i in range(2):
        view = views[True][i]
        d = view.route("GET", "/two", [(b"X-B", b"Z"), (b"x-a", b"1")], host="shop.example.com")
        assert d.matched and d.backend.name == "two"
        d = view.route("GET", "/two", [(b"x-b", b"Z"), (b"x-a", b"1"), (b"x-a", b"1")],
                       host="shop.example.com")  # joined: "1,1"
        assert not d.matched
        for raw, hit in ((b"abc\xfc", True), (b"a\xfcc", True), (b"abc\xc3\xbc", False)):
            d = view.route("GET", "/re", [(b"x-val", raw)], host="shop.example.com")
            assert d.matched == hit and (hit and d.backend.name) == (hit and "re"), raw
    _agree(views, [(b"x-val", b"abcdefg"), (b"X-Val", b"abcdefg")])
    _agree(views, [(b"x-val", b"abc"), ("x-val", "defg")])


HEADERS = st.lists(st.one_of(st.tuples(st.sampled_from(NAMES), st.sampled_from(RAW)),
                             st.tuples(st.sampled_from([b"host", b"Host", b":authority"]),
                                       st.sampled_from(HOSTS))), max_size=5)


@pytest.mark.parametrize("host", HOSTS, ids=repr)
@pytest.mark.parametrize("name", [b"host", b":authority"])
def test_a_bytes_host_read_with_the_header_conditions(views, host, name):
    """A mesh view reads the Host after its header conditions read the headers whole: the
    Host (or :authority) as bytes, decided and kept as the pure twin's; repeated, joined."""
    for cond in ([(b"x-val", b"t")], [(b"x-a", b"1"), (b"X-B", b"Z")], []):
        _agree(views, cond + [(name, host)])
        _agree(views, [(name, host)] + cond + [(name, host)])
        _agree(views, [(b":authority", b"x.example"), (name, host)] + cond)
    d = views[True][1].route("GET", "/one", [(b"x-val", b"t"), (name, host)])
    want = views[False][1].route("GET", "/one", [(b"x-val", b"t"), (name, host)])
    assert d.matched == want.matched and d.upstream_host == want.upstream_host
    assert d.to_dict() == want.to_dict()
    if host in (b"shop.example.com", b"Shop.Example.COM:80"):
        assert d.matched and d.upstream_host == host.decode()


@settings(max_examples=300, deadline=None)
@given(HEADERS)
def test_any_bytes_headers_decide_as_the_pure_twin(views, headers):
    _agree(views, headers)
