"""routecore._compile.attach: one record per (route, parentRef), read by the tables and by status."""
import pytest

import routecore
from routecore import _match
from routecore._compile.attach import Attachments, RuleBackends

from builders import (APPS, INFRA, MESH, OTHER, be, exact, gateway, grant, gw_ref, httproute,
                      listener, prefix, rule, service, svc_ref)

TWINS = [False] + ([True] if _match.NativeTable is not None else [])


def records(objs, name, ns=APPS, strict=True):
    router = routecore.Router(routecore.load(objs, strict=strict), seed=1, native=False)
    return router, router.attachments.of_route("HTTPRoute", ns, name)


def test_accepted_record_names_its_listeners_and_hostnames():
    objs = [gateway("gw", listener("web", 80, from_="All", hostname="*.example.com"),
                    listener("admin", 8080, from_="All", hostname="admin.example.com")),
            httproute("r", [gw_ref("gw")], [rule(be("a"))], hostnames=["shop.example.com"])]
    _, [rec] = records(objs, "r")
    assert (rec.accepted, rec.reason, rec.message) == (True, "Accepted", "Route is accepted")
    # admin.example.com does not intersect shop.example.com: only "web" takes the route
    assert [(l.name, l.hostnames) for l in rec.listeners] == [("web", ("shop.example.com",))]
    assert rec.service_ports == () and rec.dropped_rules == () and not rec.mesh
    assert rec.rules == (RuleBackends(0, (None,), ()),)


def test_refused_by_listener_namespace():
    objs = [gateway("gw", listener("web", 80, from_="Same")),
            httproute("r", [gw_ref("gw")], [rule(be("a"))])]
    router, [rec] = records(objs, "r")
    assert (rec.accepted, rec.reason) == (False, "NotAllowedByListeners")
    assert rec.message == "no listener allows this route's namespace or kind"
    assert rec.listeners == ()
    # the table agrees: the listener routes nothing
    assert router.gateway("gw", INFRA, 80).route("GET", "/", host="h").status == 404
    assert router.status("HTTPRoute", APPS, "r")["parents"][0]["conditions"][0]["reason"] == \
        "NotAllowedByListeners"


def test_refused_by_hostname():
    objs = [gateway("gw", listener("web", 80, from_="All", hostname="*.example.com")),
            httproute("r", [gw_ref("gw")], [rule(be("a"))], hostnames=["shop.example.org"])]
    _, [rec] = records(objs, "r")
    assert (rec.accepted, rec.reason, rec.message) == (
        False, "NoMatchingListenerHostname", "no route hostname intersects a listener hostname")
    assert rec.listeners == ()


def test_refused_parent_not_found():
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gw"), gw_ref("nope")], [rule(be("a"))])]
    _, [ok, missing] = records(objs, "r")
    assert ok.accepted and [l.name for l in ok.listeners] == ["web"]
    assert (missing.accepted, missing.reason, missing.message) == (
        False, "NoMatchingParent", f"Gateway {INFRA}/nope not found")


@pytest.mark.parametrize("native", TWINS)
def test_cross_namespace_backend_without_grant(native):
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gw")], [rule(be("mine"), be("theirs", ns=OTHER))]),
            service("mine", APPS), service("theirs", OTHER)]
    router = routecore.Router(routecore.load(objs), seed=1, native=native)
    [rec] = router.attachments.of_route("HTTPRoute", APPS, "r")
    assert rec.accepted
    assert rec.rules == (RuleBackends(0, (None, "RefNotPermitted"), ()),)
    assert [(b.name, why) for b, why in rec.backend_problems] == [("theirs", "RefNotPermitted")]
    # routing: the share of the unresolved backend gets 500, the other is forwarded
    view = router.gateway("gw", INFRA, 80)
    seen = {(d.status, d.backend.name if d.backend else None)
            for d in (view.route("GET", "/", host="h") for _ in range(200))}
    assert seen == {(None, "mine"), (500, None)}
    # status: ResolvedRefs False with that reason
    conds = {c["type"]: c for c in router.status("HTTPRoute", APPS, "r")["parents"][0]["conditions"]}
    assert (conds["ResolvedRefs"]["status"], conds["ResolvedRefs"]["reason"]) == \
        ("False", "RefNotPermitted")


def test_a_grant_resolves_it_and_a_mesh_parent_needs_none():
    objs = [gateway("gw", listener("web", 80, from_="All")), service("svc", MESH),
            httproute("r", [gw_ref("gw"), svc_ref("svc", MESH)], [rule(be("theirs", ns=OTHER))]),
            service("theirs", OTHER)]
    _, [gw_rec, mesh_rec] = records(objs, "r")
    assert gw_rec.rules[0].problems == ("RefNotPermitted",)
    assert mesh_rec.mesh and mesh_rec.rules[0].problems == (None,)
    assert mesh_rec.service_ports == (8080,)
    _, [gw_rec, _] = records(objs + [grant("g", OTHER, from_ns=APPS)], "r")
    assert gw_rec.rules[0].problems == (None,)


def test_mirror_targets_are_resolved_per_rule():
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gw")], [rule(be("a")), rule(be("b"), filters=[
                {"type": "RequestMirror", "requestMirror": {"backendRef": {
                    "name": "m", "namespace": OTHER, "port": 80}}}])])]
    _, [rec] = records(objs, "r")
    assert rec.rules == (RuleBackends(0, (None,), ()), RuleBackends(1, (None,), ("RefNotPermitted",)))
    assert [(b.name, why) for b, why in rec.backend_problems] == [("m", "RefNotPermitted")]


@pytest.mark.parametrize("native", TWINS)
def test_invalid_rule_dropped_by_index(native):
    bad = rule(be("b"), matches=[{"path": {"type": "PathPrefix", "value": "no-slash"}}])
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gw")],
                      [rule(be("a"), matches=[exact("/a")]), bad,
                       rule(be("c"), matches=[prefix("/c")]), bad])]
    router = routecore.Router(routecore.load(objs, strict=False), seed=1, native=native)
    [rec] = router.attachments.of_route("HTTPRoute", APPS, "r")
    assert rec.accepted and rec.dropped_rules == (1, 3)
    assert [r.rule for r in rec.rules] == [0, 2]  # the kept rules keep their indexes
    assert [i.path for i in rec.issues] == ["spec.rules[1].matches[0].path.value",
                                            "spec.rules[3].matches[0].path.value"]
    d = router.gateway("gw", INFRA, 80).route("GET", "/c/x", host="h")
    assert (d.backend.name, d.rule) == ("c", 2)
    partially = [c for c in router.status("HTTPRoute", APPS, "r")["parents"][0]["conditions"]
                 if c["type"] == "PartiallyInvalid"]
    assert partially and partially[0]["message"].startswith("Dropped Rule(s): ")


def test_dropped_rules_are_the_routes_own():
    """A route kept whole has no dropped rule, even when a duplicate of it (left out) has an invalid
    rule: the records read the integers load recorded for the route it kept, not issue paths."""
    bad = rule(be("b"), matches=[{"path": {"type": "PathPrefix", "value": "no-slash"}}])
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gw")], [rule(be("a"))]),
            httproute("r", [gw_ref("gw")], [rule(be("a")), bad])]
    router, [rec] = records(objs, "r", strict=False)
    assert [r.rule_indexes for r in router.config.routes] == [(0,)]
    assert rec.dropped_rules == ()
    assert "spec.rules[1].matches[0].path.value" in [i.path for i in rec.issues]


def test_one_route_kind_per_service_port():
    grpc = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
            "metadata": {"name": "g", "namespace": MESH},
            "spec": {"parentRefs": [svc_ref("svc", MESH, port=80)],
                     "rules": [{"backendRefs": [{"name": "grpc-be", "port": 80}]}]}}
    objs = [service("svc", MESH, 80, 81), grpc,
            httproute("h", [svc_ref("svc", MESH)], [rule(be("http-be"))], ns=MESH)]
    router, [rec] = records(objs, "h", ns=MESH)
    # the GRPCRoute takes port 80; the HTTPRoute keeps port 81: accepted, on 81 only
    assert rec.accepted and rec.service_ports == (81,)
    assert router.attachments.service_routes(MESH, "svc", 80, "p80", None)[0].name == "g"
    assert [r.name for r in router.attachments.service_routes(MESH, "svc", 81, "p81", None)] == ["h"]
    objs[2] = httproute("h", [svc_ref("svc", MESH, port=80)], [rule(be("http-be"))], ns=MESH)
    _, [rec] = records(objs, "h", ns=MESH)
    assert (rec.accepted, rec.reason) == (False, "NotAllowedByListeners")
    assert rec.message.startswith(f"GRPCRoute {MESH}/g is attached to the same Service port(s)")


def test_records_are_resolved_once_per_router():
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gw")], [rule(be("a"))])]
    router = routecore.Router(routecore.load(objs), seed=1, native=False)
    att = router.attachments
    assert isinstance(att, Attachments) and router.attachments is att
    router.gateway("gw", INFRA, 80)
    router.status("HTTPRoute", APPS, "r")
    assert router.attachments is att and att.records is att.records
    router.reload(objs)  # a new configuration: new records
    assert router.attachments is not att
