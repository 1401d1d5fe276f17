"""CORS filter (preflight answered by the decision, response headers on actual requests) and
ExtensionRef (exposed to the caller; unresolvable ones answer 500), on both twins."""
import pytest

from routecore._config.models import CORS
from routecore._outcome import origin_allowed


def route(filters, extra=""):
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: default}}
spec:
  parentRefs: [{{group: "", kind: Service, name: svc, port: 80}}]
  rules:
  - filters: {filters}
    backendRefs: [{{name: app, port: 80{extra}}}]
"""


CORS_RULE = route("""[{type: CORS, cors: {allowOrigins: ["https://app.example.com", "https://*.shop.example"],
    allowMethods: [GET, POST], allowHeaders: [x-token], exposeHeaders: [x-trace],
    allowCredentials: true, maxAge: 600}}]""")


def headers_of(pairs):
    return {n.lower(): v for n, v in pairs}


@pytest.mark.parametrize("origin, ok", [
    ("https://app.example.com", True),
    ("https://APP.example.com:443", True),
    ("http://app.example.com", False),
    ("https://app.example.com:8443", False),
    ("https://a.shop.example", True),
    ("https://a.b.shop.example", True),
    ("https://shop.example", False),
    ("null", False),
])
def test_origin_matching(origin, ok):
    cors = CORS(allow_origins=("https://app.example.com", "https://*.shop.example"))
    assert origin_allowed(cors, origin) is ok


def test_star_allows_every_origin():
    assert origin_allowed(CORS(allow_origins=("*",)), "https://x.org")


def test_preflight_is_answered_with_204_and_cors_headers(twin, make_router):
    v = make_router(CORS_RULE, twin).service("svc")
    d = v.route("OPTIONS", "/items", {"Origin": "https://app.example.com",
                                      "Access-Control-Request-Method": "POST",
                                      "Access-Control-Request-Headers": "x-token"})
    assert d.status == 204 and d.matched and d.backend is None
    h = headers_of(d.apply_response_headers([]))
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-credentials"] == "true"
    assert h["access-control-allow-methods"] == "GET, POST"
    assert h["access-control-allow-headers"] == "x-token"
    assert h["access-control-max-age"] == "600"
    assert h["vary"] == "Origin"


def test_preflight_from_a_disallowed_origin_gets_no_cors_headers(twin, make_router):
    v = make_router(CORS_RULE, twin).service("svc")
    d = v.route("OPTIONS", "/items", {"Origin": "https://evil.org", "Access-Control-Request-Method": "GET"})
    assert d.status == 204
    assert not any(n.startswith("access-control") for n, _ in d.apply_response_headers([]))


def test_actual_request_is_forwarded_with_cors_response_headers(twin, make_router):
    v = make_router(CORS_RULE, twin).service("svc")
    d = v.route("GET", "/items", {"Origin": "https://a.shop.example"})
    assert d.status is None and d.backend.name == "app"
    h = headers_of(d.apply_response_headers([("content-type", "text/plain")]))
    assert h["access-control-allow-origin"] == "https://a.shop.example"
    assert h["access-control-expose-headers"] == "x-trace"
    assert h["content-type"] == "text/plain"


def test_plain_options_without_cors_request_headers_is_forwarded(twin, make_router):
    v = make_router(CORS_RULE, twin).service("svc")
    d = v.route("OPTIONS", "/items", {"Origin": "https://app.example.com"})
    assert d.status is None and d.backend.name == "app"


def test_star_without_credentials_answers_star(twin, make_router):
    text = route('[{type: CORS, cors: {allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"]}}]')
    d = make_router(text, twin).service("svc").route(
        "OPTIONS", "/", [("origin", "https://x.org"), ("access-control-request-method", "PUT")])
    h = headers_of(d.apply_response_headers([]))
    assert h["access-control-allow-origin"] == "*"
    assert h["access-control-allow-methods"] == "*" and h["access-control-max-age"] == "5"
    assert "vary" not in h


EXT = route('[{type: ExtensionRef, extensionRef: {group: example.com, kind: Auth, name: basic}}]')


def test_unresolvable_extension_ref_answers_500_never_skipped(twin, make_router):
    d = make_router(EXT, twin).service("svc").route("GET", "/")
    assert d.status == 500 and d.matched and d.backend is None
    assert [(e.group, e.kind, e.name) for e in d.extensions] == [("example.com", "Auth", "basic")]


def test_known_extension_ref_is_exposed_to_the_caller(twin, make_router):
    r = make_router(EXT, twin, extensions=[("example.com", "Auth")])
    d = r.service("svc").route("GET", "/")
    assert d.status is None and d.backend.name == "app"
    assert d.extensions[0].name == "basic"
    assert d.to_dict()["extensions"] == [{"group": "example.com", "kind": "Auth", "name": "basic"}]


def test_backend_level_extension_ref(twin, make_router):
    text = route("[]", ", filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Tap, name: t}}]")
    assert make_router(text, twin).service("svc").route("GET", "/").status == 500
    d = make_router(text, twin, extensions=[("example.com", "Tap")]).service("svc").route("GET", "/")
    assert d.backend.name == "app" and d.extensions[0].kind == "Tap"
