"""The native Host check of up to 32 characters (rc_host_scan32 in _match_c_host.pxi) reads two
overlapping 16-byte blocks (or, under 16, the 16 bytes that end at the Host's end, starting in
the str's header) and checks a ":port" by masks. Each edge below must decide as the pure twin:
every length 1-34 (around the 16 and 32 block sizes), a "." at every position, an invalid or
upper-case character, a ":" at every position, ports that are empty, not digits or doubled, a
trailing or doubled ".". A wrong mask would take a bad Host as valid (400 missed), cut the key
at the wrong place, or misplace a "." (the wrong wildcard, or one where an empty label forbids
it)."""
import pytest

import routecore
from builders import gateway_yaml
from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")

GATEWAY = gateway_yaml()  # Gateway infra/edge, one HTTP listener on port 80 open to all

LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def _name(n, step):
    """A valid host name of n characters with a "." after every step characters (none first
    or last)."""
    chars = [LETTERS[i % len(LETTERS)] for i in range(n)]
    for i in range(step, n - 1, step + 1):
        chars[i] = "."
    return "".join(chars)


NAMES = sorted({_name(n, step) for n in range(1, 35) for step in (1, 3, 7)})


def _route(i, hostnames):
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r{i}, namespace: infra}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: {hostnames!r}
  rules:
  - backendRefs: [{{name: b{i}, port: 80}}]"""


def _config():
    """Every other name as an exact hostname; for every name with a ".", a wildcard of the
    suffix after its first "." (so a Host one label longer than a name routes by wildcard)."""
    docs = [GATEWAY]
    for i, name in enumerate(NAMES):
        hostnames = [name] if i % 2 == 0 else []
        if "." in name:
            hostnames.append("*." + name.split(".", 1)[1])
        if hostnames:
            docs.append(_route(i, hostnames))
    return "\n---\n".join(docs)


def _hosts(name):
    yield from (name, name + ":80", name + ":", name + ":8x", name + "::80", name + ":80:1",
                name + ":8080" + "0" * 20, name.upper(), "x" + name, "x." + name, name[1:],
                name + ".", "." + name, "[" + name, name + "]", name + " ")
    for i in range(len(name)):
        for c in (".", ":", "_", "A", "/", "-", "\x7f"):
            yield name[:i] + c + name[i + 1:]
        yield name[:i] + ".." + name[i + 1:]
        yield name[:i] + ":" + "9" * (len(name) - i)  # a port in place of the name's end


def test_hosts_up_to_34_characters_decide_as_the_pure_twin():
    cfg = routecore.load(_config())
    views = [routecore.Router(cfg, native=native).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    kinds = set()
    routes = set()
    for name in NAMES:
        for host in _hosts(name):
            native, pure = (v.route("GET", "/", host=host) for v in views)
            got = (native.status, native.backend, native.route)
            assert got == (pure.status, pure.backend, pure.route), (host, got)
            # the Host in the headers (bytes, as ASGI sends it) goes the same way
            native = views[0].route("GET", "/", [(b"host", host.encode("latin-1"))])
            assert (native.status, native.backend, native.route) == got, (host, "bytes")
            kinds.add(native.status)
            routes.add(native.route)
    # invalid Hosts (400), unknown ones (404) and both exact and wildcard routes were all met
    assert {None, 400, 404} <= kinds, kinds  # None: routed (forwarded)
    assert len(routes) > len(NAMES) // 2


@pytest.mark.parametrize("n", [1, 15, 16, 17, 31, 32, 33])
def test_a_port_of_digits_after_one_colon_is_cut_at_every_length(n):
    """A ":port" cut where the digits start right after the ":" (tail mask bounds at n = 32)."""
    name = _name(n, 3)
    cfg = routecore.load("\n---\n".join([GATEWAY, _route(0, [name])]))
    views = [routecore.Router(cfg, native=native).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    for host, routed in ((name, True), (name + ":1", True), (name + ":", True),
                         (name + ":1a", False), (name + ":a1", False), (name + "::1", False),
                         (name[:-1] + ":1", False)):
        native, pure = (v.route("GET", "/", host=host) for v in views)
        assert (native.status, native.route) == (pure.status, pure.route), host
        assert (native.route is not None) is routed, (host, native.status)


def test_a_bytes_host_is_read_in_place_as_its_latin1_text():
    """A Host given as bytes (a raw ASGI header value) is checked and hashed where it lies
    (rc_host_scan32 over the bytes object's characters, no str made) when it is the common
    "name[:port]" of up to 32 bytes, decoded otherwise: either way the key, its hash, its "."
    mask and its empty-label flag are those of the latin-1 text, and the key is the pure
    twin's checked_host_key."""
    from routecore import _match_c
    from routecore._paths import checked_host_key
    seen = set()
    for name in NAMES:
        for host in list(_hosts(name)) + [name + "\xe9", "\xe9" + name[1:]]:
            text = _match_c._host_key_for_tests(host)
            raw = _match_c._host_key_for_tests(host.encode("latin-1"))
            assert raw == text, host
            key = checked_host_key(host)
            assert (text is None) == (key is None), host
            if text is not None:
                assert text[0] == key, host
            seen.add(text is None)
    assert seen == {True, False}
    assert _match_c._host_key_for_tests(b"") == _match_c._host_key_for_tests("")
    assert _match_c._host_key_for_tests(b"") == _match_c._host_key_for_tests(None)


REDIRECT = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: moved, namespace: infra}
spec:
  parentRefs: [{name: edge}]
  hostnames: ["a.example.com", "*.w.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 301}
  - backendRefs: [{name: b, port: 80}]"""


def test_a_bytes_host_header_is_kept_as_it_came_and_decoded_only_when_asked():
    """An ASGI Host header (bytes) is checked and looked up where it lies (_host_key_short), and
    the Decision holds that very bytes object (one more reference to it, no str made); its
    Host-bearing answers (location, upstream_host, _host) are the latin-1 text's, as the pure
    twin's. Hosts the in-place reading declines (upper case, over 32 bytes, not ASCII, invalid)
    decide as the pure twin too."""
    import sys
    from routecore import _match_c
    cfg = routecore.load("\n---\n".join([GATEWAY, REDIRECT]))
    native, pure = (routecore.Router(cfg, native=n).gateway("edge", namespace="infra", port=80)
                    for n in (True, False))
    long_host = "x" * 20 + ".w.example.com"  # 34 bytes: decoded, then the long scan
    for text in ("a.example.com", "a.example.com:8080", "u1.w.example.com", "A.Example.com",
                 long_host, long_host + ":1", "a.example.com\xe9", "a..w.example.com", "b.example",
                 ":80", ""):
        for path in ("/old/x?q=1", "/new"):
            host = bytes(bytearray(text.encode("latin-1")))  # an object of its own
            refs = sys.getrefcount(host)
            got = native.route("GET", path, [(b"accept", b"*/*"), (b"host", host)])
            want = pure.route("GET", path, [(b"accept", b"*/*"), (b"host", host)])
            assert got.to_dict() == want.to_dict(), (text, path)
            assert (got._host, got.location, got.upstream_host) == \
                (want._host, want.location, want.upstream_host), (text, path)
            assert got._host is None or type(got._host) is str
            if got._host is not None and text.islower() and len(text) <= 32 and text.isascii():
                # the common Host: the Decision holds the header's own bytes
                assert sys.getrefcount(host) == refs + 1, text
            del got
            assert sys.getrefcount(host) == refs, text
    assert _match_c._host_key_for_tests(b"a.example.com:80")[4] is True  # read in place
    assert _match_c._host_key_for_tests(b"A.example.com")[4] is False


def test_host_lookup_is_inlined_into_its_callers():
    """_host_lookup's always_inline (given on a prototype under Cython's C name for it, in
    _match_c_host.pxi) took: the built module holds no out-of-line copy. A renamed function
    or a changed prototype would leave one (and the exact probe a call again)."""
    import shutil
    import subprocess
    from routecore import _match_c
    if shutil.which("nm") is None:
        pytest.skip("nm is not installed")
    out = subprocess.run(["nm", _match_c.__file__], capture_output=True, text=True).stdout
    assert "_host_wild" in out  # (the symbols are there to be read)
    assert "_8_match_c__host_lookup" not in out
