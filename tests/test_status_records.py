"""Status records made on demand (routecore._compile.attach, issue 15 item 5: memory).

``Attachments.of_route`` makes a route's records at each call from the listener records; which
listeners of a Gateway take a route is read from ``_taken_by``: per listener the ids of its routes
in a sorted array and their hostnames beside them (a bisection, not a dict per route);
``route_status`` finds the route by one lookup (``Attachments.route``), not by a scan. These tests
pin that the records say exactly what the listener records (the tables' own answer) say, for
routes taken by several listeners, by some, by none, among many routes.
"""
import pytest

import routecore
from routecore._compile.attach import AttachedListener

from builders import APPS, INFRA, be, gateway, gw_ref, httproute, listener, prefix, rule

LISTENERS = [listener("a", 80, from_="All", hostname="a.example.com"),
             listener("w", 80, from_="All", hostname="*.example.com"),
             listener("o", 8080, from_="All", hostname="other.org"),
             listener("any", 9090, from_="All")]
# hostnames of the routes, cycled: taken by a, w and any; by w and any; by o and any; by any
# alone (no listener with a hostname intersects it); by every listener (no hostname)
HOSTS = [["a.example.com", "x.example.com"], ["x.example.com"], ["other.org"], ["z.net"], None]


def _router(n=60):
    objs = [gateway("gw", *LISTENERS)] + [
        httproute(f"r{i}", [gw_ref("gw")], [rule(be("b"), matches=[prefix(f"/p{i}")])],
                  hostnames=HOSTS[i % len(HOSTS)]) for i in range(n)]
    return routecore.Router(routecore.load(objs), seed=1, native=False)


def _expected(att, route):
    """The listeners that take ``route`` and its hostnames there, from the listener records."""
    gw = att.gateway(INFRA, "gw")
    return tuple(AttachedListener(lis.key, tuple(hosts))
                 for lis in att.gateway_listeners(gw).listeners
                 for r, hosts in att.listener_routes(gw, lis) if r is route)


def test_each_record_names_exactly_the_listeners_that_take_the_route():
    att = _router().attachments
    seen = set()
    for route in att.config.routes:
        [rec] = att.of_route("HTTPRoute", APPS, route.name)
        assert rec.route is route and rec.accepted
        assert rec.listeners == _expected(att, route)
        seen.add(tuple(l.name for l in rec.listeners))
    # every shape above occurs: several listeners, some, one, all
    assert seen == {("a", "w", "any"), ("w", "any"), ("o", "any"), ("any",), ("a", "w", "o", "any")}


def test_a_parent_ref_names_only_its_section():
    objs = [gateway("gw", *LISTENERS),
            httproute("r", [gw_ref("gw", section="w")], [rule(be("b"))], hostnames=HOSTS[0]),
            httproute("s", [gw_ref("gw", section="o")], [rule(be("b"))], hostnames=HOSTS[0])]
    att = routecore.Router(routecore.load(objs), seed=1, native=False).attachments
    [rec] = att.of_route("HTTPRoute", APPS, "r")
    assert rec.listeners == (AttachedListener("w", ("a.example.com", "x.example.com")),)
    [rec] = att.of_route("HTTPRoute", APPS, "s")  # listener o takes no hostname of s
    assert (rec.accepted, rec.reason) == (False, "NoMatchingListenerHostname")


def test_records_are_made_again_equal_and_status_finds_each_route():
    router = _router(20)
    att = router.attachments
    first = att.of_route("HTTPRoute", APPS, "r7")
    assert att.of_route("HTTPRoute", APPS, "r7") == first  # equal, made at each call
    assert att.of_route("HTTPRoute", APPS, "nope") == []
    for i in range(20):
        [parent] = router.status("HTTPRoute", APPS, f"r{i}")["parents"]
        assert parent["conditions"][0]["reason"] == "Accepted"
    with pytest.raises(LookupError):
        router.status("HTTPRoute", APPS, "nope")
    with pytest.raises(LookupError):
        router.status("GRPCRoute", APPS, "r1")  # the kind is part of the key


def _pairs(att, listener_key):
    gw = att.gateway(INFRA, "gw")
    [lis] = [l for l in att.gateway_listeners(gw).listeners if l.key == listener_key]
    return [(r.name, hosts) for r, hosts in att.listener_routes(gw, lis)]


def test_listener_records_patched_by_updates_answer_as_a_full_load():
    """A listener keeps its routes and {hostnames: effective hostnames}, patched by each
    update of routes alone; a stream of updates, each giving r0 a hostname never seen, reads
    as a full load of the final objects and keeps that map bounded (values of routes gone are
    dropped past twice the routes plus 64)."""
    base = [gateway("gw", *LISTENERS)] + [
        httproute(f"r{i}", [gw_ref("gw")], [rule(be("b"), matches=[prefix(f"/p{i}")])],
                  hostnames=HOSTS[i % len(HOSTS)]) for i in range(1, 6)]
    router = routecore.Router(routecore.load(base), seed=1, native=False)
    router.gateway("gw", INFRA, 80)
    sizes = []
    for k in range(100):
        host = f"h{k}.example.com"
        r0 = httproute("r0", [gw_ref("gw")], [rule(be("b"), matches=[prefix("/p0")])],
                       hostnames=[host])
        router.update([r0])
        view = router.gateway("gw", INFRA, 80)
        assert view.route("GET", "/p0", host=host).matched
        assert not view.route("GET", "/p0", host=f"h{k - 1}.example.com").matched
        att = router.attachments
        fresh = routecore.Router(routecore.load(base + [r0]), seed=1, native=False).attachments
        for key in ("a", "w", "o", "any"):
            assert _pairs(att, key) == _pairs(fresh, key)
        assert att.of_route("HTTPRoute", APPS, "r0") == fresh.of_route("HTTPRoute", APPS, "r0")
        sizes.append(len(att._listener_routes[(INFRA, "gw", "w")][1]))  # (its hostnames map)
    assert max(sizes) <= 2 * 6 + 64 + 1
