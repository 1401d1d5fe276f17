"""The native gRPC check's reading of the content-type alone (_grpc_request / _content_type,
_match_c_headers.pxi: a pair or dict walk for slot 2 by its length's bit, the Host read alone
before it) against the pure twin: repeated content-type headers joined with ",", str and bytes
names and values, gRPC and other content types, a referenced name of content-type's length
(the same length bucket), items the walk leaves to the general reading, and one-shot
iterables (read once: what the Host reading took is reused), on 404s and a redirect to no
host, with no header condition read (the new path) and with one read (the headers kept)."""
import pytest

from routecore import _match

from conftest import make_router

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

SAME_LEN = "x-trace-abcd"  # a referenced name as long as content-type (12)
assert len(SAME_LEN) == len("content-type")

CONFIG = f"""
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
  parentRefs: [{{name: edge, namespace: infra}}]
  hostnames: ["shop.example.com"]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /h}}, headers: [{{name: {SAME_LEN}, value: "1"}}]}}]
    backendRefs: [{{name: traced, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /e}}, headers: [{{name: X-Env, value: a}}]}}]
    backendRefs: [{{name: env, port: 80}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: mesh, namespace: default}}
spec:
  parentRefs: [{{group: "", kind: Service, name: svc, port: 80}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /a}}}}]
    backendRefs: [{{name: a, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /r}}}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {{scheme: https}}
"""

HOST = ("host", "shop.example.com")
CTS = [("content-type", "application/grpc"), ("Content-Type", "application/grpc+proto"),
       ("content-type", "application/json"), ("CONTENT-TYPE", "Application/grpc"),
       (b"content-type", b"application/grpc"), (b"Content-Type", b"application/grpc\xe9"),
       (b"content-type", b"text/plain"), ("content-type", b"application/grpc"),
       (b"content-type", "application/grpc-web")]
FILL = [("accept", "*/*"), (SAME_LEN, "0"), (b"x-env", b"b"), ("user-agent", "u"),
        (b"X-TRACE-ABCD", b"2")]
ODD = [["content-type", "application/grpc"], ("content-type",), (1, "v"),
       ("content-type", 5), ("cont\u00e9nt-type", "application/grpc"),
       ("CONTENT-TYPE", "application/grpc", "x"), (b"content-type", bytearray(b"application/grpc"))]


def _header_sets():
    yield []
    yield [HOST]
    yield [HOST] + FILL
    for ct in CTS:
        yield [HOST, ct]
        yield FILL + [ct, HOST]
        yield [ct] + FILL
    for a in CTS[:5]:  # repeated: joined with "," in request order
        for b in CTS[2:6]:
            yield [HOST, a] + FILL[:2] + [b]
    for odd in ODD:
        for ct in (CTS[0], CTS[2]):
            yield [HOST, odd, ct]
            yield [HOST, ct] + FILL + [odd]
            yield [odd, ct, HOST]


SETS = list(_header_sets())
TARGETS = [("gateway", "/nowhere"), ("gateway", "/h"), ("gateway", "/e"),
           ("mesh", "/nowhere"), ("mesh", "/r")]


def _forms(headers):
    """Each form route() takes, made anew (one-shot ones are consumed)."""
    yield "list", lambda: list(headers)
    yield "tuple", lambda: tuple(headers)
    yield "iter", lambda: iter(list(headers))
    yield "gen", lambda: (h for h in headers)
    if all(type(h) is tuple and len(h) == 2 for h in headers):
        yield "dict", lambda: {n: v for n, v in headers}
        yield "dict-str", lambda: {n: v for n, v in headers if type(n) is str}


def _outcome(view, make, target, kw):
    try:
        return "ok", view.route("POST", target, make(), **kw).to_dict()
    except Exception as e:  # the pure twin's error must be the native one's
        return "error", type(e), str(e)


@pytest.fixture(scope="module")
def views():
    out = {}
    for twin in (True, False):
        r = make_router(CONFIG, twin)
        out[twin] = {"gateway": r.gateway("edge", namespace="infra", port=80),
                     "mesh": r.service("svc", namespace="default", port=80)}
    return out


@pytest.mark.parametrize("headers", SETS, ids=range(len(SETS)))
def test_the_content_type_reading_gives_the_pure_twins_answer(views, headers):
    for view, target in TARGETS:
        for kw in ({}, {"host": "shop.example.com"}):
            for form, make in _forms(headers):
                got = _outcome(views[True][view], make, target, kw)
                want = _outcome(views[False][view], make, target, kw)
                assert got == want, (view, target, kw, form)


def test_a_grpc_request_gets_the_grpc_form_on_every_path(views):
    """The cases above are not all alike: a gRPC 404 differs from a plain one, whichever way
    its content-type was read."""
    for view, target in TARGETS[:4]:
        for form, make in _forms([HOST, ("content-type", "application/grpc")]):
            grpc = _outcome(views[True][view], make, target, {})
            plain = _outcome(views[True][view], lambda: [HOST], target, {})
            assert grpc[0] == plain[0] == "ok" and grpc != plain, (view, target, form)
