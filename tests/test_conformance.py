"""Gateway API conformance scenarios, re-expressed as routing decisions.

One test (or a small parametrized group) per upstream conformance scenario
(kubernetes-sigs/gateway-api, conformance/tests/*.go) that a decision library can check.
The configurations are our own: they exercise what each upstream scenario asserts (which
backend answers, which status code, which Location / upstream path / headers, which route
conditions and listener attachedRoutes), written from the spec and the semantics digest
(../shared/docs/gateway-api-semantics.md), not copied from upstream manifests.

Requests that upstream sends over the network are sent here through ``view.route``; what a
data plane would do is read from the Decision (``backend``, ``status``, ``location``,
``upstream_path``, ``upstream_host``, ``apply_request_headers``, ``apply_response_headers``,
``mirrors``, ``timeouts``) and from ``router.status(...)``.

GRPCRoute scenarios are out of scope here.
"""
from typing import NamedTuple

import pytest

import routecore
from builders import (APPS, CONSUMER, GWAPI, INFRA, MESH, OTHER, attached, be, conditions, exact,
                      folded, gateway, grant, gw_ref, hdr, header_mod, httproute, listener, mirror,
                      name_of, namespace, no_accepted_parent, outcome, prefix, qp, redirect,
                      rewrite, rule, service, shares, svc_ref)

# =============================================================================================
# Listeners and hostnames
# =============================================================================================

LHM_CONFIG = [
    gateway("hosts",
            listener("exact-fruit", hostname="fruit.test"),
            listener("exact-apple", hostname="apple.fruit.test"),
            listener("wild-fruit", hostname="*.fruit.test"),
            listener("wild-veg", hostname="*.veg.test"),
            ns=APPS),
    httproute("to-a", [gw_ref("hosts", APPS, section="exact-fruit")], [rule(be("svc-a"))]),
    httproute("to-b", [gw_ref("hosts", APPS, section="exact-apple")], [rule(be("svc-b"))]),
    httproute("to-c", [gw_ref("hosts", APPS, section="wild-fruit"),
                       gw_ref("hosts", APPS, section="wild-veg")], [rule(be("svc-c"))]),
]


@pytest.mark.parametrize("host, expected", [
    ("fruit.test", "svc-a"),                # exact listener
    ("apple.fruit.test", "svc-b"),          # exact beats the wildcard covering it
    ("pear.fruit.test", "svc-c"),           # wildcard listener
    ("plum.fruit.test", "svc-c"),
    ("a.b.fruit.test", "svc-c"),            # a wildcard covers several labels
    ("a.b.veg.test", "svc-c"),              # second listener of the same route
    ("veg.test", 404),                      # *.veg.test never matches veg.test
    ("nowhere.example", 404),               # no listener at all
])
def test_HTTPRouteListenerHostnameMatching(twin, make_router, host, expected):
    router = make_router(LHM_CONFIG, twin)
    view = router.gateway("hosts", APPS, 80)
    assert outcome(view.route("GET", "/", host=host)) == expected
    for name in ("to-a", "to-b"):
        assert conditions(router, name)["Accepted"] == ("True", "Accepted")
        assert conditions(router, name)["ResolvedRefs"] == ("True", "ResolvedRefs")
    assert [c["Accepted"] for c in (
        {cc["type"]: (cc["status"], cc["reason"]) for cc in p["conditions"]}
        for p in router.status("HTTPRoute", APPS, "to-c")["parents"])] == [("True", "Accepted")] * 2


# --- HTTPRouteHostnameIntersection -----------------------------------------------------------

HI_GATEWAY = gateway("isect",
                     listener("one-host", hostname="exact.host.test"),
                     listener("wild", hostname="*.wild.test"),
                     listener("wild2", hostname="*.other-wild.test"),
                     ns=APPS)
HI_ROUTES = [
    # a precise route hostname equal to the precise listener hostname
    httproute("precise-on-precise", [gw_ref("isect", APPS)],
              [rule(be("svc-a"), matches=[prefix("/p1")])],
              hostnames=["unrelated.test", "*.unrelated-wild.test", "exact.host.test"]),
    # precise route hostnames covered by the wildcard listener
    httproute("precise-on-wild", [gw_ref("isect", APPS)],
              [rule(be("svc-b"), matches=[prefix("/p2")])],
              hostnames=["unrelated.test", "wild.test", "x.wild.test", "y.wild.test",
                         "x.y.wild.test"]),
    # a wildcard route hostname covering the precise listener hostname
    httproute("wild-on-precise", [gw_ref("isect", APPS)],
              [rule(be("svc-c"), matches=[prefix("/p3")])],
              hostnames=["unrelated.test", "*.host.test"]),
    # equal wildcards
    httproute("wild-on-wild", [gw_ref("isect", APPS)],
              [rule(be("svc-a"), matches=[prefix("/p4")])],
              hostnames=["*.other-wild.test"]),
    # nothing intersects: not accepted
    httproute("disjoint", [gw_ref("isect", APPS)],
              [rule(be("svc-b"), matches=[prefix("/p5")])],
              hostnames=["precise.but.elsewhere.test", "wild.test"]),
]


@pytest.mark.parametrize("host, path, expected", [
    ("exact.host.test", "/p1", "svc-a"),
    ("exact.host.test:4321", "/p1", "svc-a"),    # the Host port is not part of the match
    ("unrelated.test", "/p1", 404),
    ("a.unrelated-wild.test", "/p1", 404),
    ("x.wild.test", "/p1", 404),
    ("exact.host.test", "/nothing-here", 404),
    ("x.wild.test", "/p2", "svc-b"),
    ("y.wild.test", "/p2", "svc-b"),
    ("x.y.wild.test", "/p2", "svc-b"),
    ("unrelated.test", "/p2", 404),
    ("wild.test", "/p2", 404),
    ("exact.host.test", "/p2", 404),
    ("x.wild.test", "/nothing-here", 404),
    ("exact.host.test", "/p3", "svc-c"),
    ("unrelated.test", "/p3", 404),
    ("other.host.test", "/p3", 404),             # no listener covers it
    ("x.wild.test", "/p3", 404),
    ("a.other-wild.test", "/p4", "svc-a"),
    ("b.other-wild.test", "/p4", "svc-a"),
    ("a.b.other-wild.test", "/p4", "svc-a"),
    ("other-wild.test", "/p4", 404),
    ("x.wild.test", "/p4", 404),
    ("exact.host.test", "/p4", 404),
    ("precise.but.elsewhere.test", "/p5", 404),  # the non-intersecting route routes nothing
    ("wild.test", "/p5", 404),
])
def test_HTTPRouteHostnameIntersection_routing(twin, make_router, host, path, expected):
    view = make_router([HI_GATEWAY] + HI_ROUTES, twin).gateway("isect", APPS, 80)
    assert outcome(view.route("GET", path, host=host)) == expected


def test_HTTPRouteHostnameIntersection_host_forwarded_unchanged(twin, make_router):
    view = make_router([HI_GATEWAY] + HI_ROUTES, twin).gateway("isect", APPS, 80)
    d = view.route("GET", "/p1", host="exact.host.test:4321")
    assert d.upstream_host == "exact.host.test:4321"


def test_HTTPRouteHostnameIntersection_status(twin, make_router):
    router = make_router([HI_GATEWAY] + HI_ROUTES, twin)
    for name in ("precise-on-precise", "precise-on-wild", "wild-on-precise", "wild-on-wild"):
        assert conditions(router, name)["Accepted"] == ("True", "Accepted"), name
        assert conditions(router, name)["ResolvedRefs"] == ("True", "ResolvedRefs"), name
    assert conditions(router, "disjoint")["Accepted"] == ("False", "NoMatchingListenerHostname")
    # attachedRoutes counts only accepted routes, per listener they intersect
    assert attached(router, "isect", APPS) == {"one-host": 2, "wild": 1, "wild2": 1}


def test_HTTPRouteHostnameIntersection_listener_without_hostname(twin, make_router):
    objs = [gateway("any-host", listener("all"), ns=APPS),
            httproute("named-hosts", [gw_ref("any-host", APPS)], [rule(be("svc-b"))],
                      hostnames=["one.test", "sub.one.test", "two.test", "sub.two.test"])]
    view = make_router(objs, twin).gateway("any-host", APPS, 80)
    for host in ("one.test", "sub.one.test", "two.test", "sub.two.test"):
        assert outcome(view.route("GET", "/", host=host)) == "svc-b", host
    for host in ("three.test", "sub.three.test"):
        assert outcome(view.route("GET", "/", host=host)) == 404, host


# --- GatewayHTTPListenerIsolation --------------------------------------------------------------

ISO_LISTENERS = [listener("no-host", from_="All"),
                 listener("wild-shop", hostname="*.shop.test", from_="All"),
                 listener("wild-deep", hostname="*.deep.shop.test", from_="All"),
                 listener("precise", hostname="cart.deep.shop.test", from_="All")]
ISO_SECTIONS = ["no-host", "wild-shop", "wild-deep", "precise"]
ISO_ALL_HOSTS = ["other.test", "*.shop.test", "*.deep.shop.test", "cart.deep.shop.test"]

# request host -> the only path prefix (i.e. listener section) that answers it
ISO_EXPECT = {"other.test": "no-host",
              "x.shop.test": "wild-shop",
              "x.deep.shop.test": "wild-deep",
              "cart.deep.shop.test": "precise"}


def _isolation_config(with_route_hostnames):
    objs = [gateway("iso", *ISO_LISTENERS)]
    for section in ISO_SECTIONS:
        objs.append(httproute(f"on-{section}", [gw_ref("iso", section=section)],
                              [rule(be("svc-a"), matches=[prefix("/" + section)])],
                              hostnames=ISO_ALL_HOSTS if with_route_hostnames else None))
    return objs


@pytest.mark.parametrize("with_route_hostnames", [False, True],
                         ids=["hostnames-only-on-listeners", "intersecting-route-hostnames"])
@pytest.mark.parametrize("host", list(ISO_EXPECT))
@pytest.mark.parametrize("section", ISO_SECTIONS)
def test_GatewayHTTPListenerIsolation(twin, make_router, with_route_hostnames, host, section):
    router = make_router(_isolation_config(with_route_hostnames), twin)
    view = router.gateway("iso", INFRA, 80)
    d = view.route("GET", "/" + section, host=host)
    if ISO_EXPECT[host] == section:
        assert (d.status, name_of(d), d.listener) == (None, "svc-a", section)
    else:
        # the request belongs to the most specific listener; it must not fall through
        assert d.status == 404
        assert d.listener == ISO_EXPECT[host]


def test_GatewayHTTPListenerIsolation_status(twin, make_router):
    for with_hosts in (False, True):
        router = make_router(_isolation_config(with_hosts), twin)
        for section in ISO_SECTIONS:
            assert conditions(router, f"on-{section}")["Accepted"] == ("True", "Accepted")
        assert attached(router, "iso") == {s: 1 for s in ISO_SECTIONS}


# =============================================================================================
# Attachment and status
# =============================================================================================

def test_HTTPRouteCrossNamespace(twin, make_router):
    objs = [namespace(APPS, tier="frontend"), namespace(OTHER, tier="payments"),
            gateway("by-label", listener("web", from_="Selector", selector={"tier": "frontend"})),
            httproute("from-apps", [gw_ref("by-label")], [rule(be("web-app"))], ns=APPS),
            httproute("from-other", [gw_ref("by-label")],
                      [rule(be("ledger"), matches=[prefix("/ledger")])], ns=OTHER)]
    router = make_router(objs, twin)
    d = router.gateway("by-label", INFRA, 80).route("GET", "/", host="any.test")
    assert (d.status, d.backend.namespace, d.backend.name) == (None, APPS, "web-app")
    assert d.route == f"{APPS}/from-apps"
    assert conditions(router, "from-apps")["Accepted"] == ("True", "Accepted")
    assert conditions(router, "from-apps")["ResolvedRefs"] == ("True", "ResolvedRefs")
    # a namespace the selector does not pick is not allowed to attach
    assert conditions(router, "from-other", ns=OTHER)["Accepted"] == ("False", "NotAllowedByListeners")
    assert outcome(router.gateway("by-label", INFRA, 80).route("GET", "/ledger")) == "web-app"
    assert attached(router, "by-label") == {"web": 1}


def test_HTTPRouteDisallowedKind(twin, make_router):
    objs = [gateway("tls-only", listener("passthrough", 443, protocol="TLS", kinds=["TLSRoute"],
                                         tls={"mode": "Passthrough"}), ns=APPS),
            httproute("wrong-kind", [gw_ref("tls-only", APPS)], [rule(be("svc-a"))])]
    router = make_router(objs, twin)
    c = conditions(router, "wrong-kind")
    assert c["Accepted"] == ("False", "NotAllowedByListeners")
    assert c["ResolvedRefs"] == ("True", "ResolvedRefs")
    assert no_accepted_parent(router, "wrong-kind")
    assert attached(router, "tls-only", APPS) == {"passthrough": 0}


def test_HTTPRouteInvalidParentRefNotMatchingListenerPort(twin, make_router):
    objs = [gateway("plain", listener("web", 80), ns=APPS),
            httproute("port-miss", [gw_ref("plain", APPS, port=81)],
                      [rule(be("svc-a"))])]
    router = make_router(objs, twin)
    c = conditions(router, "port-miss")
    assert c["Accepted"] == ("False", "NoMatchingParent")
    assert c["ResolvedRefs"] == ("True", "ResolvedRefs")
    assert no_accepted_parent(router, "port-miss")
    assert attached(router, "plain", APPS) == {"web": 0}
    assert router.gateway("plain", APPS, 80).route("GET", "/").status == 404


def test_HTTPRouteInvalidParentRefNotMatchingSectionName(twin, make_router):
    objs = [gateway("plain", listener("web", 80), ns=APPS),
            httproute("section-miss", [gw_ref("plain", APPS, section="web-two", port=80)],
                      [rule(be("svc-a"))])]
    router = make_router(objs, twin)
    assert conditions(router, "section-miss")["Accepted"] == ("False", "NoMatchingParent")
    assert no_accepted_parent(router, "section-miss")
    assert attached(router, "plain", APPS) == {"web": 0}
    assert router.gateway("plain", APPS, 80).route("GET", "/").status == 404


PLAIN_GW = gateway("plain", listener("web", 80), ns=APPS)


def test_HTTPRouteInvalidNonExistentBackendRef(twin, make_router):
    objs = [PLAIN_GW, service("svc-a", APPS),
            httproute("ghost", [gw_ref("plain", APPS)], [rule(be("no-such-svc", ns=APPS))])]
    router = make_router(objs, twin)
    c = conditions(router, "ghost")
    assert c["Accepted"] == ("True", "Accepted")
    assert c["ResolvedRefs"] == ("False", "BackendNotFound")
    d = router.gateway("plain", APPS, 80).route("GET", "/")
    assert (d.status, d.backend) == (500, None)


def test_HTTPRouteInvalidBackendRefUnknownKind(twin, make_router):
    objs = [PLAIN_GW,
            httproute("odd-kind", [gw_ref("plain", APPS)],
                      [rule(be("svc-a", group="mystery.example.dev", kind="Gizmo"))])]
    router = make_router(objs, twin)
    c = conditions(router, "odd-kind")
    assert c["Accepted"] == ("True", "Accepted")
    assert c["ResolvedRefs"] == ("False", "InvalidKind")
    assert router.gateway("plain", APPS, 80).route("GET", "/any/path").status == 500


def test_HTTPRouteInvalidCrossNamespaceBackendRef(twin, make_router):
    objs = [PLAIN_GW,
            httproute("reach-over", [gw_ref("plain", APPS)], [rule(be("ledger", ns=OTHER))])]
    router = make_router(objs, twin)
    c = conditions(router, "reach-over")
    assert c["Accepted"] == ("True", "Accepted")
    assert c["ResolvedRefs"] == ("False", "RefNotPermitted")
    d = router.gateway("plain", APPS, 80).route("GET", "/")
    assert (d.status, d.backend) == (500, None)


# Each of these grants is wrong in exactly one way, so none permits storefront -> billing/ledger.
WRONG_GRANTS = {
    "grant-in-route-namespace": grant("g1", APPS, from_ns=APPS, to_name="ledger"),
    "wrong-from-group": grant("g2", OTHER, from_ns=APPS, from_group="not.the.group.example",
                              to_name="ledger"),
    "wrong-from-kind": grant("g3", OTHER, from_ns=APPS, from_kind="Gateway", to_name="ledger"),
    "wrong-from-namespace": grant("g4", OTHER, from_ns="elsewhere", to_name="ledger"),
    "wrong-to-group": grant("g5", OTHER, from_ns=APPS, to_group="not.the.group.example",
                            to_name="ledger"),
    "wrong-to-kind": grant("g6", OTHER, from_ns=APPS, to_kind="Secret", to_name="ledger"),
    "wrong-to-name": grant("g7", OTHER, from_ns=APPS, to_name="not-the-ledger"),
}


@pytest.mark.parametrize("which", ["all"] + list(WRONG_GRANTS))
def test_HTTPRouteInvalidReferenceGrant(twin, make_router, which):
    grants = list(WRONG_GRANTS.values()) if which == "all" else [WRONG_GRANTS[which]]
    objs = [PLAIN_GW, *grants,
            httproute("reach-over", [gw_ref("plain", APPS)], [rule(be("ledger", ns=OTHER))])]
    router = make_router(objs, twin)
    assert conditions(router, "reach-over")["ResolvedRefs"] == ("False", "RefNotPermitted")
    assert conditions(router, "reach-over")["Accepted"] == ("True", "Accepted")
    assert router.gateway("plain", APPS, 80).route("GET", "/").status == 500


def test_HTTPRoutePartiallyInvalidViaInvalidReferenceGrant(twin, make_router):
    objs = [PLAIN_GW,
            grant("only-v1", OTHER, from_ns=APPS, to_name="ledger-v1"),
            httproute("half-granted", [gw_ref("plain", APPS)],
                      [rule(be("ledger-v2", ns=OTHER), matches=[prefix("/v2")]),
                       rule(be("ledger-v1", ns=OTHER))])]
    router = make_router(objs, twin)
    c = conditions(router, "half-granted")
    assert c["Accepted"] == ("True", "Accepted")
    assert c["ResolvedRefs"] == ("False", "RefNotPermitted")
    view = router.gateway("plain", APPS, 80)
    assert view.route("GET", "/v2").status == 500
    d = view.route("GET", "/")
    assert (d.status, d.backend.namespace, d.backend.name) == (None, OTHER, "ledger-v1")


@pytest.mark.parametrize("to_name", ["ledger", None], ids=["named", "whole-namespace"])
def test_HTTPRouteReferenceGrant(twin, make_router, to_name):
    route_obj = httproute("reach-over", [gw_ref("plain", APPS)], [rule(be("ledger", ns=OTHER))])
    with_grant = make_router([PLAIN_GW, grant("ok", OTHER, from_ns=APPS, to_name=to_name),
                              route_obj], twin)
    assert conditions(with_grant, "reach-over")["ResolvedRefs"] == ("True", "ResolvedRefs")
    d = with_grant.gateway("plain", APPS, 80).route("GET", "/")
    assert (d.status, d.backend.namespace, d.backend.name) == (None, OTHER, "ledger")
    # the grant deleted: access is revoked
    without = make_router([PLAIN_GW, route_obj], twin)
    assert conditions(without, "reach-over")["ResolvedRefs"] == ("False", "RefNotPermitted")
    assert without.gateway("plain", APPS, 80).route("GET", "/").status == 500


def test_HTTPRouteNoBackendRefs(twin, make_router):
    objs = [PLAIN_GW,
            httproute("partly-empty", [gw_ref("plain", APPS)],
                      [rule(matches=[exact("/no-refs-field")]),
                       rule(matches=[exact("/empty-refs")], backendRefs=[]),
                       rule(be("svc-a"), matches=[prefix("/")])])]
    router = make_router(objs, twin)
    view = router.gateway("plain", APPS, 80)
    assert outcome(view.route("GET", "/forwarded")) == "svc-a"
    assert view.route("GET", "/no-refs-field").status == 500
    assert view.route("GET", "/empty-refs").status == 500
    c = conditions(router, "partly-empty")
    assert c["Accepted"] == ("True", "Accepted")
    assert c["ResolvedRefs"] == ("True", "ResolvedRefs")




def test_HTTPRouteWeight(twin, make_router, parent_kind):
    """HTTPRouteWeight and MeshHTTPRouteWeight."""
    at = attach(make_router, twin, parent_kind, "split",
                [rule(be("svc-a", weight=70), be("svc-b", weight=30), be("svc-c", weight=0))])
    assert conditions(at.router, "split", ns=at.ns)["ResolvedRefs"] == ("True", "ResolvedRefs")
    got = shares(at.view, 4000, "GET", "/", host=at.host)
    assert set(got) <= {"svc-a", "svc-b"}          # never svc-c (weight 0), never an error
    assert abs(got.get("svc-a", 0) - 0.7) < 0.04
    assert abs(got.get("svc-b", 0) - 0.3) < 0.04

# --- GatewayWithAttachedRoutes ---------------------------------------------------------------

SELECT_OWN_NS = {"kubernetes.io/metadata.name": INFRA}


def test_GatewayWithAttachedRoutes_one_route_via_metadata_name_selector(twin, make_router):
    objs = [gateway("one", listener("web", from_="Selector", selector=SELECT_OWN_NS,
                                    kinds=["HTTPRoute"])),
            httproute("r1", [gw_ref("one")], [rule(be("svc-a"))], ns=INFRA)]
    router = make_router(objs, twin)
    assert attached(router, "one") == {"web": 1}
    lis = router.status("Gateway", INFRA, "one")["listeners"][0]
    assert lis["supportedKinds"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]
    assert outcome(router.gateway("one", INFRA, 80).route("GET", "/")) == "svc-a"


def test_GatewayWithAttachedRoutes_two_routes_and_one_not_accepted(twin, make_router):
    objs = [gateway("two", listener("web", hostname="shop.example.test", from_="Selector",
                                    selector=SELECT_OWN_NS, kinds=["HTTPRoute"])),
            httproute("r2", [gw_ref("two")], [rule(be("svc-a"))], ns=INFRA),
            httproute("r3", [gw_ref("two")], [rule(be("svc-a"))], ns=INFRA),
            httproute("r-elsewhere", [gw_ref("two")], [rule(be("svc-a"))], ns=INFRA,
                      hostnames=["not-here.example.test"]),
            # another namespace is not selected by the listener
            httproute("r-foreign", [gw_ref("two")], [rule(be("svc-a"))], ns=APPS)]
    router = make_router(objs, twin)
    assert attached(router, "two") == {"web": 2}
    assert conditions(router, "r-elsewhere", ns=INFRA)["Accepted"] == \
        ("False", "NoMatchingListenerHostname")
    assert conditions(router, "r-foreign")["Accepted"] == ("False", "NotAllowedByListeners")


def test_GatewayWithAttachedRoutes_counts_routes_with_unresolved_refs(twin, make_router):
    objs = [service("svc-a", INFRA),
            gateway("secure", listener("tls", 443, protocol="HTTPS", from_="Selector",
                                       selector=SELECT_OWN_NS, kinds=["HTTPRoute"])),
            httproute("r4", [gw_ref("secure", section="tls")], [rule(be("missing-svc"))],
                      ns=INFRA)]
    router = make_router(objs, twin)
    assert attached(router, "secure") == {"tls": 1}
    c = conditions(router, "r4", ns=INFRA)
    assert c["Accepted"] == ("True", "Accepted")
    assert c["ResolvedRefs"][0] == "False"


def test_GatewayWithAttachedRoutes_by_section_name(twin, make_router):
    objs = [gateway("pair", listener("spare", 8080, from_="Same"), listener("main", 80)),
            httproute("r5", [gw_ref("pair", section="main")], [rule(be("svc-a"))], ns=INFRA)]
    router = make_router(objs, twin)
    assert attached(router, "pair") == {"spare": 0, "main": 1}
    assert router.gateway("pair", INFRA, 8080).route("GET", "/").status == 404


# --- a route attached to two Gateways (HTTPRouteMultipleGateways) -----------------------------

def test_HTTPRouteMultipleGateways(twin, make_router):
    objs = [gateway("gw-same", listener("web", from_="Same"), ns=APPS),
            gateway("gw-all", listener("web", from_="All")),
            httproute("shared", [gw_ref("gw-same", APPS), gw_ref("gw-all")],
                      [rule(be("svc-a"), matches=[prefix("/shared")])]),
            httproute("only-same", [gw_ref("gw-same", APPS)],
                      [rule(be("svc-b"), matches=[prefix("/")])]),
            httproute("only-all", [gw_ref("gw-all")],
                      [rule(be("svc-c"), matches=[prefix("/")])])]
    router = make_router(objs, twin)
    same = router.gateway("gw-same", APPS, 80)
    every = router.gateway("gw-all", INFRA, 80)
    assert outcome(same.route("GET", "/shared")) == "svc-a"
    assert outcome(same.route("GET", "/")) == "svc-b"
    assert outcome(every.route("GET", "/shared")) == "svc-a"
    assert outcome(every.route("GET", "/")) == "svc-c"
    assert conditions(router, "shared", parent="gw-same")["Accepted"] == ("True", "Accepted")
    assert conditions(router, "shared", parent="gw-all")["Accepted"] == ("True", "Accepted")
    assert attached(router, "gw-same", APPS) == {"web": 2}
    assert attached(router, "gw-all") == {"web": 2}


# =============================================================================================
# Matching and precedence
# =============================================================================================

MATCH_RULES = [rule(be("svc-a"), matches=[prefix("/"), {"headers": [hdr("version", "one")]}]),
               rule(be("svc-b"), matches=[prefix("/v2"), {"headers": [hdr("version", "two")]}])]

MATCH_CASES = [
    ("/", {}, "svc-a"),
    ("/example", {}, "svc-a"),
    ("/", {"Version": "one"}, "svc-a"),
    ("/v2", {}, "svc-b"),
    ("/v2/example", {}, "svc-b"),
    ("/", {"Version": "two"}, "svc-b"),
    ("/v2/", {}, "svc-b"),
    ("/v2example", {}, "svc-a"),          # prefixes match whole segments
    ("/foo/v2/example", {}, "svc-a"),
]


@pytest.mark.parametrize("path, headers, expected", MATCH_CASES)
def test_HTTPRouteMatching(twin, make_router, parent_kind, path, headers, expected):
    """HTTPRouteMatching and MeshHTTPRouteMatching."""
    at = attach(make_router, twin, parent_kind, "m", MATCH_RULES)
    assert outcome(at.view.route("GET", path, headers, host=at.host)) == expected


@pytest.mark.parametrize("host, path, headers, expected", [
    ("one.test", "/", {}, "svc-a"),
    ("one.test", "/example", {}, "svc-a"),
    ("two.test", "/example", {}, "svc-a"),
    ("one.test", "/example", {"Version": "one"}, "svc-a"),
    ("one.test", "/v2", {}, "svc-b"),
    ("two.test", "/v2", {}, "svc-a"),         # the /v2 route does not serve two.test
    ("one.test", "/v2/example", {}, "svc-b"),
    ("one.test", "/", {"Version": "two"}, "svc-b"),
])
def test_HTTPRouteMatchingAcrossRoutes(twin, make_router, host, path, headers, expected):
    objs = [PLAIN_GW,
            httproute("part-a", [gw_ref("plain", APPS)], [MATCH_RULES[0]],
                      hostnames=["one.test", "two.test"]),
            httproute("part-b", [gw_ref("plain", APPS)], [MATCH_RULES[1]],
                      hostnames=["one.test"])]
    view = make_router(objs, twin).gateway("plain", APPS, 80)
    assert outcome(view.route("GET", path, headers, host=host)) == expected


@pytest.mark.parametrize("path, expected", [
    ("/alpha", "svc-a"), ("/beta", "svc-b"),
    ("/", 404), ("/alpha/more", 404), ("/beta/", 404), ("/Beta", 404),
])
def test_HTTPRouteExactPathMatching(twin, make_router, path, expected):
    objs = [PLAIN_GW, httproute("exacts", [gw_ref("plain", APPS)],
                                [rule(be("svc-a"), matches=[exact("/alpha")]),
                                 rule(be("svc-b"), matches=[exact("/beta")])])]
    view = make_router(objs, twin).gateway("plain", APPS, 80)
    assert outcome(view.route("GET", path)) == expected


@pytest.mark.parametrize("path, expected", [
    ("/shop/exact/deep", "svc-c"),
    ("/shop/exact", "svc-b"),
    ("/shop", "svc-a"),
    ("/shop/pre/deep/x", "svc-b"),
    ("/shop/pre/x", "svc-a"),
    ("/shop/x", "svc-c"),
])
def test_HTTPRoutePathMatchOrder(twin, make_router, path, expected):
    # rules listed so that list order would give the wrong answer every time
    objs = [PLAIN_GW, httproute("order", [gw_ref("plain", APPS)], [
        rule(be("svc-a"), matches=[exact("/shop")]),
        rule(be("svc-b"), matches=[exact("/shop/exact")]),
        rule(be("svc-c"), matches=[exact("/shop/exact/deep")]),
        rule(be("svc-c"), matches=[prefix("/shop/")]),
        rule(be("svc-a"), matches=[prefix("/shop/pre/")]),
        rule(be("svc-b"), matches=[prefix("/shop/pre/deep")]),
    ])]
    view = make_router(objs, twin).gateway("plain", APPS, 80)
    assert outcome(view.route("GET", path)) == expected


@pytest.mark.parametrize("headers, expected", [
    ({"Version": "one"}, "svc-a"),
    ({"Version": "two"}, "svc-b"),
    ({"Version": "two", "Color": "orange"}, "svc-a"),   # two header matches beat one
    ({"Version": "two", "Color": "blue"}, "svc-b"),
    ({"Color": "orange"}, 404),
    ({"Some-Other-Header": "one"}, 404),
    ({"Color": "blue"}, "svc-a"),
    ({"Color": "green"}, "svc-a"),
    ({"Color": "red"}, "svc-b"),
    ({"Color": "yellow"}, "svc-b"),
    ({"Color": "purple"}, 404),
    ({"VERSION": "one"}, "svc-a"),                      # header names ignore case
])
def test_HTTPRouteHeaderMatching(twin, make_router, headers, expected):
    objs = [PLAIN_GW, httproute("headers", [gw_ref("plain", APPS)], [
        rule(be("svc-a"), matches=[{"headers": [hdr("version", "one")]}]),
        rule(be("svc-b"), matches=[{"headers": [hdr("version", "two")]}]),
        rule(be("svc-a"), matches=[{"headers": [hdr("version", "two"), hdr("color", "orange")]}]),
        rule(be("svc-a"), matches=[{"headers": [hdr("color", "blue")]},
                                   {"headers": [hdr("color", "green")]}]),
        rule(be("svc-b"), matches=[{"headers": [hdr("color", "red")]},
                                   {"headers": [hdr("color", "yellow")]}]),
    ])]
    view = make_router(objs, twin).gateway("plain", APPS, 80)
    assert outcome(view.route("GET", "/", headers)) == expected


QUERY_RULES = [
    rule(be("svc-a"), matches=[{"queryParams": [qp("fish", "cod")]}]),
    rule(be("svc-b"), matches=[{"queryParams": [qp("fish", "eel")]}]),
    rule(be("svc-c"), matches=[{"queryParams": [qp("fish", "eel"), qp("size", "big")]},
                               {"queryParams": [qp("FISH", "Cod")]}]),
    # combinations with path and headers
    rule(be("svc-a"), matches=[prefix("/q1", queryParams=[qp("fish", "cod")])]),
    rule(be("svc-b"), matches=[{"headers": [hdr("version", "one")],
                                "queryParams": [qp("fish", "cod")]}]),
    rule(be("svc-c"), matches=[prefix("/q2", headers=[hdr("version", "two")],
                                      queryParams=[qp("fish", "cod")])]),
    # ORed matches, each ANDed inside
    rule(be("svc-a"), matches=[prefix("/q3", queryParams=[qp("fish", "pike")]),
                               prefix("/q4", headers=[hdr("version", "three")],
                                      queryParams=[qp("fish", "carp")])]),
    # precedence: longer path > headers > query params
    rule(be("svc-a"), matches=[prefix("/q5")]),
    rule(be("svc-b"), matches=[{"queryParams": [qp("fish", "tuna")]}]),
    rule(be("svc-c"), matches=[{"headers": [hdr("version", "four")]}]),
]


@pytest.mark.parametrize("target, headers, expected", [
    ("/?fish=cod", {}, "svc-a"),
    ("/?fish=eel", {}, "svc-b"),
    ("/?fish=eel&size=big", {}, "svc-c"),
    ("/?FISH=Cod", {}, "svc-c"),                   # names are case-sensitive
    ("/?fish=cod&unrelated=1", {}, "svc-a"),
    ("/?fish=eel&size=small", {}, "svc-b"),
    ("/?size=big", {}, 404),
    ("/?fish=trout", {}, 404),
    ("/?fish=codeel", {}, 404),
    ("/", {}, 404),
    ("/q1?fish=cod", {}, "svc-a"),
    ("/?fish=cod", {"version": "one"}, "svc-b"),
    ("/q2?fish=cod", {"version": "two"}, "svc-c"),
    ("/q3?fish=pike", {}, "svc-a"),
    ("/q4?fish=carp", {"version": "three"}, "svc-a"),
    ("/?fish=pike", {}, 404),
    ("/q4?fish=carp", {}, 404),
    ("/q5?fish=tuna", {}, "svc-a"),
    ("/?fish=tuna", {"version": "four"}, "svc-c"),
])
def test_HTTPRouteQueryParamMatching(twin, make_router, target, headers, expected):
    objs = [PLAIN_GW, httproute("query", [gw_ref("plain", APPS)], QUERY_RULES)]
    view = make_router(objs, twin).gateway("plain", APPS, 80)
    assert outcome(view.route("GET", target, headers)) == expected


METHOD_RULES = [
    rule(be("svc-a"), matches=[{"method": "POST"}]),
    rule(be("svc-b"), matches=[{"method": "GET"}]),
    rule(be("svc-a"), matches=[prefix("/m1", method="GET")]),
    rule(be("svc-b"), matches=[{"headers": [hdr("version", "one")], "method": "PUT"}]),
    rule(be("svc-c"), matches=[prefix("/m2", headers=[hdr("version", "two")], method="POST")]),
    rule(be("svc-a"), matches=[prefix("/m3", method="PATCH"),
                               prefix("/m4", headers=[hdr("version", "three")], method="DELETE")]),
    # precedence: longer path > method > headers
    rule(be("svc-a"), matches=[prefix("/m5")]),
    rule(be("svc-b"), matches=[{"method": "PATCH"}]),
    rule(be("svc-c"), matches=[{"headers": [hdr("version", "four")]}]),
]


@pytest.mark.parametrize("method, path, headers, expected", [
    ("POST", "/", {}, "svc-a"),
    ("GET", "/", {}, "svc-b"),
    ("HEAD", "/", {}, 404),                        # HEAD is not GET
    ("GET", "/m1", {}, "svc-a"),
    ("PUT", "/", {"version": "one"}, "svc-b"),
    ("POST", "/m2", {"version": "two"}, "svc-c"),
    ("PATCH", "/m3", {}, "svc-a"),
    ("DELETE", "/m4", {"version": "three"}, "svc-a"),
    ("PUT", "/", {}, 404),
    ("DELETE", "/m4", {}, 404),
    ("PATCH", "/m5", {}, "svc-a"),
    ("PATCH", "/", {"version": "four"}, "svc-b"),
])
def test_HTTPRouteMethodMatching(twin, make_router, method, path, headers, expected):
    objs = [PLAIN_GW, httproute("methods", [gw_ref("plain", APPS)], METHOD_RULES)]
    view = make_router(objs, twin).gateway("plain", APPS, 80)
    assert outcome(view.route(method, path, headers)) == expected


# =============================================================================================
# Redirects and rewrites
# =============================================================================================

def _plain_view(make_router, twin, rules, **route_kw):
    objs = [PLAIN_GW, httproute("filters", [gw_ref("plain", APPS)], rules, **route_kw)]
    return make_router(objs, twin).gateway("plain", APPS, 80)


class Attached(NamedTuple):
    router: routecore.Router
    view: routecore.View
    host: str      # the Host of the scenario's requests
    ns: str        # the route's namespace


MESH_BACKENDS = [service(name, MESH) for name in ("svc-a", "svc-b", "svc-c")]


def attach(make_router, twin, parent_kind, name, rules):
    """One HTTPRoute ``name`` of ``rules`` (backends svc-a, svc-b, svc-c) attached to the plain
    Gateway (parent_kind "gateway") or to the mesh Service echo:80 ("mesh")."""
    if parent_kind == "gateway":
        objs = [PLAIN_GW, httproute(name, [gw_ref("plain", APPS)], rules)]
        router = make_router(objs, twin)
        return Attached(router, router.gateway("plain", APPS, 80), "shop.test", APPS)
    objs = MESH_SERVICES + MESH_BACKENDS + [
        httproute(name, [svc_ref("echo", port=80)], rules, ns=MESH)]
    router = make_router(objs, twin)
    return Attached(router, router.service("echo", MESH, 80), "echo", MESH)


@pytest.mark.parametrize("path, status, location", [
    ("/host-only", 302, "http://moved.example.test/host-only"),
    ("/host-status", 301, "http://moved.example.test/host-status"),
])
def test_HTTPRouteRedirectHostAndStatus(twin, make_router, parent_kind, path, status, location):
    """HTTPRouteRedirectHostAndStatus and MeshHTTPRouteRedirectHostAndStatus."""
    at = attach(make_router, twin, parent_kind, "redir", [
        rule(matches=[prefix("/host-only")], filters=[redirect(hostname="moved.example.test")]),
        rule(matches=[prefix("/host-status")],
             filters=[redirect(hostname="moved.example.test", statusCode=301)]),
    ])
    d = at.view.route("GET", path, host=at.host)
    assert (d.status, d.location, d.backend) == (status, location, None)


@pytest.mark.parametrize("path, status, location", [
    ("/old-prefix/page", 302, "http://shop.test/new-prefix/page"),
    ("/whole/old/thing", 302, "http://shop.test/brand-new"),
    ("/prefix-and-host", 302, "http://moved.example.test/new-prefix"),
    ("/prefix-and-status", 301, "http://shop.test/new-prefix"),
    ("/full-and-host", 302, "http://moved.example.test/full-new"),
    ("/full-and-status", 301, "http://shop.test/full-new"),
])
def test_HTTPRouteRedirectPath(twin, make_router, path, status, location):
    def prefix_to(v):
        return {"type": "ReplacePrefixMatch", "replacePrefixMatch": v}

    def full_to(v):
        return {"type": "ReplaceFullPath", "replaceFullPath": v}

    view = _plain_view(make_router, twin, [
        rule(matches=[prefix("/old-prefix")], filters=[redirect(path=prefix_to("/new-prefix"))]),
        rule(matches=[prefix("/whole")], filters=[redirect(path=full_to("/brand-new"))]),
        rule(matches=[prefix("/prefix-and-host")],
             filters=[redirect(hostname="moved.example.test", path=prefix_to("/new-prefix"))]),
        rule(matches=[prefix("/prefix-and-status")],
             filters=[redirect(path=prefix_to("/new-prefix"), statusCode=301)]),
        rule(matches=[prefix("/full-and-host")],
             filters=[redirect(hostname="moved.example.test", path=full_to("/full-new"))]),
        rule(matches=[prefix("/full-and-status")],
             filters=[redirect(path=full_to("/full-new"), statusCode=301)]),
    ])
    d = view.route("GET", path, host="shop.test")
    assert (d.status, d.location) == (status, location)


@pytest.mark.parametrize("path, status, location", [
    ("/port", 302, "http://shop.test:8093/port"),
    ("/port-host", 302, "http://moved.example.test:8093/port-host"),
    ("/port-status", 301, "http://shop.test:8093/port-status"),
    ("/port-host-status", 302, "http://moved.example.test:8093/port-host-status"),
])
def test_HTTPRouteRedirectPort(twin, make_router, path, status, location):
    view = _plain_view(make_router, twin, [
        rule(matches=[prefix("/port")], filters=[redirect(port=8093)]),
        rule(matches=[prefix("/port-host")],
             filters=[redirect(port=8093, hostname="moved.example.test")]),
        rule(matches=[prefix("/port-status")], filters=[redirect(port=8093, statusCode=301)]),
        rule(matches=[prefix("/port-host-status")],
             filters=[redirect(port=8093, hostname="moved.example.test", statusCode=302)]),
    ])
    d = view.route("GET", path, host="shop.test")
    assert (d.status, d.location) == (status, location)


@pytest.mark.parametrize("path, status, location", [
    ("/scheme", 302, "https://shop.test/scheme"),
    ("/scheme-host", 302, "https://moved.example.test/scheme-host"),
    ("/scheme-status", 301, "https://shop.test/scheme-status"),
    ("/scheme-host-status", 302, "https://moved.example.test/scheme-host-status"),
])
def test_HTTPRouteRedirectScheme(twin, make_router, path, status, location):
    view = _plain_view(make_router, twin, [
        rule(matches=[prefix("/scheme")], filters=[redirect(scheme="https")]),
        rule(matches=[prefix("/scheme-host")],
             filters=[redirect(scheme="https", hostname="moved.example.test")]),
        rule(matches=[prefix("/scheme-status")], filters=[redirect(scheme="https", statusCode=301)]),
        rule(matches=[prefix("/scheme-host-status")],
             filters=[redirect(scheme="https", hostname="moved.example.test", statusCode=302)]),
    ])
    d = view.route("GET", path, host="shop.test")
    assert (d.status, d.location) == (status, location)


def _port_scheme_rules(cases):
    return [rule(matches=[prefix(path)], filters=[redirect(hostname="moved.example.test", **body)])
            for path, body in cases]


PS_RULES = [
    ("/no-scheme-no-port", {}),
    ("/no-scheme-port-80", {"port": 80}),
    ("/no-scheme-port-443", {"port": 443}),
    ("/no-scheme-port-8443", {"port": 8443}),
    ("/https-no-port", {"scheme": "https"}),
    ("/https-port-443", {"scheme": "https", "port": 443}),
    ("/https-port-8443", {"scheme": "https", "port": 8443}),
    ("/http-no-port", {"scheme": "http"}),
    ("/http-port-80", {"scheme": "http", "port": 80}),
    ("/http-port-8080", {"scheme": "http", "port": 8080}),
]


@pytest.mark.parametrize("gw_name, port, path, location", [
    # HTTP listener on 80
    ("http80", 80, "/no-scheme-no-port", "http://moved.example.test/no-scheme-no-port"),
    ("http80", 80, "/no-scheme-port-80", "http://moved.example.test/no-scheme-port-80"),
    ("http80", 80, "/https-no-port", "https://moved.example.test/https-no-port"),
    ("http80", 80, "/https-port-443", "https://moved.example.test/https-port-443"),
    ("http80", 80, "/https-port-8443", "https://moved.example.test:8443/https-port-8443"),
    # HTTP listener on 8080: the listener port is kept unless scheme or port is set
    ("http8080", 8080, "/no-scheme-no-port", "http://moved.example.test:8080/no-scheme-no-port"),
    ("http8080", 8080, "/no-scheme-port-80", "http://moved.example.test/no-scheme-port-80"),
    ("http8080", 8080, "/https-no-port", "https://moved.example.test/https-no-port"),
    # HTTPS listener on 443
    ("https443", 443, "/no-scheme-no-port", "https://moved.example.test/no-scheme-no-port"),
    ("https443", 443, "/no-scheme-port-443", "https://moved.example.test/no-scheme-port-443"),
    ("https443", 443, "/no-scheme-port-8443", "https://moved.example.test:8443/no-scheme-port-8443"),
    ("https443", 443, "/http-no-port", "http://moved.example.test/http-no-port"),
    ("https443", 443, "/http-port-80", "http://moved.example.test/http-port-80"),
    ("https443", 443, "/http-port-8080", "http://moved.example.test:8080/http-port-8080"),
])
def test_HTTPRouteRedirectPortAndScheme(twin, make_router, gw_name, port, path, location):
    objs = [gateway("http80", listener("web", 80), ns=APPS),
            gateway("http8080", listener("web", 8080), ns=APPS),
            gateway("https443", listener("secure", 443, protocol="HTTPS"), ns=APPS)]
    for g in ("http80", "http8080", "https443"):
        objs.append(httproute(f"redir-{g}", [gw_ref(g, APPS)], _port_scheme_rules(PS_RULES)))
    view = make_router(objs, twin).gateway(gw_name, APPS, port)
    d = view.route("GET", path, host="moved.example.test")
    assert (d.status, d.location) == (302, location)


REQ_MOD = header_mod("RequestHeaderModifier", set_=[("X-Header-Set", "set-overwrites-values")],
                     add=[("X-Header-Add", "header-val-1"), ("X-Header-Add-Append", "header-val-2")],
                     remove=["X-Header-Remove"])
REQ_IN = [("X-Header-Remove", "remove-val"), ("X-Header-Add-Append", "append-val-1"),
          ("X-Header-Set", "set-val")]
REQ_OUT = {"x-header-add": "header-val-1", "x-header-add-append": "append-val-1,header-val-2",
           "x-header-set": "set-overwrites-values"}


def _assert_req_mod(d):
    got = folded(d.apply_request_headers(REQ_IN))
    for k, v in REQ_OUT.items():
        assert got.get(k) == v, (k, got)
    assert "x-header-remove" not in got


def test_HTTPRouteRewriteHost(twin, make_router):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), matches=[prefix("/first")],
             filters=[rewrite(hostname="first.internal.test")]),
        rule(be("svc-b"), filters=[rewrite(hostname="internal.test")]),
        rule(be("svc-b"), matches=[prefix("/host-and-headers")],
             filters=[rewrite(hostname="third.internal.test"), REQ_MOD]),
    ], hostnames=["public.test"])
    d = view.route("GET", "/first", host="public.test")
    assert (name_of(d), d.upstream_host, d.upstream_path) == ("svc-a", "first.internal.test", "/first")
    d = view.route("GET", "/second", host="public.test")
    assert (name_of(d), d.upstream_host, d.upstream_path) == ("svc-b", "internal.test", "/second")
    d = view.route("GET", "/host-and-headers", host="public.test")
    assert (name_of(d), d.upstream_host, d.upstream_path) == \
        ("svc-b", "third.internal.test", "/host-and-headers")
    _assert_req_mod(d)


@pytest.mark.parametrize("path, upstream, with_headers", [
    ("/api/one/two", "/one/two", False),
    ("/strip/three", "/three", False),
    ("/strip", "/", False),
    ("/whole/one/two", "/one", False),
    ("/whole/and-headers/x", "/replaced", True),
    ("/api/and-headers/one", "/api/one", True),
])
def test_HTTPRouteRewritePath(twin, make_router, parent_kind, path, upstream, with_headers):
    """HTTPRouteRewritePath and MeshHTTPRouteRewritePath."""
    def prefix_to(v):
        return rewrite(path={"type": "ReplacePrefixMatch", "replacePrefixMatch": v})

    def full_to(v):
        return rewrite(path={"type": "ReplaceFullPath", "replaceFullPath": v})

    at = attach(make_router, twin, parent_kind, "rw", [
        rule(be("svc-a"), matches=[prefix("/api/one")], filters=[prefix_to("/one")]),
        rule(be("svc-a"), matches=[prefix("/strip")], filters=[prefix_to("/")]),
        rule(be("svc-a"), matches=[prefix("/whole/one")], filters=[full_to("/one")]),
        rule(be("svc-a"), matches=[prefix("/whole/and-headers")],
             filters=[full_to("/replaced"), REQ_MOD]),
        rule(be("svc-a"), matches=[prefix("/api/and-headers")],
             filters=[prefix_to("/api"), REQ_MOD]),
    ])
    d = at.view.route("GET", path, REQ_IN, host=at.host)
    assert (name_of(d), d.upstream_path) == ("svc-a", upstream)
    if with_headers:
        _assert_req_mod(d)


# =============================================================================================
# Header modifiers, mirrors, timeouts
# =============================================================================================

def _modifier_rules(kind):
    return [
        rule(be("svc-a"), matches=[prefix("/set")],
             filters=[header_mod(kind, set_=[("X-Header-Set", "set-overwrites-values")])]),
        rule(be("svc-a"), matches=[prefix("/add")],
             filters=[header_mod(kind, add=[("X-Header-Add", "add-appends-values")])]),
        rule(be("svc-a"), matches=[prefix("/remove")],
             filters=[header_mod(kind, remove=["X-Header-Remove"])]),
        rule(be("svc-a"), matches=[prefix("/multiple")],
             filters=[header_mod(kind,
                                 set_=[("X-Header-Set-1", "header-set-1"),
                                       ("X-Header-Set-2", "header-set-2")],
                                 add=[("X-Header-Add-1", "header-add-1"),
                                      ("X-Header-Add-2", "header-add-2"),
                                      ("X-Header-Add-3", "header-add-3")],
                                 remove=["X-Header-Remove-1", "X-Header-Remove-2"])]),
        rule(be("svc-a"), matches=[prefix("/case-insensitivity")],
             filters=[header_mod(kind, set_=[("X-Header-Set", "header-set")],
                                 add=[("X-Header-Add", "header-add"),
                                      ("x-lower-add", "lower-add"),
                                      ("X-MiXeD-Add", "mixed-add")],
                                 remove=["X-Header-Remove"])]),
    ]


# (path, headers in, expected present (lower-case name -> value), expected absent)
MODIFIER_CASES = [
    ("/set", [("Some-Other-Header", "val")],
     {"some-other-header": "val", "x-header-set": "set-overwrites-values"}, []),
    ("/set", [("Some-Other-Header", "val"), ("X-Header-Set", "some-other-value")],
     {"some-other-header": "val", "x-header-set": "set-overwrites-values"}, []),
    ("/add", [("Some-Other-Header", "val")],
     {"some-other-header": "val", "x-header-add": "add-appends-values"}, []),
    ("/add", [("Some-Other-Header", "val"), ("X-Header-Add", "some-other-value")],
     {"some-other-header": "val", "x-header-add": "some-other-value,add-appends-values"}, []),
    ("/remove", [("X-Header-Remove", "val")], {}, ["x-header-remove"]),
    ("/multiple", [("X-Header-Set-2", "set-val-2"), ("X-Header-Add-2", "add-val-2"),
                   ("X-Header-Remove-2", "remove-val-2"), ("Another-Header", "another-val"),
                   ("X-Header-Remove-1", "val")],
     {"x-header-set-1": "header-set-1", "x-header-set-2": "header-set-2",
      "x-header-add-1": "header-add-1", "x-header-add-2": "add-val-2,header-add-2",
      "x-header-add-3": "header-add-3", "another-header": "another-val"},
     ["x-header-remove-1", "x-header-remove-2"]),
    ("/case-insensitivity", [("x-header-set", "original-set"), ("x-header-add", "original-add"),
                             ("x-header-remove", "original-remove"), ("Another-Header", "v")],
     {"x-header-set": "header-set", "x-header-add": "original-add,header-add",
      "x-lower-add": "lower-add", "x-mixed-add": "mixed-add", "another-header": "v"},
     ["x-header-remove"]),
]


@pytest.mark.parametrize("path, given, present, absent", MODIFIER_CASES)
def test_HTTPRouteRequestHeaderModifier(twin, make_router, path, given, present, absent):
    view = _plain_view(make_router, twin, _modifier_rules("RequestHeaderModifier"))
    d = view.route("GET", path, given)
    assert name_of(d) == "svc-a"
    got = folded(d.apply_request_headers(given))
    assert {k: got.get(k) for k in present} == present
    assert not [k for k in absent if k in got]
    # the request modifier does not touch the response
    assert folded(d.apply_response_headers(given)) == folded(given)


@pytest.mark.parametrize("path, given, present, absent", MODIFIER_CASES)
def test_HTTPRouteResponseHeaderModifier(twin, make_router, path, given, present, absent):
    # ``given`` plays the headers the backend answered with
    view = _plain_view(make_router, twin, _modifier_rules("ResponseHeaderModifier"))
    d = view.route("GET", path)
    assert name_of(d) == "svc-a"
    got = folded(d.apply_response_headers(given))
    assert {k: got.get(k) for k in present} == present
    assert not [k for k in absent if k in got]
    assert folded(d.apply_request_headers(given)) == folded(given)


def test_HTTPRouteResponseHeaderModifier_with_request_modifier(twin, make_router):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), matches=[prefix("/both")], filters=[
            header_mod("ResponseHeaderModifier",
                       set_=[("X-Header-Set-1", "header-set-1"), ("X-Header-Set-2", "header-set-2")],
                       add=[("X-Header-Add-1", "header-add-1"), ("X-Header-Add-2", "header-add-2")],
                       remove=["X-Header-Remove-1", "X-Header-Remove-2"]),
            REQ_MOD])])
    d = view.route("GET", "/both", REQ_IN + [("X-Echo", "echo")])
    req = folded(d.apply_request_headers(REQ_IN + [("X-Echo", "echo")]))
    assert {k: req.get(k) for k in REQ_OUT} == REQ_OUT and req["x-echo"] == "echo"
    assert "x-header-remove" not in req
    resp = folded(d.apply_response_headers([
        ("X-Header-Set-2", "set-val-2"), ("X-Header-Add-2", "add-val-2"),
        ("X-Header-Remove-2", "remove-val-2"), ("Another-Header", "another"),
        ("X-Header-Remove-1", "remove-val-1"), ("X-Echo", "echo")]))
    assert resp == {"x-header-set-2": "header-set-2", "x-header-add-2": "add-val-2,header-add-2",
                    "another-header": "another", "x-echo": "echo",
                    "x-header-set-1": "header-set-1", "x-header-add-1": "header-add-1"}


def _mirror_targets(d):
    return [(m.backend.namespace, m.backend.name, m.percent) for m in d.mirrors]


def test_HTTPRouteRequestMirror(twin, make_router):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), matches=[prefix("/mirror")], filters=[mirror(be("svc-b"))]),
        rule(be("svc-a"), matches=[prefix("/mirror-and-headers")],
             filters=[REQ_MOD, mirror(be("svc-b"))]),
    ])
    d = view.route("GET", "/mirror")
    assert (name_of(d), d.upstream_path) == ("svc-a", "/mirror")
    assert _mirror_targets(d) == [(APPS, "svc-b", 100.0)]
    d = view.route("GET", "/mirror-and-headers", REQ_IN)
    assert name_of(d) == "svc-a"
    assert _mirror_targets(d) == [(APPS, "svc-b", 100.0)]
    _assert_req_mod(d)


def test_HTTPRouteRequestMultipleMirrors(twin, make_router):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), matches=[prefix("/fan-out")],
             filters=[mirror(be("svc-b")), mirror(be("svc-c"))]),
        rule(be("svc-a"), matches=[prefix("/fan-out-and-headers")],
             filters=[REQ_MOD, mirror(be("svc-b")), mirror(be("svc-c"))]),
    ])
    d = view.route("GET", "/fan-out")
    assert name_of(d) == "svc-a"
    assert _mirror_targets(d) == [(APPS, "svc-b", 100.0), (APPS, "svc-c", 100.0)]
    d = view.route("GET", "/fan-out-and-headers", REQ_IN)
    assert _mirror_targets(d) == [(APPS, "svc-b", 100.0), (APPS, "svc-c", 100.0)]
    _assert_req_mod(d)


def test_HTTPRouteRequestPercentageMirror(twin, make_router):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), matches=[prefix("/some")], filters=[mirror(be("svc-b"), percent=20)]),
        rule(be("svc-a"), matches=[prefix("/fraction")],
             filters=[mirror(be("svc-b"), fraction={"numerator": 25, "denominator": 50})]),
        rule(be("svc-a"), matches=[prefix("/some-and-headers")],
             filters=[REQ_MOD, mirror(be("svc-b"), percent=35)]),
    ])
    d = view.route("GET", "/some")
    assert name_of(d) == "svc-a" and _mirror_targets(d) == [(APPS, "svc-b", 20.0)]
    d = view.route("GET", "/fraction")
    assert name_of(d) == "svc-a" and _mirror_targets(d) == [(APPS, "svc-b", 50.0)]
    d = view.route("GET", "/some-and-headers", REQ_IN)
    assert name_of(d) == "svc-a" and _mirror_targets(d) == [(APPS, "svc-b", 35.0)]
    _assert_req_mod(d)


def test_HTTPRouteTimeoutRequest(twin, make_router):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), matches=[prefix("/bounded")], timeouts={"request": "500ms"}),
        rule(be("svc-a"), matches=[prefix("/unbounded")], timeouts={"request": "0s"}),
        rule(be("svc-a"), matches=[prefix("/default")]),
    ])
    d = view.route("GET", "/bounded?delay=1s")
    assert name_of(d) == "svc-a" and d.timeouts.request == 0.5
    d = view.route("GET", "/unbounded?delay=1s")
    assert name_of(d) == "svc-a" and d.timeouts.request == 0.0   # 0s disables the timeout
    d = view.route("GET", "/default")
    assert d.timeouts is None or d.timeouts.request is None


# =============================================================================================
# Mesh (GAMMA)
# =============================================================================================

MESH_SERVICES = [service("echo", MESH, ("http", 80), ("alt", 8080)),
                 service("echo-v1", MESH, ("http", 80), ("alt", 8080)),
                 service("echo-v2", MESH, ("http", 80), ("alt", 8080))]


def test_MeshBasic(twin, make_router):
    router = make_router(MESH_SERVICES, twin)
    d = router.service("echo", MESH, 80).route("GET", "/", host="echo")
    assert d.status is None and d.matched is False
    assert (d.backend.namespace, d.backend.name, d.backend.port) == (MESH, "echo", 80)


def _frontend_config():
    return MESH_SERVICES + [httproute("on-v2", [svc_ref("echo-v2")], [rule(
        be("echo-v2", 80),
        filters=[header_mod("ResponseHeaderModifier", set_=[("X-Header-Set", "set")])])], ns=MESH)]


def test_MeshFrontend(twin, make_router):
    router = make_router(_frontend_config(), twin)
    d = router.service("echo-v2", MESH, 80).route("GET", "/", host="echo-v2")
    assert (d.status, name_of(d), d.route) == (None, "echo-v2", f"{MESH}/on-v2")
    assert folded(d.apply_response_headers([]))["x-header-set"] == "set"
    # the route belongs to echo-v2's frontend only: another Service is not affected
    d = router.service("echo-v1", MESH, 80).route("GET", "/", host="echo-v1")
    assert (d.matched, name_of(d)) == (False, "echo-v1")
    assert "x-header-set" not in folded(d.apply_response_headers([]))


def test_MeshFrontendHostname(twin, make_router):
    router = make_router(_frontend_config(), twin)
    # sent to echo-v2 with another Service's name as Host: the route still applies
    d = router.service("echo-v2", MESH, 80).route("GET", "/", {"Host": "echo-v1"})
    assert (name_of(d), d.route) == ("echo-v2", f"{MESH}/on-v2")
    assert folded(d.apply_response_headers([]))["x-header-set"] == "set"
    # sent to echo-v1 with echo-v2 as Host: echo-v2's route does not apply
    d = router.service("echo-v1", MESH, 80).route("GET", "/", {"Host": "echo-v2"})
    assert (d.matched, name_of(d)) == (False, "echo-v1")
    assert "x-header-set" not in folded(d.apply_response_headers([]))


def test_MeshFrontendHostname_route_hostnames_ignored(twin, make_router):
    objs = MESH_SERVICES + [httproute("named", [svc_ref("echo", port=80)],
                                      [rule(be("echo-v1", 80))], ns=MESH,
                                      hostnames=["some-other-name.example.test"])]
    view = make_router(objs, twin).service("echo", MESH, 80)
    for host in ("echo", "echo.mesh-app.svc.cluster.local", "unrelated.test"):
        d = view.route("GET", "/", host=host)
        assert (d.status, name_of(d)) == (None, "echo-v1"), host


def test_MeshPorts(twin, make_router):
    objs = MESH_SERVICES + [
        httproute("v1-port-80", [svc_ref("echo-v1", port=80)], [rule(
            be("echo-v1", 80),
            filters=[header_mod("ResponseHeaderModifier", set_=[("X-Header-Set", "v1")])])],
            ns=MESH),
        httproute("v2-all-ports", [svc_ref("echo-v2")], [rule(
            be("echo-v2", 80),
            filters=[header_mod("ResponseHeaderModifier", set_=[("X-Header-Set", "v2")])])],
            ns=MESH)]
    router = make_router(objs, twin)
    d = router.service("echo-v1", MESH, 80).route("GET", "/")
    assert name_of(d) == "echo-v1" and folded(d.apply_response_headers([]))["x-header-set"] == "v1"
    d = router.service("echo-v1", MESH, 8080).route("GET", "/")      # a port the route excludes
    assert (d.matched, name_of(d), d.backend.port) == (False, "echo-v1", 8080)
    assert "x-header-set" not in folded(d.apply_response_headers([]))
    for port in (80, 8080):
        d = router.service("echo-v2", MESH, port).route("GET", "/")
        assert name_of(d) == "echo-v2", port
        assert folded(d.apply_response_headers([]))["x-header-set"] == "v2", port


def test_MeshPorts_section_name(twin, make_router):
    objs = MESH_SERVICES + [httproute("alt-only", [svc_ref("echo", section="alt")],
                                      [rule(be("echo-v2", 80))], ns=MESH)]
    router = make_router(objs, twin)
    assert name_of(router.service("echo", MESH, 8080).route("GET", "/")) == "echo-v2"
    d = router.service("echo", MESH, 80).route("GET", "/")
    assert (d.matched, name_of(d)) == (False, "echo")


def test_MeshConsumerRoute(twin, make_router):
    objs = MESH_SERVICES + [httproute(
        "client-side", [svc_ref("echo-v1", MESH)],
        [rule(be("echo-v1", 80, ns=MESH),
              filters=[header_mod("ResponseHeaderModifier", set_=[("X-Header-Set", "set")])])],
        ns=CONSUMER)]
    router = make_router(objs, twin)
    d = router.service("echo-v1", MESH, 80, client_namespace=CONSUMER).route("GET", "/")
    assert (d.status, name_of(d), d.backend.namespace) == (None, "echo-v1", MESH)
    assert d.route == f"{CONSUMER}/client-side"
    assert folded(d.apply_response_headers([]))["x-header-set"] == "set"
    # a client in the Service's own namespace is unaffected by the consumer route
    d = router.service("echo-v1", MESH, 80, client_namespace=MESH).route("GET", "/")
    assert (d.matched, name_of(d)) == (False, "echo-v1")
    assert "x-header-set" not in folded(d.apply_response_headers([]))
    # the cross-namespace backendRef needs no ReferenceGrant for a mesh route
    assert conditions(router, "client-side", ns=CONSUMER)["ResolvedRefs"] == ("True", "ResolvedRefs")


def test_MeshTrafficSplit(twin, make_router):
    objs = MESH_SERVICES + [httproute("split", [svc_ref("echo")], [
        rule(be("echo-v1", 80), matches=[exact("/first")]),
        rule(be("echo-v2", 80), matches=[exact("/second")])], ns=MESH)]
    view = make_router(objs, twin).service("echo", MESH, 80)
    assert outcome(view.route("GET", "/first", host="echo")) == "echo-v1"
    assert outcome(view.route("GET", "/second", host="echo")) == "echo-v2"
    # routes attached but none matches: rejected (digest §9)
    assert view.route("GET", "/third", host="echo").status == 404


# =============================================================================================
# Further checks inside the same scenarios (digest-backed edge cases)
# =============================================================================================

@pytest.mark.parametrize("host, expected", [
    ("fruit.test:8080", "svc-a"),           # the Host port is ignored
    ("FRUIT.Test", "svc-a"),                # DNS names ignore case (README choice)
    ("Apple.Fruit.Test", "svc-b"),
])
def test_HTTPRouteListenerHostnameMatching_host_forms(twin, make_router, host, expected):
    view = make_router(LHM_CONFIG, twin).gateway("hosts", APPS, 80)
    assert outcome(view.route("GET", "/", host=host)) == expected


@pytest.mark.parametrize("route_host, request_host, expected", [
    # wildcard route hostname narrower than the wildcard listener
    ("*.deep.wild.test", "x.deep.wild.test", "svc-a"),
    ("*.deep.wild.test", "x.wild.test", 404),
    # wildcard route hostname wider than the listener: narrowed to the listener's
    ("*.test", "x.wild.test", "svc-a"),
    ("*.test", "x.y.wild.test", "svc-a"),
])
def test_HTTPRouteHostnameIntersection_wildcard_pairs(twin, make_router, route_host,
                                                      request_host, expected):
    objs = [gateway("w", listener("wild", hostname="*.wild.test"), ns=APPS),
            httproute("r", [gw_ref("w", APPS)], [rule(be("svc-a"))], hostnames=[route_host])]
    router = make_router(objs, twin)
    assert conditions(router, "r")["Accepted"] == ("True", "Accepted")
    assert outcome(router.gateway("w", APPS, 80).route("GET", "/", host=request_host)) == expected


def test_HTTPRouteHostnameIntersection_route_attached_to_two_listeners_counts_on_each(twin,
                                                                                     make_router):
    objs = [HI_GATEWAY,
            httproute("both", [gw_ref("isect", APPS)], [rule(be("svc-a"))],
                      hostnames=["exact.host.test", "q.wild.test"])]
    router = make_router(objs, twin)
    assert attached(router, "isect", APPS) == {"one-host": 1, "wild": 1, "wild2": 0}
    view = router.gateway("isect", APPS, 80)
    assert outcome(view.route("GET", "/", host="exact.host.test")) == "svc-a"
    assert outcome(view.route("GET", "/", host="q.wild.test")) == "svc-a"
    assert outcome(view.route("GET", "/", host="r.wild.test")) == 404


def test_HTTPRouteCrossNamespace_parent_with_from_same(twin, make_router):
    # the Gateway only admits its own namespace: a route elsewhere is NotAllowedByListeners
    objs = [gateway("same-only", listener("web", from_="Same")),
            httproute("outsider", [gw_ref("same-only")], [rule(be("svc-a"))], ns=APPS)]
    router = make_router(objs, twin)
    assert conditions(router, "outsider")["Accepted"] == ("False", "NotAllowedByListeners")
    assert attached(router, "same-only") == {"web": 0}
    assert router.gateway("same-only", INFRA, 80).route("GET", "/").status == 404


def test_HTTPRouteInvalidParentRefNotMatchingListenerPort_consistent_port_and_section(twin,
                                                                                     make_router):
    objs = [gateway("pair", listener("a", 80), listener("b", 8080), ns=APPS),
            httproute("ok", [gw_ref("pair", APPS, section="b", port=8080)], [rule(be("svc-a"))]),
            httproute("clash", [gw_ref("pair", APPS, section="a", port=8080)], [rule(be("svc-b"))])]
    router = make_router(objs, twin)
    assert conditions(router, "ok")["Accepted"] == ("True", "Accepted")
    assert conditions(router, "clash")["Accepted"] == ("False", "NoMatchingParent")
    assert attached(router, "pair", APPS) == {"a": 0, "b": 1}
    assert outcome(router.gateway("pair", APPS, 8080).route("GET", "/")) == "svc-a"
    assert router.gateway("pair", APPS, 80).route("GET", "/").status == 404


def test_HTTPRouteInvalidCrossNamespaceBackendRef_weighted_share(twin, make_router):
    # two equal weights, one not permitted: about half the requests get 500 (digest 6.3)
    objs = [PLAIN_GW,
            httproute("half", [gw_ref("plain", APPS)],
                      [rule(be("svc-a", weight=1), be("ledger", ns=OTHER, weight=1))])]
    router = make_router(objs, twin)
    assert conditions(router, "half")["ResolvedRefs"] == ("False", "RefNotPermitted")
    got = shares(router.gateway("plain", APPS, 80), 4000, "GET", "/")
    assert set(got) == {"svc-a", 500}
    assert abs(got[500] - 0.5) < 0.04


def test_HTTPRouteInvalidNonExistentBackendRef_weight_zero_takes_no_traffic(twin, make_router):
    objs = [PLAIN_GW, service("svc-a", APPS),
            httproute("r", [gw_ref("plain", APPS)],
                      [rule(be("svc-a", weight=5), be("ghost", weight=0))])]
    router = make_router(objs, twin)
    assert conditions(router, "r")["ResolvedRefs"] == ("False", "BackendNotFound")
    got = shares(router.gateway("plain", APPS, 80), 500, "GET", "/")
    assert got == {"svc-a": 1.0}


def test_HTTPRouteReferenceGrant_v1beta1(twin, make_router):
    g = grant("ok", OTHER, from_ns=APPS, to_name="ledger")
    g["apiVersion"] = "gateway.networking.k8s.io/v1beta1"
    objs = [PLAIN_GW, g,
            httproute("reach-over", [gw_ref("plain", APPS)], [rule(be("ledger", ns=OTHER))])]
    router = make_router(objs, twin)
    assert conditions(router, "reach-over")["ResolvedRefs"] == ("True", "ResolvedRefs")
    assert outcome(router.gateway("plain", APPS, 80).route("GET", "/")) == "ledger"


def test_HTTPRouteNoBackendRefs_with_only_a_header_filter(twin, make_router):
    view = _plain_view(make_router, twin, [
        rule(matches=[prefix("/only-filter")],
             filters=[header_mod("RequestHeaderModifier", set_=[("x-a", "1")])])])
    assert view.route("GET", "/only-filter").status == 500


def test_HTTPRouteNoBackendRefs_rules_omitted(twin, make_router):
    # an HTTPRoute without rules is defaulted to one PathPrefix "/" rule without backends
    r = httproute("bare", [gw_ref("plain", APPS)], [])
    del r["spec"]["rules"]
    router = make_router([PLAIN_GW, r], twin)
    assert router.gateway("plain", APPS, 80).route("GET", "/anything").status == 500


def test_HTTPRouteWeight_all_zero(twin, make_router):
    view = _plain_view(make_router, twin, [rule(be("svc-a", weight=0), be("svc-b", weight=0))])
    assert view.route("GET", "/").status == 500


def test_HTTPRouteWeight_single_backend_any_weight(twin, make_router):
    view = _plain_view(make_router, twin, [rule(be("svc-a", weight=3))])
    assert shares(view, 200, "GET", "/") == {"svc-a": 1.0}


def test_HTTPRouteMultipleGateways_status_has_one_parent_each(twin, make_router):
    objs = [gateway("gw-same", listener("web", from_="Same"), ns=APPS),
            gateway("gw-all", listener("web", from_="All")),
            httproute("shared", [gw_ref("gw-same", APPS), gw_ref("gw-all")], [rule(be("svc-a"))])]
    router = make_router(objs, twin)
    parents = router.status("HTTPRoute", APPS, "shared")["parents"]
    assert sorted((p["parentRef"]["namespace"], p["parentRef"]["name"]) for p in parents) == \
        sorted([(APPS, "gw-same"), (INFRA, "gw-all")])


@pytest.mark.parametrize("path, location", [
    ("/old-prefix", "http://shop.test/new-prefix"),
    ("/old-prefix/", "http://shop.test/new-prefix/"),
    ("/old-prefix/a/b", "http://shop.test/new-prefix/a/b"),
])
def test_HTTPRouteRedirectPath_prefix_boundaries(twin, make_router, path, location):
    view = _plain_view(make_router, twin, [
        rule(matches=[prefix("/old-prefix")],
             filters=[redirect(path={"type": "ReplacePrefixMatch",
                                     "replacePrefixMatch": "/new-prefix"})])])
    assert view.route("GET", path, host="shop.test").location == location


# digest 5.3: ReplacePrefixMatch table (match /foo)
@pytest.mark.parametrize("match, replacement, request_path, upstream", [
    ("/foo", "/xyz", "/foo/bar", "/xyz/bar"),
    ("/foo", "/xyz/", "/foo/bar", "/xyz/bar"),
    ("/foo", "/xyz", "/foo", "/xyz"),
    ("/foo", "/", "/foo", "/"),
    ("/foo", "/xyz", "/foo/", "/xyz/"),
    ("/foo", "/", "/foo/", "/"),
    ("/foo/", "/xyz", "/foo/bar", "/xyz/bar"),
    ("/foo/", "/xyz", "/foo", "/xyz"),
])
def test_HTTPRouteRewritePath_prefix_table(twin, make_router, match, replacement, request_path,
                                           upstream):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), matches=[prefix(match)],
             filters=[rewrite(path={"type": "ReplacePrefixMatch",
                                    "replacePrefixMatch": replacement})])])
    d = view.route("GET", request_path)
    assert (name_of(d), d.upstream_path) == ("svc-a", upstream)


def test_HTTPRouteRequestHeaderModifier_repeated_request_header(twin, make_router):
    view = _plain_view(make_router, twin, _modifier_rules("RequestHeaderModifier"))
    given = [("X-Header-Set", "a"), ("x-header-set", "b")]
    got = folded(view.route("GET", "/set", given).apply_request_headers(given))
    assert got["x-header-set"] == "set-overwrites-values"      # set replaces every value
    given = [("X-Header-Remove", "a"), ("x-header-remove", "b")]
    got = folded(view.route("GET", "/remove", given).apply_request_headers(given))
    assert "x-header-remove" not in got


def test_HTTPRouteRequestMirror_unresolved_mirror_is_dropped(twin, make_router):
    objs = [PLAIN_GW, service("svc-a", APPS),
            httproute("m", [gw_ref("plain", APPS)], [
                rule(be("svc-a"), matches=[prefix("/missing")], filters=[mirror(be("ghost"))]),
                rule(be("svc-a"), matches=[prefix("/foreign")],
                     filters=[mirror(be("ledger", ns=OTHER))])])]
    router = make_router(objs, twin)
    view = router.gateway("plain", APPS, 80)
    for path in ("/missing", "/foreign"):
        d = view.route("GET", path)
        assert (d.status, name_of(d), d.mirrors) == (None, "svc-a", ()), path
    assert conditions(router, "m")["ResolvedRefs"][0] == "False"


def test_HTTPRouteRequestMirror_cross_namespace_with_grant(twin, make_router):
    objs = [PLAIN_GW, grant("ok", OTHER, from_ns=APPS),
            httproute("m", [gw_ref("plain", APPS)],
                      [rule(be("svc-a"), filters=[mirror(be("ledger", ns=OTHER))])])]
    router = make_router(objs, twin)
    d = router.gateway("plain", APPS, 80).route("GET", "/")
    assert _mirror_targets(d) == [(OTHER, "ledger", 100.0)]
    assert conditions(router, "m")["ResolvedRefs"] == ("True", "ResolvedRefs")


@pytest.mark.parametrize("value, seconds", [
    ("1s", 1.0), ("250ms", 0.25), ("2m", 120.0), ("1h", 3600.0), ("1h30m", 5400.0),
    ("1m30s500ms", 90.5),
])
def test_HTTPRouteTimeoutRequest_durations(twin, make_router, value, seconds):
    view = _plain_view(make_router, twin, [
        rule(be("svc-a"), timeouts={"request": value, "backendRequest": "100ms"})])
    d = view.route("GET", "/")
    assert d.timeouts.request == pytest.approx(seconds)
    assert d.timeouts.backend_request == pytest.approx(0.1)


def test_MeshConsumerRoute_other_client_namespaces_unaffected(twin, make_router):
    objs = MESH_SERVICES + [
        httproute("client-side", [svc_ref("echo-v1", MESH)], [rule(be("echo-v2", 80, ns=MESH))],
                  ns=CONSUMER),
        httproute("producer", [svc_ref("echo-v1")], [rule(be("echo", 80))], ns=MESH)]
    router = make_router(objs, twin)
    assert name_of(router.service("echo-v1", MESH, 80, client_namespace=CONSUMER)
                   .route("GET", "/")) == "echo-v2"
    for client in (MESH, "somewhere-else", None):
        d = router.service("echo-v1", MESH, 80, client_namespace=client).route("GET", "/")
        assert (name_of(d), d.route) == ("echo", f"{MESH}/producer"), client


def test_MeshHTTPRouteRedirectHostAndStatus_service_port(twin, make_router):
    # no listener in a mesh: the Service port is the redirect's port (README choice)
    objs = MESH_SERVICES + [httproute("redir", [svc_ref("echo", port=8080)], [
        rule(filters=[redirect(hostname="moved.example.test")])], ns=MESH)]
    d = make_router(objs, twin).service("echo", MESH, 8080).route("GET", "/x", host="echo")
    assert (d.status, d.location) == (302, "http://moved.example.test:8080/x")


def _listener_conds(router, gw_name, ns=INFRA):
    return {l["name"]: {c["type"]: (c["status"], c["reason"]) for c in l["conditions"]}
            for l in router.status("Gateway", ns, gw_name)["listeners"]}


def test_GatewayWithAttachedRoutes_listener_conditions(twin, make_router):
    objs = [gateway("one", listener("web", from_="Selector", selector=SELECT_OWN_NS,
                                    kinds=["HTTPRoute"])),
            httproute("r1", [gw_ref("one")], [rule(be("svc-a"))], ns=INFRA)]
    c = _listener_conds(make_router(objs, twin), "one")["web"]
    assert c["Accepted"][0] == "True" and c["ResolvedRefs"][0] == "True"


@pytest.mark.parametrize("kinds, supported", [
    (["NotARoute"], []),
    (["NotARoute", "HTTPRoute"], [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]),
])
def test_GatewayInvalidRouteKind(twin, make_router, kinds, supported):
    # (companion of HTTPRouteDisallowedKind) an unknown route kind in allowedRoutes.kinds:
    # listener ResolvedRefs=False/InvalidRouteKinds, only known kinds listed as supported
    router = make_router([gateway("kinds", listener("web", kinds=kinds))], twin)
    lis = router.status("Gateway", INFRA, "kinds")["listeners"][0]
    assert lis["supportedKinds"] == supported
    assert lis["attachedRoutes"] == 0
    assert _listener_conds(router, "kinds")["web"]["ResolvedRefs"] == ("False", "InvalidRouteKinds")


def test_HTTPRouteMatchingAcrossRoutes_hostname_specificity_first(twin, make_router):
    objs = [PLAIN_GW,
            httproute("wild", [gw_ref("plain", APPS)],
                      [rule(be("svc-a"), matches=[prefix("/long/specific/path")])],
                      hostnames=["*.shop.test"]),
            httproute("precise", [gw_ref("plain", APPS)],
                      [rule(be("svc-b"), matches=[prefix("/")])], hostnames=["a.shop.test"]),
            httproute("precise-narrow", [gw_ref("plain", APPS)],
                      [rule(be("svc-c"), matches=[prefix("/only")])], hostnames=["b.shop.test"])]
    view = make_router(objs, twin).gateway("plain", APPS, 80)
    # a matching precise hostname outranks a longer path under a wildcard hostname
    assert outcome(view.route("GET", "/long/specific/path", host="a.shop.test")) == "svc-b"
    assert outcome(view.route("GET", "/long/specific/path", host="c.shop.test")) == "svc-a"
    # precise route without a matching rule: falls back to the wildcard (README choice)
    assert outcome(view.route("GET", "/long/specific/path", host="b.shop.test")) == "svc-a"
    assert outcome(view.route("GET", "/only", host="b.shop.test")) == "svc-c"
