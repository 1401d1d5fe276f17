"""What a compile shares between routes by value stays per route.

routecore._compile answers some questions once per distinct value and hands the same object to
every route with that value: a listener's effective hostnames per ``hostnames`` value, and the
backend resolution of a route (a tuple of shared RuleBackends) per equal resolution. These tests
pin that the sharing happens and that an update of one of the routes sharing an object leaves the
others' answers as they were, equal to a full load of the final objects.
"""
import routecore
from routecore import Router

from builders import INFRA, OTHER, be, gateway, gw_ref, httproute, listener, prefix, rule

HOST = "x.example.com"


def _route(name, backend, path, hostnames=(HOST,)):
    return httproute(name, [gw_ref("edge")], [rule(backend, matches=[prefix(path)])],
                     hostnames=list(hostnames))


def _objects(b_route):
    return [gateway("edge", listener("web", from_="All")), _route("a", be("s1"), "/a"), b_route]


def _answers(view, host=HOST):
    return [view.route("GET", path, [], host=host).to_dict() for path in ("/a/x", "/b/x", "/c")]


def test_equal_values_are_shared_between_routes(twin):
    router = Router(routecore.load(_objects(_route("b", be("s1"), "/b"))), native=twin, seed=1)
    router.gateway("edge", namespace=INFRA)
    att = router.attachments
    ra, rb = att.config.routes
    assert att.rule_backends(ra, False) is att.rule_backends(rb, False)
    gw = att.gateway(INFRA, "edge")
    (lis,) = att.gateway_listeners(gw).listeners
    (_, hosts_a), (_, hosts_b) = att.listener_routes(gw, lis)
    assert hosts_a is hosts_b and tuple(hosts_a) == (HOST,)


def test_an_update_of_one_sharing_route_leaves_the_others(twin):
    """Route b shares route a's hostnames and resolution; b then sends to another namespace
    without a ReferenceGrant (500), then moves to another hostname: a answers as before each
    time, and every answer is a full load's."""
    router = Router(routecore.load(_objects(_route("b", be("s1"), "/b"))), native=twin, seed=1)
    view = router.gateway("edge", namespace=INFRA)
    before = _answers(view)
    assert before[0]["backend"]["name"] == before[1]["backend"]["name"] == "s1"
    for b_route in (_route("b", be("s1", ns=OTHER), "/b"),
                    _route("b", be("s1", ns=OTHER), "/b", hostnames=("y.example.com",))):
        router.update([b_route])
        view = router.gateway("edge", namespace=INFRA)
        fresh = Router(routecore.load(_objects(b_route)), native=twin, seed=1).gateway(
            "edge", namespace=INFRA)
        assert _answers(view) == _answers(fresh)
        assert _answers(view, "y.example.com") == _answers(fresh, "y.example.com")
        assert _answers(view)[0] == before[0]  # route a: as before the updates
        att = router.attachments
        ra, rb = att.config.routes
        assert att.rule_backends(ra, False)[0].problems == (None,)
        assert att.rule_backends(rb, False)[0].problems == ("RefNotPermitted",)
    assert _answers(view)[1]["status"] == 404  # b left x.example.com
    assert _answers(view, "y.example.com")[1]["status"] == 500
