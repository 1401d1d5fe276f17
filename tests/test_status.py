"""routecore._compile.status: route parents' conditions and Gateway listeners, Kubernetes-shaped."""
import pytest

import routecore

from builders import gateway_yaml, listener_yaml

GW = gateway_yaml(
    listener_yaml("web", hostname="*.example.com"),
    listener_yaml("same", 8080, from_=None))


def route(name, ns="store", parent="{name: edge, namespace: infra}", hostnames="[]", backends="[{name: api, port: 80}]"):
    return f"""
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}}}
spec:
  parentRefs: [{parent}]
  hostnames: {hostnames}
  rules:
  - backendRefs: {backends}
"""


def conds(router, ns, name):
    st = router.status("HTTPRoute", ns, name)
    return [{c["type"]: (c["status"], c["reason"]) for c in p["conditions"]} for p in st["parents"]]


def test_accepted_and_resolved():
    r = routecore.Router.from_source(GW + route("ok"))
    assert conds(r, "store", "ok") == [{"Accepted": ("True", "Accepted"),
                                         "ResolvedRefs": ("True", "ResolvedRefs")}]


def test_not_allowed_by_listeners():
    r = routecore.Router.from_source(GW + route("x", parent="{name: edge, namespace: infra, sectionName: same}"))
    assert conds(r, "store", "x")[0]["Accepted"] == ("False", "NotAllowedByListeners")


def test_no_matching_parent():
    r = routecore.Router.from_source(GW + route("x", parent="{name: edge, namespace: infra, sectionName: nope}"))
    assert conds(r, "store", "x")[0]["Accepted"] == ("False", "NoMatchingParent")


def test_no_matching_listener_hostname():
    r = routecore.Router.from_source(GW + route("x", hostnames="[other.org]"))
    assert conds(r, "store", "x")[0]["Accepted"] == ("False", "NoMatchingListenerHostname")


def test_resolved_refs_reasons():
    r = routecore.Router.from_source(GW + route("k", backends="[{name: api, port: 80, kind: ServiceImport, group: multicluster.x-k8s.io}]")
                                     + route("n", backends="[{name: api, namespace: other, port: 80}]"))
    assert conds(r, "store", "k")[0]["ResolvedRefs"] == ("False", "InvalidKind")
    assert conds(r, "store", "n")[0]["ResolvedRefs"] == ("False", "RefNotPermitted")


def test_listener_attached_routes():
    r = routecore.Router.from_source(GW + route("a") + route("b") + route("c", hostnames="[other.org]"))
    st = r.status("Gateway", "infra", "edge")
    counts = {l["name"]: l["attachedRoutes"] for l in st["listeners"]}
    assert counts == {"web": 2, "same": 0}
    assert st["listeners"][0]["supportedKinds"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"},
                                                    {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}]


def test_service_parent_without_group_is_explained():
    r = routecore.Router.from_source(route("m", ns="default", parent="{kind: Service, name: svc, port: 80}"))
    st = r.status("HTTPRoute", "default", "m")["parents"][0]["conditions"][0]
    assert (st["status"], st["reason"]) == ("False", "NoMatchingParent")
    assert 'group: ""' in st["message"]


def lenient(text):
    return routecore.Router(routecore.load(text, strict=False))


def test_partially_invalid_when_a_rule_is_dropped():
    text = GW + route("p").replace("  - backendRefs: [{name: api, port: 80}]",
                                   "  - backendRefs: [{name: api, port: 80}]\n"
                                   "  - matches: [{path: {type: Prefix, value: /x}}]\n"
                                   "    backendRefs: [{name: api, port: 80}]")
    r = lenient(text)
    st = r.status("HTTPRoute", "store", "p")["parents"][0]["conditions"]
    by_type = {c["type"]: c for c in st}
    assert by_type["Accepted"]["status"] == "True"
    assert by_type["PartiallyInvalid"]["status"] == "True"
    assert by_type["PartiallyInvalid"]["message"].startswith("Dropped Rule")
    assert "spec.rules[1].matches[0].path.type" in by_type["PartiallyInvalid"]["message"]
    # the valid rule still routes; the dropped one does not
    v = r.gateway("edge", namespace="infra", port=80)
    assert v.route("GET", "/x", host="a.example.com").rule == 0


def test_unsupported_value_when_every_rule_is_invalid():
    text = GW + route("bad").replace("  - backendRefs: [{name: api, port: 80}]",
                                     "  - matches: [{method: FETCH}]\n    backendRefs: [{name: api, port: 80}]")
    r = lenient(text)
    parents = r.status("HTTPRoute", "store", "bad")["parents"]
    assert parents[0]["parentRef"]["name"] == "edge"
    cond = parents[0]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Accepted", "False", "UnsupportedValue")
    assert "spec.rules[0].matches[0].method" in cond["message"] and "FETCH" in cond["message"]
    assert r.gateway("edge", namespace="infra").route("GET", "/", host="a.example.com").status == 404


def test_unknown_route_status_is_a_lookup_error():
    with pytest.raises(LookupError, match="no HTTPRoute store/nope"):
        routecore.Router.from_source(GW).status("HTTPRoute", "store", "nope")
