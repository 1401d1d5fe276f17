"""Router.update (incremental changes) answers exactly as a Router loaded from the same final objects.

The differential property: from a random starting set of objects, apply a random sequence of
adds, modifications and deletions of Gateways, routes, Services, ReferenceGrants and Namespaces
through ``Router.update`` (with the views in use, so that updates reuse what they can); then
every decision of every view on a fixed set of requests, and the status of every route and
Gateway, equal those of a Router built by a full load of the final objects. The unit tests below
pin what is reused and that only the changed objects are parsed.
"""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import routecore
from routecore import ConfigError, Router, _match
from routecore._config import parse as parse_module

from builders import (APPS, INFRA, OTHER, MESH, be, exact, gateway, grant, gw_ref, httproute,
                      listener, namespace, prefix, rule, service, svc_ref)

GRPC_API = "gateway.networking.k8s.io/v1"


def grpcroute(name, parents, *, ns=APPS, hostnames=None, backend="s1"):
    spec = {"parentRefs": parents,
            "rules": [{"matches": [{"method": {"service": "pkg.Svc"}}],
                       "backendRefs": [{"name": backend, "port": 8080}]}]}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": GRPC_API, "kind": "GRPCRoute", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def allowing_sets(gw):
    """The Gateway taking the ListenerSets of every namespace."""
    return {**gw, "spec": {**gw["spec"], "allowedListeners": {"namespaces": {"from": "All"}}}}


def listener_set(port, hostname=None):
    entry = {"name": "extra", "port": port, "protocol": "HTTP",
             "allowedRoutes": {"namespaces": {"from": "All"}}}
    if hostname:
        entry["hostname"] = hostname
    return {"apiVersion": GRPC_API, "kind": "ListenerSet", "metadata": {"name": "ls", "namespace": APPS},
            "spec": {"parentRef": {"name": "edge", "namespace": INFRA}, "listeners": [entry]}}


def tls_policy(target, ca=True):
    validation = {"hostname": f"{target}.internal"}
    if ca:
        validation["caCertificateRefs"] = [{"group": "", "kind": "ConfigMap", "name": "ca"}]
    else:
        validation["wellKnownCACertificates"] = "System"
    return {"apiVersion": GRPC_API, "kind": "BackendTLSPolicy", "metadata": {"name": "p", "namespace": APPS},
            "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": target}],
                     "validation": validation}}


def ca_map(text):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ca", "namespace": APPS},
            "data": {"ca.crt": text}}


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
LS_REF = {"group": "gateway.networking.k8s.io", "kind": "ListenerSet", "name": "ls", "namespace": APPS}

# every variant of every object, by key; None: the object absent
EDGE = [allowing_sets(gateway("edge", listener("web", 80, from_="All"))),
        gateway("edge", listener("web", 80, from_="Selector", selector={"team": "x"}),
                listener("api", 8080, hostname="*.example.com", from_="All")),
        allowing_sets(gateway("edge", listener("web", 80, from_="Same"), listener("api", 8080, from_="All")))]
G2 = [gateway("g2", listener("web", 80, hostname="a.example.com", from_="All"))]
PARENTS = [[gw_ref("edge")], [gw_ref("g2")], [gw_ref("edge", section="api")],
           [gw_ref("edge"), gw_ref("g2")], [svc_ref("m", MESH, port=80)],
           [gw_ref("edge"), svc_ref("m", MESH)], [LS_REF], [LS_REF, gw_ref("g2")]]
BACKENDS = [be("s1", ns=APPS), be("s2", ns=OTHER), be("gone", ns=APPS), be("m", 80, ns=MESH)]
MATCHES = [[prefix("/")], [prefix("/a")], [exact("/a/x")], [prefix("/b")], [prefix("nope")]]


def route_variants(name, ns):
    out = []
    for i, parents in enumerate(PARENTS):
        for j, backend in enumerate(BACKENDS):
            matches = MATCHES[(i + j) % len(MATCHES)]
            hosts = ["x.example.com"] if (i * 3 + j) % 4 == 0 else None
            rules = [rule(backend, matches=matches)]
            if (i + j) % 3 == 0:
                rules.append(rule(be("s1", ns=APPS), matches=[prefix("/c")]))
            out.append(httproute(name, parents, rules, ns=ns, hostnames=hosts,
                                 created="2024-01-01T00:00:00Z" if j % 2 else None))
    return out


VARIANTS = {
    ("Gateway", INFRA, "edge"): EDGE,
    ("Gateway", INFRA, "g2"): G2,
    ("Service", APPS, "s1"): [service("s1", APPS, 8080), service("s1", APPS, 9090)],
    ("Service", OTHER, "s2"): [service("s2", OTHER, 8080)],
    ("Service", MESH, "m"): [service("m", MESH, 80), service("m", MESH, ("http", 80), 81)],
    ("ReferenceGrant", OTHER, "g"): [grant("g", OTHER, from_ns=APPS)],
    ("Namespace", None, APPS): [namespace(APPS), namespace(APPS, team="x")],
    ("Namespace", None, OTHER): [namespace(OTHER, team="x")],
    ("HTTPRoute", APPS, "r0"): route_variants("r0", APPS),
    ("HTTPRoute", APPS, "r1"): route_variants("r1", APPS),
    ("HTTPRoute", OTHER, "o0"): route_variants("o0", OTHER),
    ("HTTPRoute", APPS, "c0"): route_variants("c0", APPS)[::5],
    ("GRPCRoute", APPS, "g0"): [grpcroute("g0", [gw_ref("edge")], hostnames=["x.example.com"]),
                                grpcroute("g0", [svc_ref("m", MESH, port=80)])],
    ("ListenerSet", APPS, "ls"): [listener_set(8080), listener_set(80, "x.example.com")],
    ("BackendTLSPolicy", APPS, "p"): [tls_policy("s1"), tls_policy("s1", ca=False), tls_policy("m")],
    ("ConfigMap", APPS, "ca"): [ca_map(PEM), ca_map("not a certificate")],
}
KEYS = sorted(VARIANTS, key=str)

VIEWS = [("gateway", "edge", INFRA, 80), ("gateway", "edge", INFRA, 8080),
         ("gateway", "g2", INFRA, 80),
         ("service", "m", MESH, 80, None), ("service", "m", MESH, 80, APPS),
         ("service", "m", MESH, 81, OTHER), ("service", "s1", APPS, 8080, None)]
REQUESTS = [("GET", "/", "x.example.com", ()), ("GET", "/a", "a.example.com", ()),
            ("GET", "/a/x", "b.example.com", ()), ("POST", "/b/y", "x.example.com", ()),
            ("GET", "/c", "x.example.com", ()), ("GET", "/nope", None, ()),
            ("POST", "/pkg.Svc/Do", "x.example.com", (("content-type", "application/grpc"),))]


def view_of(router, key):
    if key[0] == "gateway":
        return router.gateway(key[1], key[2], key[3])
    return router.service(key[1], key[2], key[3], client_namespace=key[4])


def answers(router, keys):
    """Every decision of every view, and every status, as plain data."""
    out = {}
    for key in VIEWS:
        try:
            view = view_of(router, key)
        except LookupError as exc:
            out[key] = ("missing", str(exc))
            continue
        out[key] = [view.route(m, p, headers, host=h).to_dict() for m, p, h, headers in REQUESTS]
    for kind, ns, name in keys:
        if kind in ("HTTPRoute", "GRPCRoute", "Gateway", "ListenerSet", "BackendTLSPolicy"):
            try:
                out[(kind, ns, name)] = router.status(kind, ns, name)
            except LookupError as exc:
                out[(kind, ns, name)] = ("missing", str(exc))
    return out


def use_views(router):
    for key in VIEWS:
        try:
            view_of(router, key)
        except LookupError:
            pass


state = st.fixed_dictionaries({k: st.sampled_from([None] + list(range(len(v))))
                               for k, v in VARIANTS.items()})
ops = st.lists(st.tuples(st.sampled_from(KEYS), st.integers(0, 40), st.booleans()),
               min_size=1, max_size=8)


def objects(chosen):
    return [VARIANTS[k][i] for k, i in sorted(chosen.items(), key=lambda kv: str(kv[0]))
            if i is not None]


TWINS = [False] + ([True] if _match.NATIVE else [])


def _counting(monkeypatch, counts):
    """Count the view tables updates make from their previous table (patched_table /
    PyTable.patched) rather than whole: the path must be exercised."""
    def wrap(real):
        def patched(old, spec, changes):
            table = real(old, spec, changes)
            counts["made"] += table is not None
            counts["whole"] = counts.get("whole", 0) + (table is None)
            return table
        return patched
    if _match.native_patched is not None:
        monkeypatch.setattr(_match, "native_patched", wrap(_match.native_patched))
    monkeypatch.setattr(_match.PyTable, "patched", wrap(_match.PyTable.patched))


@pytest.mark.parametrize("native", TWINS, ids=["pure", "native"][:len(TWINS)])
def test_updates_answer_as_a_full_load_of_the_same_objects(native, monkeypatch):
    counts = {"made": 0}
    _counting(monkeypatch, counts)
    _updates_answer_as_a_full_load(native)
    assert counts["made"] > 50  # the tables of most updates were patched, not built whole


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=state, steps=ops, batch=st.booleans())
def _updates_answer_as_a_full_load_hyp(native, start, steps, batch):
    chosen = dict(start)
    router = Router(routecore.load(objects(chosen), strict=False), seed=7, native=native)
    use_views(router)
    pending_changed, pending_removed = {}, set()
    for key, pick, use in steps:
        variants = VARIANTS[key]
        index = None if pick >= len(variants) * 2 else pick % len(variants)
        chosen[key] = index
        if index is None:
            pending_changed.pop(key, None)
            pending_removed.add(key)
        else:
            pending_removed.discard(key)
            pending_changed[key] = variants[index]
        if not batch:
            router.update(list(pending_changed.values()), list(pending_removed))
            pending_changed, pending_removed = {}, set()
            if use:
                use_views(router)
    router.update(list(pending_changed.values()), list(pending_removed))
    full = Router(routecore.load(objects(chosen), strict=False), seed=7, native=native)
    assert answers(router, KEYS) == answers(full, KEYS)


def _updates_answer_as_a_full_load(native):
    _updates_answer_as_a_full_load_hyp(native=native)


@pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")
def test_a_native_table_with_too_many_dead_entries_is_built_whole(monkeypatch):
    """patched_table leaves the replaced runs of entries dead; past MAX_DEAD (here 0) and more
    dead than live, it answers None and the view is built whole, answering the same."""
    from routecore import _match_c
    counts = {"made": 0}
    _counting(monkeypatch, counts)
    chosen = {k: 0 for k in KEYS}
    router = Router(routecore.load(objects(chosen), strict=False), seed=7, native=True)
    use_views(router)
    monkeypatch.setattr(_match_c, "MAX_DEAD", 0)
    for i in range(40):
        chosen[("HTTPRoute", APPS, "r0")] = i % 3
        router.update([VARIANTS[("HTTPRoute", APPS, "r0")][i % 3]])
        use_views(router)
    assert counts["made"] > 3 and counts["whole"] > 3  # patched, built whole, patched again...
    full = Router(routecore.load(objects(chosen), strict=False), seed=7, native=True)
    assert answers(router, KEYS) == answers(full, KEYS)


# --- what an update reuses ------------------------------------------------------------------------

def two_gateways(backend="s1"):
    return [gateway("a", listener("web", 80, from_="All")),
            gateway("b", listener("web", 80, from_="All")),
            httproute("ra", [gw_ref("a")], [rule(be(backend, ns=APPS))]),
            httproute("rb", [gw_ref("b")], [rule(be("s1", ns=APPS))])]


def test_an_update_rebuilds_only_the_views_of_the_parents_it_affects():
    router = Router(routecore.load(two_gateways()), seed=1)
    a, b = router.gateway("a", INFRA, 80), router.gateway("b", INFRA, 80)
    router.update([two_gateways("s2")[2]])
    assert router.generation == 1
    assert router.gateway("b", INFRA, 80) is b  # untouched: the very same table
    assert router.gateway("a", INFRA, 80) is not a
    assert router.gateway("a", INFRA, 80).route("GET", "/").backend.name == "s2"
    assert a.route("GET", "/").backend.name == "s1"  # a table handed out never changes


def test_an_update_that_changes_nothing_costs_nothing():
    router = Router(routecore.load(two_gateways()), seed=1)
    a = router.gateway("a", INFRA, 80)
    config = router.config
    same = dict(two_gateways()[2])
    same["metadata"] = dict(same["metadata"], resourceVersion="42")
    assert router.update([same]) is router
    assert router.generation == 0 and router.config is config and router.gateway("a", INFRA, 80) is a
    assert router.update() is router and router.generation == 0


def test_an_update_parses_only_the_changed_objects(monkeypatch):
    router = Router(routecore.load(two_gateways()), seed=1)
    seen = []
    real = parse_module.parse

    def spy(raws, strict=True):
        seen.extend(r.obj["metadata"]["name"] for r in raws)
        return real(raws, strict)
    monkeypatch.setattr("routecore._config.patch.parse", spy)
    router.update([two_gateways("s2")[2]], [("HTTPRoute", APPS, "rb")])
    assert seen == ["ra"]
    assert router.status("HTTPRoute", APPS, "ra")["parents"][0]["conditions"][0]["status"] == "True"
    with pytest.raises(LookupError):
        router.status("HTTPRoute", APPS, "rb")


def test_an_invalid_object_in_a_strict_configuration_changes_nothing():
    router = Router(routecore.load(two_gateways()), seed=1)
    bad = httproute("ra", [gw_ref("a")], [rule(be("s1", ns=APPS), matches=[prefix("nope")])])
    with pytest.raises(ConfigError) as info:
        router.update([bad])
    assert "HTTPRoute storefront/ra" in str(info.value) and "spec.rules[0]" in str(info.value)
    assert router.generation == 0
    assert router.gateway("a", INFRA, 80).route("GET", "/x").backend.name == "s1"


def test_the_regex_cache_carried_by_updates_stays_bounded(monkeypatch):
    """Every update carries the compile cache to the next Router; a stream of updates each with
    a new regex pattern must not grow it forever (past the bound it starts anew), and every
    view still answers with its own patterns."""
    from routecore._compile import table as table_module
    monkeypatch.setattr(table_module, "MAX_REGEXES", 8, raising=False)
    router = Router(routecore.load(two_gateways()), seed=1)
    router.gateway("a", INFRA, 80)
    sizes = []
    for i in range(60):
        regex_rule = rule(be("s1", ns=APPS), matches=[{"path": {"type": "RegularExpression",
                                                                 "value": f"/r{i}/[a-z]+"}}])
        router.update([httproute("ra", [gw_ref("a")], [regex_rule])])
        view = router.gateway("a", INFRA, 80)
        assert view.route("GET", f"/r{i}/x").matched and not view.route("GET", f"/r{i - 1}/x").matched
        sizes.append(len(router._cache._regexes))
    assert max(sizes) <= 8 + 1 and sizes[-1] >= 1


@pytest.mark.parametrize("native", TWINS, ids=["pure", "native"][:len(TWINS)])
def test_updates_through_listener_sets_and_backend_tls(native):
    """The kinds that once rebuilt everything, in fixed sequences: a route attached through a
    ListenerSet, then a ConfigMap and a BackendTLSPolicy its backend's TLS depends on, change;
    each step answers as a full load."""
    chosen = {k: None for k in KEYS}
    chosen.update({("Gateway", INFRA, "edge"): 0, ("Gateway", INFRA, "g2"): 0,
                   ("Service", APPS, "s1"): 0, ("ListenerSet", APPS, "ls"): 0,
                   ("BackendTLSPolicy", APPS, "p"): 0, ("ConfigMap", APPS, "ca"): 0,
                   ("HTTPRoute", APPS, "r1"): 0})
    router = Router(routecore.load(objects(chosen), strict=False), seed=7, native=native)
    use_views(router)
    via_set = [i for i, v in enumerate(VARIANTS[("HTTPRoute", APPS, "r0")])
               if LS_REF in v["spec"]["parentRefs"]]
    steps = [(("HTTPRoute", APPS, "r0"), i) for i in via_set] + [
        (("ConfigMap", APPS, "ca"), 1), (("BackendTLSPolicy", APPS, "p"), 1),
        (("ConfigMap", APPS, "ca"), 0), (("BackendTLSPolicy", APPS, "p"), 0),
        (("BackendTLSPolicy", APPS, "p"), 2), (("HTTPRoute", APPS, "r0"), via_set[0])]
    for key, i in steps:
        chosen[key] = i
        router.update([VARIANTS[key][i]])
        full = Router(routecore.load(objects(chosen), strict=False), seed=7, native=native)
        assert answers(router, KEYS) == answers(full, KEYS), (key, i)
        use_views(router)


def _grown_route(i, variant=0):
    """Route i of test_patched_tables_grow_their_maps: its own host (every fourth without one,
    every fifth a wildcard), an Exact path, a PathPrefix and a regex path."""
    paths = [exact(f"/e{i}/{variant}"),
             prefix(f"/p{i}/{variant}"),
             {"path": {"type": "RegularExpression", "value": f"/r{i}/[0-9]+/{variant}"}}]
    hosts = None if i % 4 == 0 else [f"*.w{i}.example.com" if i % 5 == 0 else f"h{i}.example.com"]
    return httproute(f"g{i}", [gw_ref("edge")], [rule(be("s1", ns=APPS), matches=paths)],
                     hostnames=hosts)


def _grown_requests(n):
    out = []
    for i in range(n):
        host = None if i % 4 == 0 else (f"a.w{i}.example.com" if i % 5 == 0 else f"h{i}.example.com")
        for variant in (0, 1):
            for path in (f"/e{i}/{variant}",
                         f"/p{i}/{variant}/x", f"/r{i}/42/{variant}"):
                out.append((path, host))
    return out


@pytest.mark.parametrize("native", TWINS, ids=["pure", "native"][:len(TWINS)])
def test_patched_tables_grow_their_maps(native, monkeypatch):
    """Routes added one at a time, then changed and removed: tables made from tables gain host
    groups, map slots past their first size (the maps grow), regex buckets; every step answers
    as a full load."""
    counts = {"made": 0}
    _counting(monkeypatch, counts)
    base = [gateway("edge", listener("web", 80, from_="All")), service("s1", APPS, 8080)]
    routes = {}
    router = Router(routecore.load(base, strict=False), seed=3, native=native)
    view = router.gateway("edge", INFRA, 80)
    n = 24
    steps = [(i, 0) for i in range(n)] + [(i, 1) for i in range(0, n, 2)] + [(i, None) for i in range(0, n, 3)]
    for i, variant in steps:
        if variant is None:
            routes.pop(i)
            router.update(removed=[("HTTPRoute", APPS, f"g{i}")])
        else:
            routes[i] = _grown_route(i, variant)
            router.update([routes[i]])
        view = router.gateway("edge", INFRA, 80)
        full = Router(routecore.load(base + list(routes.values()), strict=False), seed=3,
                      native=native).gateway("edge", INFRA, 80)
        for path, host in _grown_requests(n):
            assert view.route("GET", path, host=host).to_dict() == \
                full.route("GET", path, host=host).to_dict(), (i, variant, path, host)
    assert counts["made"] == len(steps)  # every table made from the previous one
