"""Seeded workloads for the routing benchmarks: Kubernetes objects as users write them, plus a
fixed list of requests (hits spread over the rules, about 10% misses).

- ``mesh(n)``: one Service (default/svc:80) with ``n`` rules spread over routes of 8 rules each
  (an HTTPRoute holds at most 16 rules and 128 matches), mixing Exact paths, PathPrefix, canary
  header matches, query-parameter and method matches;
- ``gateway(n)``: one Gateway listener (no hostname) with ``n`` single-purpose routes spread over
  ``n // 10`` hostnames, 10% of them wildcards;
- ``mixed_routes(n)``: objects only (no requests), ``n`` one-rule routes on one Service mixing
  every path type and ReDoS-shaped header regexes, for load and compile at scale;
- ``real(workload, n, form)``: the same requests as a server hands them over, with a realistic
  header list (REAL_HEADERS: ``host`` plus 11 common headers; the Host travels in the headers, not
  as ``host=``), in each form route() and its adapters accept (FORMS).

Every call with the same arguments returns the same objects and requests.
"""
from __future__ import annotations

import random
from typing import List, NamedTuple, Optional, Tuple

GROUP = "gateway.networking.k8s.io"
RULES_PER_ROUTE = 8
N_REQUESTS = 256
SIZES = (10, 100, 1000, 10000)

Request = Tuple[str, str, List[Tuple[str, str]], Optional[str]]  # method, target, headers, host


class Workload(NamedTuple):
    name: str
    n: int
    objects: list
    requests: List[Request]
    view: str  # "service" or "gateway"

    def bind(self, router):
        if self.view == "service":
            return router.service("svc", namespace="default", port=80)
        return router.gateway("gw", namespace="default", port=80)


def _route(name, parent, rules, hostnames=None):
    spec = {"parentRefs": [parent], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": f"{GROUP}/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _backend(name):
    return [{"name": name, "port": 8080}]


# --- mesh ----------------------------------------------------------------------------------------

def _mesh_rule(i: int, rng: random.Random):
    """Rule ``i`` and a request that hits it (every rule path is unique to the rule)."""
    kind = rng.choices(["exact", "prefix", "canary", "query", "method"], weights=[30, 30, 20, 10, 10])[0]
    base = f"/svc{i}"
    if kind == "exact":
        match = {"path": {"type": "Exact", "value": f"{base}/items"}}
        req = ("GET", f"{base}/items", [("accept", "*/*")])
    elif kind == "prefix":
        match = {"path": {"type": "PathPrefix", "value": f"{base}/api"}}
        req = ("GET", f"{base}/api/v1/things/{rng.randrange(1000)}?page=2", [("accept", "*/*")])
    elif kind == "canary":
        match = {"path": {"type": "PathPrefix", "value": base},
                 "headers": [{"name": "x-canary", "value": "true"}]}
        req = ("GET", f"{base}/x", [("X-Canary", "true"), ("user-agent", "bench")])
    elif kind == "query":
        match = {"path": {"type": "PathPrefix", "value": f"{base}/search"},
                 "queryParams": [{"name": "v", "value": "2"}]}
        req = ("GET", f"{base}/search?q=x&v=2", [])
    else:
        match = {"path": {"type": "PathPrefix", "value": f"{base}/write"}, "method": "POST"}
        req = ("POST", f"{base}/write/1", [("content-type", "application/json")])
    return {"matches": [match], "backendRefs": _backend(f"be{i % 50}")}, req


def mesh(n: int, seed: int = 1) -> Workload:
    rng = random.Random(seed * 1_000_003 + n)
    rules, hits = [], []
    for i in range(n):
        rule, req = _mesh_rule(i, rng)
        rules.append(rule)
        hits.append(req)
    parent = {"group": "", "kind": "Service", "name": "svc", "port": 80}
    objects = [_route(f"mesh-{j // RULES_PER_ROUTE}", parent, rules[j:j + RULES_PER_ROUTE])
               for j in range(0, n, RULES_PER_ROUTE)]
    requests = []
    for k in range(N_REQUESTS):
        if k % 10 == 9:  # a miss: no rule has this path
            requests.append(("GET", f"/missing/{rng.randrange(n)}/x", [("accept", "*/*")], None))
        else:
            method, target, headers = hits[rng.randrange(n)]
            requests.append((method, target, list(headers), None))
    return Workload("mesh", n, objects, requests, "service")


# --- gateway -------------------------------------------------------------------------------------

def gateway(n: int, seed: int = 1) -> Workload:
    rng = random.Random(seed * 1_000_003 + n + 7)
    n_hosts = max(1, n // 10)
    n_wild = n_hosts // 10
    hostnames = [f"*.w{k}.example.com" if k < n_wild else f"h{k}.example.com" for k in range(n_hosts)]
    gw = {"apiVersion": f"{GROUP}/v1", "kind": "Gateway",
          "metadata": {"name": "gw", "namespace": "default"},
          "spec": {"gatewayClassName": "bench", "listeners": [
              {"name": "http", "port": 80, "protocol": "HTTP",
               "allowedRoutes": {"namespaces": {"from": "All"}}}]}}
    parent = {"group": GROUP, "kind": "Gateway", "name": "gw", "namespace": "default"}
    objects = [gw]
    hits = []
    for i in range(n):
        host = hostnames[i % n_hosts]
        base = f"/app{i}"
        rules = [{"matches": [{"path": {"type": "Exact", "value": f"{base}/health"}},
                              {"path": {"type": "PathPrefix", "value": f"{base}/api"}}],
                  "backendRefs": _backend(f"be{i % 50}")}]
        if i % 5 == 0:
            rules.append({"matches": [{"path": {"type": "PathPrefix", "value": base},
                                       "headers": [{"name": "x-canary", "value": "true"}]}],
                          "backendRefs": [{"name": f"be{i % 50}-canary", "port": 8080, "weight": 1},
                                          {"name": f"be{i % 50}", "port": 8080, "weight": 9}]})
        objects.append(_route(f"gw-{i}", parent, rules, [host]))
        req_host = host.replace("*", f"u{rng.randrange(100)}")
        if i % 5 == 0 and rng.random() < 0.5:
            hits.append(("GET", f"{base}/page", [("x-canary", "true")], req_host))
        elif rng.random() < 0.5:
            hits.append(("GET", f"{base}/health", [("accept", "*/*")], req_host))
        else:
            hits.append(("GET", f"{base}/api/v1/items?id={rng.randrange(1000)}",
                         [("accept", "*/*")], req_host + ":80"))
    requests = []
    for k in range(N_REQUESTS):
        if k % 20 == 9:  # unknown host
            requests.append(("GET", "/app0/health", [], f"nobody{k}.example.org"))
        elif k % 20 == 19:  # known host, no rule for the path
            requests.append(("GET", "/nothing/here", [], hits[rng.randrange(n)][3]))
        else:
            method, target, headers, host = hits[rng.randrange(n)]
            requests.append((method, target, list(headers), host))
    return Workload("gateway", n, objects, requests, "gateway")


def mixed_routes(n: int = 10_000) -> list:
    """n HTTPRoutes on one Service (default/svc:80), one rule each, cycling through an Exact path,
    a PathPrefix, a RegularExpression path and a PathPrefix with a ReDoS-shaped regex header
    match (bench/test_bench_redos.py; tests/test_hostile.py loads the same set)."""
    objs = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            m = {"path": {"type": "Exact", "value": f"/r{i}"}}
        elif kind == 1:
            m = {"path": {"type": "PathPrefix", "value": f"/r{i}"}}
        elif kind == 2:
            m = {"path": {"type": "RegularExpression", "value": f"/r{i}/[0-9]+"}}
        else:
            m = {"path": {"type": "PathPrefix", "value": f"/r{i}"},
                 "headers": [{"type": "RegularExpression", "name": "x-v", "value": "(a+)+$"}]}
        objs.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                     "metadata": {"name": f"r{i}", "namespace": "default"},
                     "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 80}],
                              "rules": [{"matches": [m], "backendRefs": [{"name": f"b{i}", "port": 80}]}]}})
    return objs


WORKLOADS = {"mesh": mesh, "gateway": gateway}


# --- real requests -------------------------------------------------------------------------------

# the twelve headers of a typical browser or API request through a gateway, in the order and case
# a client sends them; "host" comes first and is filled per request
REAL_HEADERS = (
    ("Host", None),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "application/json, text/plain, */*"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Cookie", "session=3f1c9a7e5b2d4c6f8a0e1b3d5f7a9c2e; theme=dark"),
    ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"),
    ("X-Request-Id", "6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
    ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ("X-Forwarded-For", "203.0.113.195, 70.41.3.18"),
    ("Content-Type", "application/json"),
    ("Content-Length", "0"),
)
MESH_HOST = "svc.default.svc.cluster.local"
# pairs: (str, str) as written above; asgi: ASGI's raw (bytes, bytes) pairs, names lower-case;
# mapping: a dict of lower-case names; wsgi: a WSGI environ (route_wsgi); scope: an ASGI HTTP
# scope (route_asgi)
FORMS = ("pairs", "asgi", "mapping", "wsgi", "scope")


class RealRequest(NamedTuple):
    method: str
    target: str
    headers: object           # the form's headers (the environ or scope for wsgi / scope)
    pairs: List[Tuple[str, str]]   # the same headers as (str, str) pairs, for checks


def _real_pairs(headers, host):
    """REAL_HEADERS with the request's host and its own headers (a canary's x-canary, ...):
    a request header of the workload replaces the real one of the same name, or is added."""
    own = {name.lower(): (name, value) for name, value in headers}
    out = []
    for name, value in REAL_HEADERS:
        low = name.lower()
        if low == "host":
            value = host
        if low in own:
            name, value = own.pop(low)
        out.append((name, value))
    out.extend(own.values())
    return out


def _form(form, method, target, pairs):
    if form == "pairs":
        return pairs
    if form == "asgi":
        return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    if form == "mapping":
        return {name.lower(): value for name, value in pairs}
    path, _, query = target.partition("?")
    if form == "wsgi":
        environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
                   "QUERY_STRING": query, "RAW_URI": target, "SERVER_NAME": "gw.internal",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http"}
        for name, value in pairs:
            key = name.upper().replace("-", "_")
            environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
        return environ
    assert form == "scope", form
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"), "root_path": "",
            "headers": _form("asgi", method, target, pairs),
            "client": ("203.0.113.195", 51234), "server": ("10.0.0.1", 80)}


def real(workload: str, n: int, form: str = "pairs") -> List[RealRequest]:
    """The requests of ``WORKLOADS[workload](n)`` with REAL_HEADERS in ``form``; the Host is in
    the headers (gateway: the request's host; a request without one sends the gateway's own
    name, which no route has; mesh: the Service's name)."""
    wl = WORKLOADS[workload](n)
    out = []
    for method, target, headers, host in wl.requests:
        if host is None:
            host = MESH_HOST if workload == "mesh" else "gw.internal"
        pairs = _real_pairs(headers, host)
        out.append(RealRequest(method, target, _form(form, method, target, pairs), pairs))
    return out
