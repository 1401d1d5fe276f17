"""Fixed routing tables for fuzz/fuzz_route.py and the hostile/concurrency tests.

One configuration (``CONFIG``, YAML) with both kinds of entry point:

- mesh: Service ``default/reviews:9080`` (examples/reviews.yaml) and ``default/svc:80`` with
  Exact / PathPrefix / RegularExpression paths, exact and regex header matches, query matches,
  methods, weighted backends, a redirect, a rewrite, a CORS filter and a GRPCRoute on port 50051;
- gateway: ``infra/edge`` (examples/edge.yaml's listener plus an exact-host listener and a
  catch-all listener on port 80, and an HTTPS listener on 443 for SNI checks), routes with
  exact and wildcard hostnames.

``VIEWS`` names every (kind, args) view the fuzzer drives; ``OPTIONS`` the Router options sets.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

G = "gateway.networking.k8s.io/v1"

EXTRA = f"""
apiVersion: {G}
kind: Gateway
metadata: {{name: edge, namespace: infra}}
spec:
  gatewayClassName: routecore
  listeners:
  - {{name: web, port: 80, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: exact, port: 80, protocol: HTTP, hostname: "admin.example.com", allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: any, port: 80, protocol: HTTP, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: tls-a, port: 443, protocol: HTTPS, hostname: "a.example.org", allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: tls-w, port: 443, protocol: HTTPS, hostname: "*.example.org", allowedRoutes: {{namespaces: {{from: All}}}}}}
---
apiVersion: {G}
kind: HTTPRoute
metadata: {{name: shop, namespace: store}}
spec:
  parentRefs: [{{name: edge, namespace: infra}}]
  hostnames: ["shop.example.com"]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /old}}}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {{statusCode: 301, path: {{type: ReplacePrefixMatch, replacePrefixMatch: /new}}}}
  - matches: [{{path: {{type: PathPrefix, value: /api}}}}]
    filters:
    - type: URLRewrite
      urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /}}}}
    backendRefs:
    - {{name: api, port: 8080, weight: 90}}
    - {{name: api-canary, port: 8080, weight: 10}}
---
apiVersion: {G}
kind: HTTPRoute
metadata: {{name: admin, namespace: store}}
spec:
  parentRefs: [{{name: edge, namespace: infra}}]
  hostnames: ["*.example.com", "admin.example.com", "*.example.org"]
  rules:
  - matches: [{{path: {{type: Exact, value: /admin}}}}, {{path: {{type: PathPrefix, value: /admin/}}}}]
    backendRefs: [{{name: admin, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /public}}}}]
    backendRefs: [{{name: public, port: 8080}}]
  - matches: [{{path: {{type: RegularExpression, value: "/re/[a-z]+/[0-9]{{1,4}}"}}}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {{set: [{{name: x-re, value: "1"}}], remove: [x-drop]}}
    backendRefs: [{{name: regex, port: 8080}}]
  - matches:
    - path: {{type: PathPrefix, value: /h}}
      headers: [{{name: x-env, value: prod}}, {{type: RegularExpression, name: x-id, value: "[0-9a-f]{{8}}"}}]
      queryParams: [{{name: v, value: "2"}}]
      method: POST
    backendRefs: [{{name: headers, port: 8080}}]
---
apiVersion: {G}
kind: HTTPRoute
metadata: {{name: fallback, namespace: store}}
spec:
  parentRefs: [{{name: edge, namespace: infra}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /}}}}]
    backendRefs: [{{name: fallback, port: 8080}}]
---
apiVersion: {G}
kind: HTTPRoute
metadata: {{name: svc, namespace: default}}
spec:
  parentRefs: [{{group: "", kind: Service, name: svc, port: 80}}]
  rules:
  - matches: [{{path: {{type: Exact, value: /admin}}}}, {{path: {{type: PathPrefix, value: /admin}}}}]
    backendRefs: [{{name: admin, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /public/}}}}]
    backendRefs: [{{name: public, port: 80}}]
  - matches: [{{path: {{type: Exact, value: /a/b}}}}]
    backendRefs: [{{name: ab, port: 80}}]
  - matches: [{{path: {{type: RegularExpression, value: "/rx/(a+)+$"}}}}]
    backendRefs: [{{name: redos-path, port: 80}}]
  - matches: [{{path: {{type: RegularExpression, value: "/items/[0-9]+(/.*)?"}}}}]
    backendRefs: [{{name: items, port: 80, weight: 3}}, {{name: items-b, port: 80, weight: 1}}]
  - matches:
    - path: {{type: PathPrefix, value: /q}}
      queryParams: [{{name: a, value: "1"}}, {{type: RegularExpression, name: b, value: "x.*y"}}]
    backendRefs: [{{name: query, port: 80}}]
  - matches:
    - path: {{type: PathPrefix, value: /hdr}}
      headers: [{{type: RegularExpression, name: x-redos, value: "(a+)+$"}}]
    - path: {{type: PathPrefix, value: /hdr}}
      headers: [{{type: RegularExpression, name: x-alt, value: "(x|x)*y"}}]
    - path: {{type: PathPrefix, value: /hdr}}
      headers: [{{type: RegularExpression, name: x-rep, value: "(.*a){{20}}"}}]
    - path: {{type: PathPrefix, value: /hdr}}
      headers: [{{name: x-canary, value: "true"}}]
    backendRefs: [{{name: hdr, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /redir}}, method: GET}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {{scheme: https, hostname: secure.example.com, statusCode: 302}}
  - matches: [{{path: {{type: PathPrefix, value: /rw}}}}]
    filters:
    - type: URLRewrite
      urlRewrite: {{hostname: rewritten.internal, path: {{type: ReplaceFullPath, replaceFullPath: /full}}}}
    backendRefs: [{{name: rw, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /cors}}}}]
    filters:
    - type: CORS
      cors: {{allowOrigins: ["https://app.example.com"], allowMethods: [GET, POST], allowHeaders: [x-a], allowCredentials: true}}
    backendRefs: [{{name: cors, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /none}}}}]
  - matches: [{{path: {{type: PathPrefix, value: /default}}}}]
    backendRefs: [{{name: default, port: 80}}]
---
apiVersion: {G}
kind: GRPCRoute
metadata: {{name: grpc, namespace: default}}
spec:
  parentRefs: [{{group: "", kind: Service, name: svc, port: 50051}}]
  rules:
  - matches: [{{method: {{service: pkg.Greeter, method: Hello}}}}]
    backendRefs: [{{name: greeter, port: 50051}}]
  - matches: [{{method: {{type: RegularExpression, service: "pkg\\\\..*", method: "Get.*"}}}}]
    backendRefs: [{{name: getter, port: 50051}}]
  - matches: [{{headers: [{{name: x-grpc, value: "1"}}]}}]
    backendRefs: [{{name: grpc-h, port: 50051}}]
"""


def config_text() -> str:
    """examples/reviews.yaml + the objects above (edge.yaml's Gateway and route are in EXTRA)."""
    return (ROOT / "examples" / "reviews.yaml").read_text() + "\n---\n" + EXTRA


# (kind, args): the views the fuzzer and the tests drive
VIEWS = [
    ("service", ("svc", "default", 80)),
    ("service", ("reviews", "default", 9080)),
    ("service", ("svc", "default", 50051)),
    ("gateway", ("edge", "infra", 80)),
    ("gateway", ("edge", "infra", 443)),
]

# Router options (besides native=, seed=)
OPTIONS = [
    {},
    {"normalize_path": False},
    {"merge_slashes": True},
    {"regex_precedence": "before-prefix"},
]


def routers(seed: int = 7):
    """[(options, python Router, native Router or None)] for every OPTIONS entry."""
    import routecore
    from routecore import _match

    config = routecore.load(config_text())
    out = []
    for opts in OPTIONS:
        py = routecore.Router(config, native=False, seed=seed, **opts)
        nat = (routecore.Router(config, native=True, seed=seed, **opts)
               if _match.NativeTable is not None else None)
        out.append((opts, py, nat))
    return out


def view(router, spec):
    kind, args = spec
    return getattr(router, kind)(*args)
