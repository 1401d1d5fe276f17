"""The README's "A short tour", written as a user's typed script (checked by mypy --strict).

tests/test_typing.py type-checks it with ``mypy --strict`` and runs it: every assert below is a
claim of the README about examples/.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import routecore
from routecore import Backend, ConfigError, ConfigIssue, Decision, Mirror, Router, View

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def forward_to(d: Decision) -> Optional[str]:
    """The upstream a proxy would send to, or None when it answers itself."""
    if d.status is not None or d.backend is None:
        return None
    backend: Backend = d.backend
    return f"{backend.namespace}/{backend.name}:{backend.port}{d.upstream_path or ''}"


def tour() -> None:
    router: Router = Router.from_source(str(EXAMPLES), seed=1)
    assert isinstance(routecore.NATIVE, bool) and routecore.__version__

    # mesh (GAMMA): requests addressed to a Service port, from a client namespace
    reviews: View = router.service("reviews", namespace="default", port=9080)
    d: Decision = reviews.route("GET", "/reviews/1", {"my-favorite-service-mesh": "istio"})
    assert d.backend is not None and d.backend.name == "reviews-v2" and d.backend.port == 9080
    added: List[Tuple[str, str]] = d.apply_request_headers([])
    assert added == [("hello", "world")]
    mirrors: Tuple[Mirror, ...] = d.mirrors
    assert mirrors == ()

    # ingress: requests arriving at a Gateway port; the listener is chosen from the Host
    edge: View = router.gateway("edge", namespace="infra", port=80)
    d = edge.route("GET", "/old/page?x=1", host="shop.example.com")
    status: Optional[int] = d.status
    location: Optional[str] = d.location
    assert (status, location) == (301, "http://shop.example.com/new/page?x=1")
    d = edge.route("GET", "/api/items", [("host", "shop.example.com")])
    assert d.backend is not None and d.backend.name in ("api", "api-canary")
    assert d.upstream_path == "/items" and forward_to(d) is not None

    scope: Dict[str, Any] = {"type": "http", "method": "GET", "path": "/api/items",
                             "raw_path": b"/api/items", "query_string": b"",
                             "headers": [(b"host", b"shop.example.com")], "scheme": "http"}
    d = edge.route_asgi(scope)
    assert d.status is None and d.route == "store/shop" and d.kind == "HTTPRoute"
    environ: Dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/nowhere",
                               "HTTP_HOST": "shop.example.com", "wsgi.url_scheme": "http"}
    d = edge.route_wsgi(environ)
    assert d.status == 404 and not d.matched and forward_to(d) is None
    many: List[Decision] = edge.route_many([("GET", "/api/a", (), "shop.example.com")])
    assert many[0].rule == 1 and many[0].to_dict()["rule"] == 1

    parents: List[Dict[str, Any]] = router.status("HTTPRoute", "store", "shop")["parents"]
    assert parents[0]["conditions"][0]["type"] == "Accepted"

    # every configuration problem, raised once
    try:
        routecore.load("""
kind: HTTPRoute
apiVersion: gateway.networking.k8s.io/v1
metadata: {name: cart, namespace: shop}
spec:
  rules: [{matches: [{path: {type: PathPrefix, value: "no-slash"}}]}]
""")
    except ConfigError as error:
        issues: List[ConfigIssue] = error.errors
        assert issues and issues[0].path.startswith("spec.rules[0]") and issues[0].kind == "HTTPRoute"
    else:
        raise AssertionError("an invalid path was accepted")


if __name__ == "__main__":
    tour()
    sys.stdout.write("tour ok\n")
