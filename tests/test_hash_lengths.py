"""The native passes read a short host or target without copying it (the last partial 16-byte
block and the last partial word are read from the bytes that end at the string's end): every
length from 1 to 40, with the "." or "/" at every position, must hash as the maps do, so the
native twin decides as the pure one."""
import pytest

import routecore
from builders import gateway_yaml
from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")

HOSTS = ["a" * k + ".b" * (j % 3) + ".e" + "x" * j for k in (1, 2, 7, 8, 9, 15) for j in range(0, 26, 5)]
PATHS = ["/" + "p" * k + "/" + "q" * j for k in range(1, 17) for j in (0, 1, 7, 8, 9, 16)]


GATEWAY = gateway_yaml()  # Gateway infra/edge, one HTTP listener on port 80 open to all


def _config():
    docs = [GATEWAY]
    for i, host in enumerate(HOSTS):
        tail = host.split(".", 1)[1]
        rules = "\n".join(f"  - matches: [{{path: {{type: PathPrefix, value: '{p}'}}}}]\n"
                          f"    backendRefs: [{{name: s{i}-{j}, port: 80}}]"
                          for j, p in enumerate(PATHS[i::len(HOSTS) // 4 + 1]))
        docs.append(f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r{i}, namespace: infra}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: ['{host}', '*.{tail}']
  rules:
{rules}""")
    return "\n---\n".join(docs)


def test_every_short_length_decides_as_the_pure_twin():
    cfg = routecore.load(_config())
    views = [routecore.Router(cfg, native=native, seed=3).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    seen = set()
    for host in HOSTS + ["z." + h for h in HOSTS] + [h + ":8080" for h in HOSTS]:
        for path in PATHS + [p + "?x=1" for p in PATHS[::5]] + [p + "/" for p in PATHS[::3]]:
            native, pure = (v.route("GET", path, host=host) for v in views)
            assert (native.kind, native.backend, native.route) == (pure.kind, pure.backend, pure.route), (host, path)
            seen.add(native.kind)
    assert len(seen) > 1  # both routed and unrouted requests were met


def _wild_config(tails):
    """One Gateway listener; route i takes ``*.{tails[i]}`` (backend w{i})."""
    docs = [GATEWAY]
    for i, tail in enumerate(tails):
        docs.append(f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: w{i}, namespace: infra}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: ['*.{tail}']
  rules: [{{backendRefs: [{{name: w{i}, port: 80}}]}}]""")
    return "\n---\n".join(docs)


def test_hosts_of_more_than_32_labels_take_the_longest_wildcard_as_the_pure_twin():
    """Past 32 labels the native twin probes only the suffixes no longer than its longest
    wildcard key (a Host of thousands of labels no longer costs quadratic time): the most
    specific wildcard still wins, up to a 251-character one, as in the pure twin."""
    long_tail = ".".join(["l"] * 120) + ".example.com"  # 251 characters, 122 labels
    assert len(long_tail) == 251
    tails = ["example.com", "b.example.com", ".".join(["b"] * 40) + ".example.com", long_tail]
    cfg = routecore.load(_wild_config(tails))
    views = [routecore.Router(cfg, native=native).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    cases = {
        "x." + ".".join(["a"] * 50) + ".example.com": "w0",
        ".".join(["a"] * 50) + ".b.example.com": "w1",
        "a." * 500 + ".".join(["b"] * 40) + ".example.com": "w2",
        "a." * 2000 + long_tail: "w3",
        "a." * 2000 + "l." + long_tail: "w3",
        "a." * 40 + "b.nomatch.org": None,
    }
    for host, want in cases.items():
        native, pure = (v.route("GET", "/", host=host) for v in views)
        got = native.backend.name if native.backend else None
        assert got == want, (len(host), got, want)
        assert (native.kind, native.backend, native.route) == (pure.kind, pure.backend, pure.route)


def _exact_and_wild_config(exact, tails):
    """_wild_config plus route e taking the exact ``exact`` hostnames (backend e)."""
    return _wild_config(tails) + f"""
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: e, namespace: infra}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: {exact!r}
  rules: [{{backendRefs: [{{name: e, port: 80}}]}}]"""


def test_dots_found_16_bytes_at_a_time_decide_as_the_pure_twin():
    """The Host check finds the "." as bit masks, 16 bytes at a time, and the wildcard lookup
    hashes only the suffixes a wildcard key can be (no longer than the longest, of a length
    some key has): an empty label on either side of a 16-byte boundary, a leading ".", a port
    right after a boundary, Hosts of 250 to 260 characters and suffixes of every length around
    the keys' lengths decide as in the pure twin."""
    tails = ["b.example.com", "cc.b.example.com", ".".join(["d"] * 20) + ".example.com"]
    exact = ["x" * 15 + ".b.example.com", "y" * 240 + ".example.com"]
    cfg = routecore.load(_exact_and_wild_config(exact, tails))
    views = [routecore.Router(cfg, native=native).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    hosts = exact + ["e" + h for h in exact] + [h[1:] for h in exact]
    for pad in range(0, 40):
        for tail in tails + ["b.example.com.", "c.b.example.com"]:
            hosts += ["a" * pad + "." + tail, "a" * pad + ".." + tail, "." + "a" * pad + "." + tail,
                      "a" * pad + "." + tail + ":8080", "a" * pad + "." + tail + ":",
                      "a" * pad + "." + tail + ":80:80"]
    for n in range(250, 261):
        hosts += [("a" * (n - 14)) + ".b.example.com", "a." * ((n - 13) // 2) + "b.example.com"]
        hosts += [h + ":443" for h in hosts[-2:]]
    seen = set()
    for host in hosts:
        native, pure = (v.route("GET", "/", host=host) for v in views)
        assert (native.kind, native.backend, native.route) == (pure.kind, pure.backend, pure.route), host
        seen.add(native.backend.name if native.backend else native.kind)
    assert {"w0", "w1", "w2", "e"} <= seen


BASE = "/abcdefg/abcdefg/abcdefga/bc/defghijklmno/pq"  # "/" at 8, 16, 28 and 41


def _targets_around_32():
    """Targets of 1 to 45 bytes (the short one-step pass is under 32) with each thing the
    pass must act on at every position: a query, a fragment after the query or before it,
    "//", an escape, a dot-segment, a plain "."."""
    out = []
    for n in range(1, len(BASE) + 1):
        base = BASE[:n]
        for k in range(1, n + 1):
            for piece in ("?q=1", "?q#f", "#f", "//x", "%41", "/./x", "/../y", ".x", "?a//b#", "?a%#"):
                out.append(base[:k] + piece + base[k:])
    return out


PREFIX_CONFIG = GATEWAY + "\n---\n" + """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: p, namespace: infra}
spec:
  parentRefs: [{name: edge}]
  rules:
""" + "\n".join(f"  - matches: [{{path: {{type: PathPrefix, value: '{p}'}}}}]\n"
               f"    backendRefs: [{{name: p{i}, port: 80}}]"
               for i, p in enumerate(["/", BASE[:8], BASE[:16], BASE[:28], BASE[:41]]))


@pytest.mark.parametrize("options", [{}, {"merge_slashes": True}, {"normalize_path": False}])
def test_targets_around_one_step_decide_as_the_pure_twin(options):
    cfg = routecore.load(PREFIX_CONFIG)
    views = [routecore.Router(cfg, native=native, seed=3, **options).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    seen = set()
    for path in _targets_around_32():
        native, pure = (v.route("GET", path, host="h.example.com") for v in views)
        assert (native.kind, native.status, native.backend, native.request_path, native._query) == \
            (pure.kind, pure.status, pure.backend, pure.request_path, pure._query), (path, options)
        seen.add(native.backend.name if native.backend else native.status)
    assert {"p0", "p1", "p2", "p3", "p4"} <= seen


def test_host_maps_probed_in_place_decide_as_the_pure_twin():
    """_host_lookup probes the host maps' slots directly (one byte per character) or through
    _probe_wide (wider Hosts): an exact name, a wildcard after the exact probe missed, the
    next shorter wildcard when a group has no rule for the path, upper case, a port, a
    trailing ".", a non-Latin-1 Host and a bytes Host (ASGI pairs) decide as the pure twin."""
    cfg = routecore.load(_exact_and_wild_config(["h1.example.com"],
                                                ["example.com", "w3.example.com"]))
    views = [routecore.Router(cfg, native=native).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    cases = {
        "h1.example.com": "e", "H1.Example.COM:8080": "e", "h1.example.com.": "e",
        "u7.w3.example.com": "w1", "u7.w3.example.com:80": "w1", "U7.W3.example.com.": "w1",
        "h2.example.com": "w0", "ĳ.w3.example.com": "?", "é.example.com": "?",
        "nobody.example.org": None, "a..w3.example.com": None,
    }
    for host, want in cases.items():
        native, pure = (v.route("GET", "/", host=host) for v in views)
        got = native.backend.name if native.backend else None
        assert got == want or want == "?", (host, got, want)  # "?": as the pure twin says
        assert (native.kind, native.backend, native.route) == (pure.kind, pure.backend, pure.route)
        if host.isascii():
            raw = [(b"host", host.encode("ascii")), (b"accept", b"*/*")]
            native, pure = (v.route("GET", "/", raw) for v in views)
            got = native.backend.name if native.backend else None
            assert got == want, (host, "bytes", got, want)


CUTS = (6, 15, 17, 31, 33, 47, 62, 64, 66, 72)  # LONG_BASE has a "/" at each of these
LONG_BASE = "".join("/" if i == 0 or i in CUTS else "abcdefghijklmnopqrstuvwxyz"[i % 26]
                    for i in range(90))
LONG_PIECES = ("?q=1", "?q#f", "#f", "//x", "%41", "/./x", "/../y", ".x", "?a//b#", "?a%#", "?", "/")


def _paths_route(name, hostnames, matches):
    rules = "\n".join(f"  - matches: [{{path: {{type: {kind}, value: '{value}'}}}}]\n"
                      f"    backendRefs: [{{name: {name}-{i}, port: 80}}]"
                      for i, (kind, value) in enumerate(matches))
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: infra}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: {hostnames!r}
  rules:
{rules}"""


def _cuts_config():
    """Host a.example.com: prefixes at every cut but two (its group lacks 17 and 62), exact
    paths of lengths 16, 63, 64 and 65; *.example.com (the next group a.example.com's misses
    fall to): "/", the prefixes a.example.com lacks, an exact path of length 33."""
    own = [c for c in CUTS if c not in (17, 62)]
    exact = [LONG_BASE[:16], LONG_BASE[:63], LONG_BASE[:64], LONG_BASE[:65]]
    return "\n---\n".join([
        GATEWAY,
        _paths_route("a", ["a.example.com"], [("PathPrefix", LONG_BASE[:c]) for c in own]
                     + [("Exact", p) for p in exact]),
        _paths_route("w", ["*.example.com"], [("PathPrefix", "/"), ("PathPrefix", LONG_BASE[:17]),
                                              ("PathPrefix", LONG_BASE[:62]),
                                              ("Exact", LONG_BASE[:33])]),
    ])


def _targets_to_90():
    out = []
    for n in range(1, len(LONG_BASE) + 1):
        base = LONG_BASE[:n]
        out += [base, base + "/"]
        for k in sorted({1, n // 2, n - 1, n} - {0}):
            out += [base[:k] + piece + base[k:] for piece in LONG_PIECES]
    return out


@pytest.mark.parametrize("options", [{}, {"merge_slashes": True}, {"normalize_path": False}])
def test_targets_of_every_length_to_90_decide_as_the_pure_twin(options):
    """The native pass over a target under 64 characters (rc_scan_short) reads it as two
    64-bit masks from loads that end at the target's end and leaves the hashing to the probes
    (Req.bmask, Req.full_hash 0); longer targets take rc_scan_path, which hashes the boundaries
    of 64 or more (Req.blen). Targets of every length from 1 to 90, with "/" boundaries where
    the loads and masks change (around 16, 32 and 64), each thing the pass acts on at several
    positions, and rules whose prefixes and exact paths have those lengths, decide as the pure
    twin does, whatever the path options."""
    cfg = routecore.load(_cuts_config())
    views = [routecore.Router(cfg, native=native, seed=3, **options).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    seen = set()
    for target in _targets_to_90():
        for host in ("a.example.com", "b.example.com"):
            native, pure = (v.route("GET", target, host=host) for v in views)
            assert (native.kind, native.status, native.backend, native.request_path, native._query) == \
                (pure.kind, pure.status, pure.backend, pure.request_path, pure._query), (target, host, options)
            seen.add(native.backend.name if native.backend else native.status)
    # every rule of a.example.com and *.example.com was the answer for some target
    assert {f"a-{i}" for i in range(len(CUTS) - 2 + 4)} | {f"w-{i}" for i in range(4)} <= seen, seen

