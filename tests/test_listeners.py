"""Gateway listeners: choice by Host and SNI, listener isolation, misdirected requests (421)."""
import pytest

from builders import gateway_yaml, listener_yaml

GW = gateway_yaml(
    listener_yaml("wild", 443, hostname="*.example.com", protocol="HTTPS"),
    listener_yaml("secure", 443, hostname="secure.example.com", protocol="HTTPS"),
    listener_yaml("any", 443, protocol="HTTPS")) + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: site, namespace: web}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /only}}]
    backendRefs: [{name: only, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /go}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: other.example.com}}]
"""


@pytest.fixture
def edge(twin, make_router):
    return make_router(GW, twin).gateway("edge", namespace="infra", port=443)


@pytest.mark.parametrize("host, listener", [
    ("secure.example.com", "secure"),
    ("SECURE.example.com:443", "secure"),
    ("a.example.com", "wild"),
    ("a.b.example.com", "wild"),
    ("example.com", "any"),
    ("other.org", "any"),
])
def test_listener_by_host_specificity(edge, host, listener):
    d = edge.route("GET", "/only/x", host=host)
    assert d.listener == listener and d.backend.name == "only"


@pytest.mark.parametrize("sni, host, status", [
    ("secure.example.com", "secure.example.com", None),
    ("a.example.com", "b.example.com", None),          # one wildcard listener serves both
    ("a.example.com", "secure.example.com", 421),     # Host has a more specific listener
    ("secure.example.com", "a.example.com", 421),     # SNI listener does not serve the Host
    ("nothing.org", "secure.example.com", 421),
])
def test_sni_and_host_must_select_the_same_listener(edge, sni, host, status):
    d = edge.route("GET", "/only/x", host=host, sni=sni)
    assert d.status == status
    if status == 421:
        assert not d.matched and d.backend is None


def test_listener_isolation_gives_404_not_a_less_specific_listener(edge):
    # /nowhere matches nothing on the secure listener; the catch-all listener must not take it
    d = edge.route("GET", "/nowhere", host="secure.example.com")
    assert d.status == 404 and d.listener == "secure"


def test_https_listener_redirect_defaults_to_https_and_omits_443(edge):
    d = edge.route("GET", "/go/1?x=1", host="secure.example.com")
    assert d.status == 302 and d.location == "https://other.example.com/go/1?x=1"


def test_sni_is_ignored_by_mesh_views(twin, make_router):
    text = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: svc, port: 80}]
  rules: [{backendRefs: [{name: b, port: 80}]}]
"""
    d = make_router(text, twin).service("svc").route("GET", "/", sni="x.org", host="y.org")
    assert d.backend.name == "b"


CONFLICT = gateway_yaml(
    listener_yaml("plain", 8443, from_=None),
    listener_yaml("tls", 8443, hostname="a.example.com", protocol="HTTPS", from_=None),
    listener_yaml("web", from_=None),
    name="gw",
    ns="default") + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: b, port: 80}]}]
"""


def test_protocol_conflict_refuses_every_listener_on_the_port(twin, make_router):
    r = make_router(CONFLICT, twin)
    for host in ("a.example.com", "x.org"):
        assert r.gateway("gw", port=8443).route("GET", "/", host=host).status == 404
    assert r.gateway("gw", port=80).route("GET", "/", host="x.org").backend.name == "b"
    st = {l["name"]: l for l in r.status("Gateway", "default", "gw")["listeners"]}
    for name in ("plain", "tls"):
        c = {x["type"]: x for x in st[name]["conditions"]}["Conflicted"]
        assert (c["status"], c["reason"]) == ("True", "ProtocolConflict")
        assert st[name]["attachedRoutes"] == 0
    c = {x["type"]: x for x in st["web"]["conditions"]}["Conflicted"]
    assert (c["status"], c["reason"]) == ("False", "NoConflicts") and st["web"]["attachedRoutes"] == 1
