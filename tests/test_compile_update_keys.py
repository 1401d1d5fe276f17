"""A Gateway build keeps no record per route: an update finds a removed route's entries by their
sort keys (routecore._compile.views.route_sort_keys), the listener's routes being its attachment
records' (issue 15 item 5: ~140 bytes per rule at 100,000 routes).

Pins: ``route_sort_keys`` gives the sort_key of every entry ``Builder.entries`` makes, in order,
for every kind of match, of HTTPRoutes and GRPCRoutes, with rules dropped by ``strict=False`` and
creation timestamps, under both regex precedences; an update that removes or re-enters such
routes leaves the same host groups as a full build and answers as one; a route key held twice in
one host group (a Config added up from several) makes the update build whole, and it answers as
a full load does.
"""
import pytest

import routecore
from routecore import Router
from routecore._compile.table import (EXACT, NO_CONDS, PATH_TYPES, CompileCache, Entry,
                                      grpc_path_match)
from routecore._compile.views import GatewayBuild, route_sort_keys

from builders import (INFRA, be, exact, gateway, gw_ref, hdr, httproute, listener, prefix, qp,
                      rule)

GRPC_API = "gateway.networking.k8s.io/v1"


def grpcroute(name, matches, *, hostnames=None, created=None):
    meta = {"name": name, "namespace": "storefront"}
    if created is not None:
        meta["creationTimestamp"] = created
    spec = {"parentRefs": [gw_ref("edge")],
            "rules": [{"matches": [m], "backendRefs": [be("g")]} for m in matches]
            + [{"backendRefs": [be("g2")]}]}  # (a rule without matches: match-all)
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": GRPC_API, "kind": "GRPCRoute", "metadata": meta, "spec": spec}


def _objects(variant=0):
    regex = {"path": {"type": "RegularExpression", "value": "/re/[0-9]+"}}
    routes = [
        # rule 0 dropped by strict=False (a path without "/"): rule indexes (1, 2)
        httproute("mixed", [gw_ref("edge")], [
            rule(be("a"), matches=[exact("bad")]),
            rule(be("b"), matches=[prefix("/x/", method="GET"), exact("/x/e"), regex]),
            rule(be("c", weight=1), be("d", weight=variant + 1),
                 matches=[prefix("/y", headers=[hdr("x-v", "1")], queryParams=[qp("q", "2")])])],
            hostnames=["a.example.com", "*.w.example.com"], created="2024-01-02T00:00:00Z"),
        httproute("plain", [gw_ref("edge")], [rule(be("p"), matches=[prefix("/")])]),
        grpcroute("rpc", [{"method": {"service": "pkg.S", "method": "M"}},
                          {"method": {"service": "pkg.S"}},
                          {"method": {"method": "M"}},
                          {"method": {"type": "RegularExpression", "service": "p.*", "method": "M.*"}}],
                  hostnames=["rpc.example.com"], created="2023-05-01T00:00:00Z"),
    ]
    return [gateway("edge", listener("web", from_="All"))] + routes


@pytest.mark.parametrize("precedence", ["after-prefix", "before-prefix"])
def test_route_sort_keys_are_the_keys_of_the_entries(precedence):
    config = routecore.load(_objects(), strict=False)
    router = Router(config, native=False, regex_precedence=precedence, seed=1)
    build = GatewayBuild.full(router.attachments, router.options, CompileCache(), INFRA, "edge", 80)
    b = build.builder.carry(router.attachments, CompileCache())
    (lis,) = [lb.listener for lb in build.listeners]
    assert config.routes[0].rule_indexes == (1, 2)
    for route in config.routes:
        made = b.entries(route, lis.key, lis.port, "http")
        keys = route_sort_keys(route, precedence == "before-prefix")
        assert made and keys == [e.sort_key for e in made]
        # and a route's entries are in the host groups under those keys
        for group in build.spec().listeners[0].groups:
            held = {e.sort_key for e in group.entries}
            assert all(k in held for k in keys) or not any(k in held for k in keys)


def _groups(view):
    return [(g.hostname, [e.sort_key for e in g.entries]) for lis in view.spec.listeners
            for g in lis.groups]


REQUESTS = [("GET", "/x/1", "a.example.com", []), ("GET", "/x/e", "b.w.example.com", []),
            ("GET", "/re/12", "a.example.com", []), ("GET", "/y?q=2", "a.example.com", [("x-v", "1")]),
            ("POST", "/pkg.S/M", "rpc.example.com", [("content-type", "application/grpc")]),
            ("POST", "/pkg.S/N", "rpc.example.com", [("content-type", "application/grpc")]),
            ("GET", "/other", "z.example.com", [])]


def _answers(view):
    out = []
    for method, target, host, headers in REQUESTS:
        d = view.route(method, target, headers, host=host)
        out.append((d.status, d.route, d.rule, d.backend))
    return out


@pytest.mark.parametrize("native", [False, True])
def test_updates_find_removed_entries_by_their_keys(native):
    if native and routecore._match.NativeTable is None:
        pytest.skip("no native extension")
    router = Router(routecore.load(_objects(), strict=False), native=native, seed=1)
    view = router.gateway("edge", INFRA)
    before = _groups(view)
    objs = _objects(variant=3)
    # the mixed route changed (its entries go, new ones come), the gRPC route removed, then
    # both back as they were
    router.update(changed=[objs[1]], removed=[("GRPCRoute", "storefront", "rpc")])
    assert router._builds[("gateway", INFRA, "edge", 80)].patch is not None  # (an update's)
    fresh = Router(routecore.load(objs[:3], strict=False), native=native, seed=1)
    assert _groups(router.gateway("edge", INFRA)) == _groups(fresh.gateway("edge", INFRA))
    assert _answers(router.gateway("edge", INFRA)) == _answers(fresh.gateway("edge", INFRA))
    router.update(changed=_objects()[1:])
    assert _groups(router.gateway("edge", INFRA)) == before
    assert _answers(router.gateway("edge", INFRA)) == _answers(view)


@pytest.mark.parametrize("native", [False, True])
def test_a_route_key_held_twice_builds_whole(native):
    """Two routes of one key (a Config added up from two) on one host, same paths: their
    entries have equal sort keys. An update that takes one of them out cannot tell by key
    which entry is whose: the view is built whole and answers as a load of what is left."""
    if native and routecore._match.NativeTable is None:
        pytest.skip("no native extension")
    gw = gateway("edge", listener("web", from_="All"))
    first = httproute("twin", [gw_ref("edge")], [rule(be("one"), matches=[prefix("/t")])])
    second = httproute("twin", [gw_ref("edge")], [rule(be("two"), matches=[prefix("/t")])])
    config = routecore.load([gw, first]) + routecore.load([second])
    router = Router(config, native=native, seed=1)
    assert router.gateway("edge", INFRA).route("GET", "/t", host="h").backend.name == "one"
    router.update(changed=[first])  # (the equal model stays; the other of its key goes)
    assert len(router.config.routes) == 1
    assert router._builds[("gateway", INFRA, "edge", 80)].patch is None  # (built whole)
    assert router.gateway("edge", INFRA).route("GET", "/t", host="h").backend.name == "one"
    fresh = Router(routecore.load([gw, first]), native=native, seed=1)
    assert _groups(router.gateway("edge", INFRA)) == _groups(fresh.gateway("edge", INFRA))


@pytest.mark.parametrize("precedence", ["after-prefix", "before-prefix"])
def test_an_entry_is_ten_items_its_path_type_and_conditions_read_from_them(precedence):
    """No path type item (the rank's class and the regex say it) and one shared (headers,
    queries) pair: ten items, a 128-byte block (eleven or twelve are 144)."""
    regex_first = precedence == "before-prefix"
    config = routecore.load(_objects(), strict=False)
    router = Router(config, native=False, regex_precedence=precedence, seed=1)
    build = GatewayBuild.full(router.attachments, router.options, CompileCache(), INFRA, "edge", 80)
    b = build.builder.carry(router.attachments, CompileCache())
    lis = build.listeners[0].listener
    assert len(Entry._fields) == 10
    seen = set()
    for route in config.routes:
        matches = [m for rule in route.rules for m in rule.matches]
        for e, m in zip(b.entries(route, lis.key, lis.port, "http"), matches):
            if route.kind == "GRPCRoute":
                want = grpc_path_match(m.method, regex_first)[0]
                queries = ()
            else:
                want = PATH_TYPES[m.path.type]
                queries = tuple((c.name, c.value) for c in m.query_params)
            seen.add(want)
            assert e.path_type == want and (e.regex is not None) == (want == 2)
            assert [(c.name, c.value) for c in e.headers] == [(c.name.lower(), c.value) for c in m.headers]
            assert tuple((c.name, c.value) for c in e.queries) == queries
            assert e.conds == (e.headers, e.queries)
            if not m.headers and not (route.kind == "HTTPRoute" and m.query_params):
                assert e.conds is NO_CONDS
    assert seen == {0, 1, 2}
    # equal conditions: one pair
    again = b.entries(config.routes[0], lis.key, lis.port, "http")
    first = b.entries(config.routes[0], lis.key, lis.port, "http")
    assert all(x.conds is y.conds for x, y in zip(again, first))
    assert EXACT == 0
