"""The native pass over a target under 64 characters (rc_scan_short) reads it as two 64-bit
masks from loads that end at the target's end, and leaves the hashing to the probes
(Req.bmask, Req.full_hash 0); longer targets take rc_scan_path, whose boundaries of 64 or more
are hashed by the pass (Req.blen). Targets of every length from 1 to 90, with "/" boundaries at
the lengths where the loads and masks change (around 16, 32 and 64), each thing the pass acts on
at several positions, and rules whose prefixes and exact paths have those lengths, must decide
as the pure twin does, whatever the path options."""
import pytest

import routecore
from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")

CUTS = (6, 15, 17, 31, 33, 47, 62, 64, 66, 72)  # "/" at each of these


def _base(n=90):
    return "".join("/" if i == 0 or i in CUTS else "abcdefghijklmnopqrstuvwxyz"[i % 26]
                   for i in range(n))


BASE = _base()
PIECES = ("?q=1", "?q#f", "#f", "//x", "%41", "/./x", "/../y", ".x", "?a//b#", "?a%#", "?", "/")
GATEWAY = """apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: gc
  listeners:
  - {name: web, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}"""


def _route(name, hostnames, matches):
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


def _config():
    """Host a.example.com: prefixes at every cut but two (its group lacks 17 and 62), exact
    paths of lengths 16, 63, 64 and 65; *.example.com (the next group a.example.com's misses
    fall to): "/", the prefixes a.example.com lacks, an exact path of length 33."""
    own = [c for c in CUTS if c not in (17, 62)]
    exact = [BASE[:16], BASE[:63], BASE[:64], BASE[:65]]
    return "\n---\n".join([
        GATEWAY,
        _route("a", ["a.example.com"], [("PathPrefix", BASE[:c]) for c in own]
               + [("Exact", p) for p in exact]),
        _route("w", ["*.example.com"], [("PathPrefix", "/"), ("PathPrefix", BASE[:17]),
                                        ("PathPrefix", BASE[:62]), ("Exact", BASE[:33])]),
    ])


def _targets():
    out = []
    for n in range(1, len(BASE) + 1):
        base = BASE[:n]
        out += [base, base + "/"]
        for k in sorted({1, n // 2, n - 1, n} - {0}):
            out += [base[:k] + piece + base[k:] for piece in PIECES]
    return out


@pytest.mark.parametrize("options", [{}, {"merge_slashes": True}, {"normalize_path": False}])
def test_targets_of_every_length_to_90_decide_as_the_pure_twin(options):
    cfg = routecore.load(_config())
    views = [routecore.Router(cfg, native=native, seed=3, **options).gateway("edge", namespace="infra", port=80)
             for native in (True, False)]
    seen = set()
    for target in _targets():
        for host in ("a.example.com", "b.example.com"):
            native, pure = (v.route("GET", target, host=host) for v in views)
            assert (native.kind, native.status, native.backend, native.request_path, native._query) == \
                (pure.kind, pure.status, pure.backend, pure.request_path, pure._query), (target, host, options)
            seen.add(native.backend.name if native.backend else native.status)
    # every rule of a.example.com and *.example.com was the answer for some target
    assert {f"a-{i}" for i in range(len(CUTS) - 2 + 4)} | {f"w-{i}" for i in range(4)} <= seen, seen

