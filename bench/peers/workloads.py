"""Workloads shared by every contender of the peer benchmarks.

Each workload is the same routing work in two forms: Kubernetes objects (what routecore is given)
and a flat list of match entries (what the other contenders are built from, each in its own
terms). Requests are a fixed, seeded list; the expected answer for a request is the rule that
routecore picks, as ``(route "namespace/name", rule index)``, or ``None`` for no match.

- ``paths(n)``: ``n`` rules, Exact paths and PathPrefix only, grouped under prefixes that nest
  (``/g7`` holds ``/g7/r61`` ...); requests spread over all rules (including paths that fall
  through an Exact rule to the enclosing prefix) plus 10 % misses. No query, no header, no method
  matches: every contender can do this.
- ``mesh(n)``, ``gateway(n)``: bench/workloads.py's (path prefixes, exact paths, canary header,
  query and method matches; hostnames with 10 % wildcards).
- ``regex(n)``: ``n`` RegularExpression path rules, each with a literal first segment
  (``/r17/...``) and a regex tail; requests hit every rule, 10 % near misses (a known first
  segment whose tail does not match) and misses.
- ``envoy(n)``: the shape of Envoy's route-table speed test: ``n`` PathPrefix routes of equal
  length, every request hits the one that is last in precedence.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import List, NamedTuple, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import workloads as _base  # noqa: E402  (bench/workloads.py)

GROUP = _base.GROUP
N_REQUESTS = _base.N_REQUESTS
SIZES = _base.SIZES                                   # 10, 100, 1,000, 10,000
ENVOY_SIZES = tuple(4 ** k for k in range(8))         # 1, 4, 16, ... 16,384
RULES_PER_ROUTE = _base.RULES_PER_ROUTE
PLAIN_HEADERS = (("accept", "*/*"), ("user-agent", "bench"))


class Entry(NamedTuple):
    """One HTTPRouteMatch of one rule, flattened: what a hand-written matcher would keep."""
    rid: Tuple[str, int]               # ("namespace/route", rule index): the answer
    hostnames: Tuple[str, ...]         # the route's hostnames (empty: any host)
    path_type: str                     # "Exact" | "PathPrefix" | "RegularExpression"
    path: str
    method: Optional[str]
    headers: Tuple[Tuple[str, str, str], ...]   # (lower-case name, type, value)
    query: Tuple[Tuple[str, str, str], ...]     # (name, type, value)
    order: Tuple[str, int, int]        # (namespace/route, rule index, match index): tie-break


class Request(NamedTuple):
    method: str
    target: str                        # path [?query]
    headers: List[Tuple[str, str]]
    host: Optional[str]

    @property
    def path(self):
        return self.target.partition("?")[0]


class Workload(NamedTuple):
    name: str
    n: int
    objects: list
    requests: List[Request]
    view: str                          # "service" or "gateway"
    entries: List[Entry]

    def bind(self, router):
        if self.view == "service":
            return router.service("svc", namespace="default", port=80)
        return router.gateway("gw", namespace="default", port=80)

    @property
    def features(self):
        """What the route set uses: a contender that lacks one of these cannot take part."""
        f = {e.path_type for e in self.entries}
        if any(e.hostnames for e in self.entries):
            f.add("hostnames")
            if any(h.startswith("*.") for e in self.entries for h in e.hostnames):
                f.add("wildcard-hostnames")
        if any(e.headers for e in self.entries):
            f.add("headers")
        if any(e.query for e in self.entries):
            f.add("query")
        if any(e.method for e in self.entries):
            f.add("method")
        return f


def entries_from_objects(objects) -> List[Entry]:
    """The match entries of every HTTPRoute in ``objects`` (one per match; a rule with no match
    is a PathPrefix ``/`` match)."""
    out = []
    for obj in objects:
        if obj.get("kind") != "HTTPRoute":
            continue
        meta, spec = obj["metadata"], obj["spec"]
        name = f"{meta.get('namespace', 'default')}/{meta['name']}"
        hosts = tuple(h.lower() for h in spec.get("hostnames", ()))
        for ri, rule in enumerate(spec.get("rules", ())):
            for mi, m in enumerate(rule.get("matches") or [{}]):
                p = m.get("path", {})
                out.append(Entry(
                    rid=(name, ri), hostnames=hosts,
                    path_type=p.get("type", "PathPrefix"), path=p.get("value", "/"),
                    method=m.get("method"),
                    headers=tuple((h["name"].lower(), h.get("type", "Exact"), h["value"])
                                  for h in m.get("headers", ())),
                    query=tuple((q["name"], q.get("type", "Exact"), q["value"])
                                for q in m.get("queryParams", ())),
                    order=(name, ri, mi)))
    return out


def precedence_key(e: Entry, hostname: Optional[str] = None):
    """Gateway API precedence, as routecore applies it (regex below every prefix, longer
    patterns first; ties by route namespace/name, then rule and match order; no workload here
    sets creationTimestamp). ``hostname``: the route hostname this entry is considered under."""
    if hostname is None:
        host_rank = (2, 0)
    elif hostname.startswith("*."):
        host_rank = (1, -len(hostname))
    else:
        host_rank = (0, 0)
    if e.path_type == "Exact":
        path_rank = (0, 0)
    elif e.path_type == "PathPrefix":
        path_rank = (1, -len(e.path.rstrip("/")))
    else:
        path_rank = (2, -len(e.path))
    return (host_rank, path_rank, e.method is None, -len(e.headers), -len(e.query), e.order)


def _route(name, rules, parent=None, hostnames=None):
    parent = parent or {"group": "", "kind": "Service", "name": "svc", "port": 80}
    return _base._route(name, parent, rules, hostnames)


def _pack(prefix, rules):
    """HTTPRoutes of RULES_PER_ROUTE rules each, named so that name order is rule order."""
    width = len(str(max(0, len(rules) - 1) // RULES_PER_ROUTE))
    return [_route(f"{prefix}-{j // RULES_PER_ROUTE:0{width}d}", rules[j:j + RULES_PER_ROUTE])
            for j in range(0, len(rules), RULES_PER_ROUTE)]


def _with_entries(name, n, objects, requests, view) -> Workload:
    return Workload(name, n, objects, requests, view, entries_from_objects(objects))


# --- paths ---------------------------------------------------------------------------------------

def paths(n: int, seed: int = 1) -> Workload:
    """Exact and PathPrefix rules in groups of 8: ``/g{g}`` (prefix), four Exact
    ``/g{g}/r{i}/item``, three PathPrefix ``/g{g}/r{i}``."""
    rng = random.Random(seed * 1_000_003 + n + 11)
    rules, hits = [], []
    for i in range(n):
        g, k = divmod(i, 8)
        be = _base._backend(f"be{i % 50}")
        if k == 0:
            rules.append({"matches": [{"path": {"type": "PathPrefix", "value": f"/g{g}"}}],
                          "backendRefs": be})
            hits.append(lambda g=g: f"/g{g}/other{rng.randrange(1000)}/x")
        elif k <= 4:
            rules.append({"matches": [{"path": {"type": "Exact", "value": f"/g{g}/r{i}/item"}}],
                          "backendRefs": be})
            hits.append(lambda g=g, i=i: f"/g{g}/r{i}/item" if rng.random() < 0.8
                        else f"/g{g}/r{i}/item/extra")   # falls through to the group prefix
        else:
            rules.append({"matches": [{"path": {"type": "PathPrefix", "value": f"/g{g}/r{i}"}}],
                          "backendRefs": be})
            hits.append(lambda g=g, i=i: f"/g{g}/r{i}/v1/things/{rng.randrange(1000)}")
    requests = []
    for k in range(N_REQUESTS):
        if k % 10 == 9:
            requests.append(Request("GET", f"/nope{rng.randrange(n)}/x", list(PLAIN_HEADERS), None))
        else:
            requests.append(Request("GET", hits[rng.randrange(n)](), list(PLAIN_HEADERS), None))
    return _with_entries("paths", n, _pack("paths", rules), requests, "service")


# --- regex ---------------------------------------------------------------------------------------

_REGEX_SHAPES = [
    # (regex tail after "/r{i}/", a request tail that matches, a near miss)
    (r"items/[0-9]+", lambda r: f"items/{r.randrange(10**6)}", "items/abc"),
    (r"(?:en|de|fr)/docs/[a-z-]+", lambda r: f"{r.choice(['en', 'de', 'fr'])}/docs/get-started",
     "it/docs/get-started"),
    (r"v[0-9]+/users/[^/]+/orders", lambda r: f"v{r.randrange(1, 4)}/users/u{r.randrange(999)}/orders",
     "v1/users/u1/invoices"),
    (r"files/[^/]+\.(?:png|jpe?g)", lambda r: f"files/img{r.randrange(999)}.jpg", "files/doc.pdf"),
]


def regex(n: int, seed: int = 1) -> Workload:
    rng = random.Random(seed * 1_000_003 + n + 13)
    rules, tails = [], []
    for i in range(n):
        shape = _REGEX_SHAPES[i % len(_REGEX_SHAPES)]
        rules.append({"matches": [{"path": {"type": "RegularExpression",
                                            "value": f"/r{i}/{shape[0]}"}}],
                      "backendRefs": _base._backend(f"be{i % 50}")})
        tails.append(shape)
    requests = []
    for k in range(N_REQUESTS):
        i = rng.randrange(n)
        if k % 20 == 9:      # near miss: the literal segment exists, the tail does not match
            target = f"/r{i}/{tails[i][2]}"
        elif k % 20 == 19:   # miss
            target = f"/nope/{rng.randrange(n)}"
        else:
            target = f"/r{i}/{tails[i][1](rng)}"
        requests.append(Request("GET", target, list(PLAIN_HEADERS), None))
    return _with_entries("regex", n, _pack("regex", rules), requests, "service")


# --- Envoy's speed-test shape --------------------------------------------------------------------

def envoy(n: int, seed: int = 1) -> Workload:
    """``n`` PathPrefix rules ``/shelves/shelf_{i:05d}`` (equal lengths: precedence is route
    order); every request hits rule ``n - 1``, the last in precedence, with a varying tail."""
    rng = random.Random(seed * 1_000_003 + n + 17)
    rules = [{"matches": [{"path": {"type": "PathPrefix", "value": f"/shelves/shelf_{i:05d}"}}],
              "backendRefs": _base._backend(f"be{i % 50}")} for i in range(n)]
    last = f"/shelves/shelf_{n - 1:05d}"
    requests = [Request("GET", f"{last}/route/{rng.randrange(10**6)}", list(PLAIN_HEADERS), None)
                for _ in range(N_REQUESTS)]
    return _with_entries("envoy", n, _pack("envoy", rules), requests, "service")


# --- bench/workloads.py's ------------------------------------------------------------------------

def _wrap(fn, name):
    def make(n: int, seed: int = 1) -> Workload:
        wl = fn(n, seed)
        return _with_entries(name, n, wl.objects, [Request(*r) for r in wl.requests], wl.view)
    make.__name__ = name
    make.__doc__ = fn.__doc__
    return make


mesh = _wrap(_base.mesh, "mesh")
gateway = _wrap(_base.gateway, "gateway")

WORKLOADS = {"paths": paths, "mesh": mesh, "gateway": gateway, "regex": regex, "envoy": envoy}
WORKLOAD_SIZES = {"paths": SIZES, "mesh": SIZES, "gateway": SIZES, "regex": SIZES,
                  "envoy": ENVOY_SIZES}

_CACHE = {}


def get(name: str, n: int) -> Workload:
    key = (name, n)
    if key not in _CACHE:
        _CACHE[key] = WORKLOADS[name](n)
    return _CACHE[key]
