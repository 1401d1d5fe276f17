"""Per-rule settings reach the Decision on both twins: name, timeouts, retry, sessionPersistence."""
import routecore

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules:
  - name: slow-path
    matches: [{path: {type: PathPrefix, value: /slow}}]
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {codes: [503, 502], attempts: 3, backoff: 250ms}
    sessionPersistence: {sessionName: sid, type: Cookie, absoluteTimeout: 1h, cookieConfig: {lifetimeType: Permanent}}
    backendRefs: [{name: slow, port: 80}]
  - name: sticky-header
    matches: [{path: {type: PathPrefix, value: /h}}]
    timeouts: {request: 0s}
    sessionPersistence: {type: Header, header: {name: x-session}, idleTimeout: 30m}
    backendRefs: [{name: h, port: 80}]
  - backendRefs: [{name: default, port: 80}]
"""


def test_rule_name_timeouts_retry_and_cookie_persistence(twin, make_router):
    d = make_router(ROUTE, twin).service("svc").route("GET", "/slow/1")
    assert d.rule == 0 and d.rule_name == "slow-path"
    assert d.timeouts == routecore.Timeouts(request=10.0, backend_request=2.0)
    assert d.retry == routecore.Retry(codes=frozenset({502, 503}), attempts=3, backoff=0.25)
    sp = d.session_persistence
    assert (sp.type, sp.cookie_name, sp.cookie_lifetime_type, sp.absolute_timeout) == (
        "Cookie", "sid", "Permanent", 3600.0)


def test_zero_request_timeout_and_header_persistence(twin, make_router):
    d = make_router(ROUTE, twin).service("svc").route("GET", "/h")
    assert d.rule_name == "sticky-header"
    assert d.timeouts.request == 0.0 and d.timeouts.backend_request is None
    sp = d.session_persistence
    assert (sp.type, sp.header_name, sp.idle_timeout) == ("Header", "x-session", 1800.0)
    assert d.retry is None


def test_rule_without_settings(twin, make_router):
    d = make_router(ROUTE, twin).service("svc").route("GET", "/other")
    assert (d.rule, d.rule_name, d.timeouts, d.retry, d.session_persistence) == (2, None, None, None, None)
