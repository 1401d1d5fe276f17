"""Scenarios of the Gateway API conformance tests for TLSRoute, TCPRoute, UDPRoute, ListenerSet and
BackendTLSPolicy (kubernetes-sigs/gateway-api conformance/tests/, as gateway-api-semantics-kinds.md
cites them), rewritten with our own data: routing, status and validation, on both twins."""
import base64

import pytest

import routecore

from conftest import make_router

GW = "gateway.networking.k8s.io/v1"
ALPHA2 = "gateway.networking.k8s.io/v1alpha2"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def gateway(listeners, name="edge", ns="infra", allowed_listeners=None):
    spec = {"gatewayClassName": "rc", "listeners": listeners}
    if allowed_listeners:
        spec["allowedListeners"] = {"namespaces": allowed_listeners}
    return {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def listener(name, port, protocol, hostname=None, mode=None, certs=None, kinds=None, from_="All"):
    out = {"name": name, "port": port, "protocol": protocol,
           "allowedRoutes": {"namespaces": {"from": from_}}}
    if hostname:
        out["hostname"] = hostname
    if mode or certs:
        out["tls"] = {"mode": mode or "Terminate"}
        if certs:
            out["tls"]["certificateRefs"] = certs
    if kinds:
        out["allowedRoutes"]["kinds"] = [{"kind": k} for k in kinds]
    return out


def stream_route(kind, name, backends, *, ns="infra", parents=None, hostnames=None, api=None, ts=None):
    spec = {"parentRefs": parents or [{"name": "edge", "namespace": "infra"}],
            "rules": [{"backendRefs": backends}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    meta = {"name": name, "namespace": ns}
    if ts:
        meta["creationTimestamp"] = ts
    return {"apiVersion": api or (GW if kind == "TLSRoute" else ALPHA2), "kind": kind, "metadata": meta,
            "spec": spec}


def svc(name, port, ns="infra"):
    return {"name": name, "namespace": ns, "port": port}


def conds(status_entry):
    return {c["type"]: (c["status"], c["reason"]) for c in status_entry["conditions"]}


def parent_conds(router, kind, ns, name, i=0):
    return conds(router.status(kind, ns, name)["parents"][i])


def listeners_status(router, ns="infra", name="edge"):
    return {l["name"]: l for l in router.status("Gateway", ns, name)["listeners"]}


# --- TLSRoute -----------------------------------------------------------------------------------

PASSTHROUGH = [gateway([listener("tls", 443, "TLS", "*.example.com", mode="Passthrough")]),
               stream_route("TLSRoute", "abc", [svc("abc-backend", 443)], hostnames=["abc.example.com"])]


def test_tls_route_simple_same_namespace(twin):
    r = make_router(PASSTHROUGH, twin)
    d = r.gateway("edge", "infra", 443).route_tls("abc.example.com")
    assert d.matched and d.status is None and d.backend.name == "abc-backend"
    assert (d.route, d.kind, d.listener, d.tls_mode) == ("infra/abc", "TLSRoute", "tls", "Passthrough")
    assert isinstance(d, routecore.Decision) and d.backend_tls is None
    assert parent_conds(r, "TLSRoute", "infra", "abc") == {"Accepted": ("True", "Accepted"),
                                                           "ResolvedRefs": ("True", "ResolvedRefs")}
    lis = listeners_status(r)["tls"]
    assert lis["attachedRoutes"] == 1 and lis["supportedKinds"] == [{"group": GW.split("/")[0], "kind": "TLSRoute"}]


@pytest.mark.parametrize("listener_host, routes, expect", [
    ("abc.example.com", {"a": ["*.example.com"]},
     {"abc.example.com": "a", "non.matching.com": None}),
    ("*.example.com", {"a": ["abc.example.com"], "b": ["*.com"]},
     {"abc.example.com": "a", "other.example.com": "b", "non.matching.com": None}),
    ("*.com", {"a": ["abc.example.com"], "b": ["*.example.com"]},
     {"abc.example.com": "a", "other.example.com": "b", "non.matching.com": None}),
    (None, {"a": ["abc.example.com"], "b": ["*.com"]},
     {"abc.example.com": "a", "other.example.com": "b", "non.matching.org": None}),
])
def test_tls_route_hostname_intersection(twin, listener_host, routes, expect):
    objs = [gateway([listener("tls", 443, "TLS", listener_host, mode="Passthrough")])]
    objs += [stream_route("TLSRoute", n, [svc(n + "-svc", 443)], hostnames=h,
                          ts=f"2024-01-0{i + 1}T00:00:00Z") for i, (n, h) in enumerate(routes.items())]
    view = make_router(objs, twin).gateway("edge", "infra", 443)
    for sni, name in expect.items():
        d = view.route_tls(sni)
        if name is None:
            assert (d.matched, d.status, d.backend) == (False, 404, None), sni
        else:
            assert d.route == f"infra/{name}" and d.backend.name == name + "-svc", sni


def test_tls_route_sni_case_and_trailing_dot_and_no_sni(twin):
    view = make_router(PASSTHROUGH, twin).gateway("edge", "infra", 443)
    assert view.route_tls("ABC.example.com.").route == "infra/abc"
    assert view.route_tls(b"abc.example.com").route == "infra/abc"
    for sni in (None, "", "example.com", ".abc.example.com"):
        assert view.route_tls(sni).status == 404


def test_tls_route_invalid_no_matching_listener(twin):
    objs = [gateway([listener("http", 80, "HTTP"), listener("https", 443, "HTTPS", certs=[{"name": "c"}])]),
            stream_route("TLSRoute", "t", [svc("b", 443)], hostnames=["abc.example.com"]),
            stream_route("TLSRoute", "bad-section", [svc("b", 443)], hostnames=["abc.example.com"],
                         parents=[{"name": "edge", "namespace": "infra", "sectionName": "nope"}])]
    r = make_router(objs, twin)
    assert parent_conds(r, "TLSRoute", "infra", "t")["Accepted"] == ("False", "NotAllowedByListeners")
    assert parent_conds(r, "TLSRoute", "infra", "bad-section")["Accepted"] == ("False", "NoMatchingParent")
    assert all(l["attachedRoutes"] == 0 for l in listeners_status(r).values())
    assert r.gateway("edge", "infra", 443).route_tls("abc.example.com").status == 404


def test_tls_route_no_matching_listener_hostname(twin):
    objs = [gateway([listener("exact", 443, "TLS", "foo.example.com", mode="Passthrough"),
                     listener("wild", 443, "TLS", "*.bar.com", mode="Passthrough")]),
            stream_route("TLSRoute", "t", [svc("b", 443)], hostnames=["abc.example.net", "x.example.org"])]
    r = make_router(objs, twin)
    assert parent_conds(r, "TLSRoute", "infra", "t")["Accepted"] == ("False", "NoMatchingListenerHostname")


def test_tls_route_backend_problems_share_is_500(twin):
    objs = [gateway([listener("tls", 443, "TLS", mode="Passthrough")]),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "real", "namespace": "other"},
             "spec": {"ports": [{"port": 443}]}},
            stream_route("TLSRoute", "missing", [svc("nope", 443)], hostnames=["a.example.com"]),
            stream_route("TLSRoute", "kind", [{"group": "unknown.io", "kind": "Thing", "name": "x"}],
                         hostnames=["b.example.com"]),
            stream_route("TLSRoute", "xns", [svc("real", 443, ns="other")], hostnames=["c.example.com"])]
    r = make_router(objs, twin)
    view = r.gateway("edge", "infra", 443)
    for name, sni, reason in (("missing", "a.example.com", "BackendNotFound"),
                              ("kind", "b.example.com", "InvalidKind"),
                              ("xns", "c.example.com", "RefNotPermitted")):
        c = parent_conds(r, "TLSRoute", "infra", name)
        assert c == {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("False", reason)}
        d = view.route_tls(sni)
        assert (d.matched, d.status, d.backend, d.route) == (True, 500, None, f"infra/{name}")


def test_tls_route_reference_grant_allows_cross_namespace_backend(twin):
    grant = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": "g", "namespace": "other"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "TLSRoute", "namespace": "infra"}],
                      "to": [{"group": "", "kind": "Service"}]}}
    objs = [gateway([listener("tls", 443, "TLS", mode="Passthrough")]),
            stream_route("TLSRoute", "xns", [svc("real", 443, ns="other")], hostnames=["c.example.com"])]
    r = make_router(objs + [grant], twin)
    assert r.gateway("edge", "infra", 443).route_tls("c.example.com").backend.namespace == "other"
    wrong = dict(grant, spec=dict(grant["spec"], **{"from": [dict(grant["spec"]["from"][0], kind="HTTPRoute")]}))
    r = make_router(objs + [wrong], twin)
    assert parent_conds(r, "TLSRoute", "infra", "xns")["ResolvedRefs"] == ("False", "RefNotPermitted")


def test_tls_listener_supported_kinds(twin):
    objs = [gateway([listener("pt", 443, "TLS", mode="Passthrough", kinds=["TCPRoute", "TLSRoute"]),
                     listener("term", 8443, "TLS", mode="Terminate", certs=[{"name": "cert"}])])]
    st = listeners_status(make_router(objs, twin))
    assert [k["kind"] for k in st["pt"]["supportedKinds"]] == ["TLSRoute"]
    assert conds(st["pt"])["ResolvedRefs"] == ("False", "InvalidRouteKinds")
    assert conds(st["term"])["Accepted"] == ("True", "Accepted")
    assert [k["kind"] for k in st["term"]["supportedKinds"]] == ["TLSRoute"]


def test_tls_mixed_modes_on_one_port_route_by_sni(twin):
    objs = [gateway([listener("pt", 8883, "TLS", "pt.example.com", mode="Passthrough"),
                     listener("term", 8883, "TLS", "term.example.com", certs=[{"name": "cert"}])]),
            stream_route("TLSRoute", "a", [svc("a", 443)], hostnames=["pt.example.com"]),
            stream_route("TLSRoute", "b", [svc("b", 8080)], hostnames=["term.example.com"])]
    r = make_router(objs, twin)
    view = r.gateway("edge", "infra", 8883)
    assert (view.route_tls("pt.example.com").tls_mode, view.route_tls("pt.example.com").backend.name) == \
        ("Passthrough", "a")
    assert (view.route_tls("term.example.com").tls_mode, view.route_tls("term.example.com").backend.name) == \
        ("Terminate", "b")
    assert all(conds(l)["Accepted"] == ("True", "Accepted") and l["attachedRoutes"] == 1
               for l in listeners_status(r).values())


def test_tls_routes_same_hostname_oldest_wins(twin):
    objs = [gateway([listener("tls", 443, "TLS", mode="Passthrough")]),
            stream_route("TLSRoute", "young", [svc("y", 443)], hostnames=["a.example.com"], ts="2024-05-01T00:00:00Z"),
            stream_route("TLSRoute", "old", [svc("o", 443)], hostnames=["a.example.com"], ts="2024-01-01T00:00:00Z")]
    r = make_router(objs, twin)
    assert r.gateway("edge", "infra", 443).route_tls("a.example.com").route == "infra/old"
    assert parent_conds(r, "TLSRoute", "infra", "young")["Accepted"] == ("True", "Accepted")


def test_tls_route_validation():
    bad = stream_route("TLSRoute", "t", [svc("b", 443)], hostnames=["10.0.0.1"])
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([bad])
    assert "TLSRoute infra/t: spec.hostnames[0]: Hostnames cannot contain an IP" in str(err.value)
    no_hosts = stream_route("TLSRoute", "t", [svc("b", 443)])
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([no_hosts])
    assert "spec.hostnames: missing required field" in str(err.value)
    # v1alpha2: hostnames optional (every SNI), up to 16 rules
    loose = stream_route("TLSRoute", "t", [svc("b", 443)], api=ALPHA2)
    loose["spec"]["rules"].append({"backendRefs": [svc("c", 443)]})
    route = routecore.load([loose]).routes[0]
    assert route.hostnames == () and len(route.rules) == 2
    two = stream_route("TLSRoute", "t", [svc("b", 443)], hostnames=["a.example.com"])
    two["spec"]["rules"].append({"backendRefs": [svc("c", 443)]})
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([two])
    assert "spec.rules" in str(err.value)


def test_tls_listener_validation():
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([gateway([{"name": "t", "port": 443, "protocol": "TLS"},
                                 listener("term", 8443, "TLS", mode="Terminate"),
                                 dict(listener("tcp", 9000, "TCP"), hostname="a.example.com")])])
    text = str(err.value)
    assert "Gateway infra/edge: spec.listeners[0].tls: tls mode must be set for protocol TLS" in text
    assert "spec.listeners[1].tls.certificateRefs: certificateRefs or options must be specified" in text
    assert "spec.listeners[2].hostname: hostname must not be specified for protocol TCP" in text


# --- TCPRoute / UDPRoute ------------------------------------------------------------------------

def l4_gateway(proto):
    return gateway([listener("one", 5001, proto), listener("two", 5002, proto),
                    listener("web", 80, "HTTP")])


@pytest.mark.parametrize("kind, proto", [("TCPRoute", "TCP"), ("UDPRoute", "UDP")])
def test_stream_route_parent_ref_port_section_and_attach_all(twin, kind, proto):
    objs = [l4_gateway(proto),
            stream_route(kind, "by-port", [svc("p", 1)], parents=[{"name": "edge", "namespace": "infra", "port": 5001}]),
            stream_route(kind, "by-section", [svc("s", 1)],
                         parents=[{"name": "edge", "namespace": "infra", "sectionName": "two"}])]
    r = make_router(objs, twin)
    assert r.gateway("edge", "infra", 5001).route_stream().backend.name == "p"
    assert r.gateway("edge", "infra", 5002).route_stream().backend.name == "s"
    assert r.gateway("edge", "infra", 5001).route_stream(proto).route == "infra/by-port"
    st = listeners_status(r)
    assert (st["one"]["attachedRoutes"], st["two"]["attachedRoutes"], st["web"]["attachedRoutes"]) == (1, 1, 0)
    r = make_router([l4_gateway(proto), stream_route(kind, "all", [svc("a", 1)])], twin)
    st = listeners_status(r)
    assert (st["one"]["attachedRoutes"], st["two"]["attachedRoutes"]) == (1, 1)
    assert {r.gateway("edge", "infra", p).route_stream().listener for p in (5001, 5002)} == {"one", "two"}


@pytest.mark.parametrize("kind, proto", [("TCPRoute", "TCP"), ("UDPRoute", "UDP")])
def test_stream_route_not_allowed_on_other_listener(twin, kind, proto):
    objs = [l4_gateway(proto), stream_route(kind, "r", [svc("a", 1)],
                                            parents=[{"name": "edge", "namespace": "infra", "sectionName": "web"}])]
    r = make_router(objs, twin)
    assert parent_conds(r, kind, "infra", "r")["Accepted"] == ("False", "NotAllowedByListeners")
    assert r.gateway("edge", "infra", 80).route_stream().status == 404


def test_udp_route_not_allowed_on_tls_listener(twin):
    objs = [gateway([listener("tls", 443, "TLS", mode="Passthrough")]),
            stream_route("UDPRoute", "u", [svc("dns", 53)],
                         parents=[{"name": "edge", "namespace": "infra", "sectionName": "tls"}])]
    assert parent_conds(make_router(objs, twin), "UDPRoute", "infra", "u")["Accepted"] == \
        ("False", "NotAllowedByListeners")


@pytest.mark.parametrize("kind, proto", [("TCPRoute", "TCP"), ("UDPRoute", "UDP")])
def test_stream_routes_multiple_attached_oldest_wins_both_accepted(twin, kind, proto):
    objs = [gateway([listener("one", 5001, proto)]),
            stream_route(kind, "newer", [svc("n", 1)], ts="2024-06-01T00:00:00Z"),
            stream_route(kind, "older", [svc("o", 1)], ts="2024-01-01T00:00:00Z")]
    r = make_router(objs, twin)
    view = r.gateway("edge", "infra", 5001)
    assert {view.route_stream().backend.name for _ in range(50)} == {"o"}
    for name in ("newer", "older"):
        assert parent_conds(r, kind, "infra", name)["Accepted"] == ("True", "Accepted")
    assert listeners_status(r)["one"]["attachedRoutes"] == 2


@pytest.mark.parametrize("kind, proto", [("TCPRoute", "TCP"), ("UDPRoute", "UDP")])
def test_stream_route_weights_and_zero_weight(twin, kind, proto):
    objs = [gateway([listener("one", 5001, proto)]),
            stream_route(kind, "w", [dict(svc("a", 1), weight=70), dict(svc("b", 1), weight=30),
                                     dict(svc("c", 1), weight=0)])]
    view = make_router(objs, twin).gateway("edge", "infra", 5001)
    seen = [view.route_stream().backend.name for _ in range(1000)]
    assert "c" not in seen
    assert 600 < seen.count("a") < 800 and 200 < seen.count("b") < 400


@pytest.mark.parametrize("kind, proto", [("TCPRoute", "TCP"), ("UDPRoute", "UDP")])
def test_stream_route_invalid_backends(twin, kind, proto):
    objs = [gateway([listener("one", 5001, proto), listener("two", 5002, proto)]),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "real", "namespace": "other"}},
            stream_route(kind, "missing", [svc("nope", 1)], parents=[{"name": "edge", "namespace": "infra", "port": 5001}]),
            stream_route(kind, "xns", [svc("real", 1, ns="other")],
                         parents=[{"name": "edge", "namespace": "infra", "port": 5002}])]
    r = make_router(objs, twin)
    assert parent_conds(r, kind, "infra", "missing")["ResolvedRefs"] == ("False", "BackendNotFound")
    assert parent_conds(r, kind, "infra", "xns") == {"Accepted": ("True", "Accepted"),
                                                     "ResolvedRefs": ("False", "RefNotPermitted")}
    for port in (5001, 5002):
        d = r.gateway("edge", "infra", port).route_stream()
        assert (d.matched, d.status, d.backend) == (True, 500, None)


def test_tcp_and_udp_listeners_share_a_port(twin):
    objs = [gateway([listener("t", 53, "TCP"), listener("u", 53, "UDP")]),
            stream_route("TCPRoute", "t", [svc("tcp-dns", 53)]),
            stream_route("UDPRoute", "u", [svc("udp-dns", 53)])]
    r = make_router(objs, twin)
    view = r.gateway("edge", "infra", 53)
    assert view.route_stream().backend.name == "tcp-dns"
    assert view.route_stream("UDP").backend.name == "udp-dns"
    assert all(conds(l)["Conflicted"] == ("False", "NoConflicts") for l in listeners_status(r).values())
    with pytest.raises(ValueError):
        view.route_stream("SCTP")


def test_tcp_listener_beside_http_on_one_port_conflicts(twin):
    objs = [gateway([listener("web", 80, "HTTP"), listener("raw", 80, "TCP"), listener("ok", 81, "TCP")]),
            stream_route("TCPRoute", "t", [svc("a", 1)])]
    r = make_router(objs, twin)
    st = listeners_status(r)
    for name in ("web", "raw"):
        assert conds(st[name])["Accepted"] == ("False", "ProtocolConflict")
        assert conds(st[name])["Conflicted"] == ("True", "ProtocolConflict")
    gw = conds(r.status("Gateway", "infra", "edge"))
    assert gw == {"Accepted": ("True", "ListenersNotValid"), "Programmed": ("True", "Programmed")}
    assert r.gateway("edge", "infra", 80).route_stream().status == 404
    assert r.gateway("edge", "infra", 81).route_stream().backend.name == "a"


def test_stream_route_validation():
    bad = stream_route("TCPRoute", "t", [{"name": "svc"}], api=GW)
    bad["spec"]["rules"].append({"backendRefs": []})
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([bad])
    text = str(err.value)
    assert "TCPRoute infra/t: spec.rules[0].backendRefs[0].port: port is required for a Service reference" in text
    assert "spec.rules: " in text  # at most one rule in v1
    lenient = routecore.load([stream_route("UDPRoute", "u", [{"name": "svc"}])], strict=False)
    assert lenient.routes == () and lenient.issues[0].path == "spec.rules[0].backendRefs[0].port"


# --- ListenerSet --------------------------------------------------------------------------------

def listener_set(name, ns, listeners, parent="edge", ts=None):
    meta = {"name": name, "namespace": ns}
    if ts:
        meta["creationTimestamp"] = ts
    return {"apiVersion": GW, "kind": "ListenerSet", "metadata": meta,
            "spec": {"parentRef": {"name": parent, "namespace": "infra"}, "listeners": listeners}}


def http_route(name, ns, parents, path="/", backend="b"):
    return {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": parents,
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": path}}],
                                "backendRefs": [{"name": backend, "port": 80}]}]}}


@pytest.mark.parametrize("allowed, accepted", [(None, False), ({"from": "None"}, False),
                                               ({"from": "Same"}, True), ({"from": "All"}, True)])
def test_listener_set_handshake(twin, allowed, accepted):
    objs = [gateway([listener("web", 80, "HTTP")], allowed_listeners=allowed),
            listener_set("ls", "infra", [listener("extra", 8080, "HTTP", "ls.example.com")])]
    r = make_router(objs, twin)
    st = r.status("ListenerSet", "infra", "ls")
    if accepted:
        assert conds(st) == {"Accepted": ("True", "Accepted"), "Programmed": ("True", "Programmed")}
        assert r.status("Gateway", "infra", "edge")["attachedListenerSets"] == 1
    else:
        assert conds(st) == {"Accepted": ("False", "NotAllowed"), "Programmed": ("False", "NotAllowed")}
        assert r.status("Gateway", "infra", "edge")["attachedListenerSets"] == 0
    assert conds(r.status("Gateway", "infra", "edge"))["Accepted"] == ("True", "Accepted")


def test_listener_set_selector(twin):
    objs = [gateway([listener("web", 80, "HTTP")],
                    allowed_listeners={"from": "Selector", "selector": {"matchLabels": {"team": "a"}}}),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a-ns", "labels": {"team": "a"}}},
            listener_set("yes", "a-ns", [listener("x", 8080, "HTTP")]),
            listener_set("no", "b-ns", [listener("y", 8081, "HTTP")])]
    r = make_router(objs, twin)
    assert conds(r.status("ListenerSet", "a-ns", "yes"))["Accepted"] == ("True", "Accepted")
    assert conds(r.status("ListenerSet", "b-ns", "no"))["Accepted"] == ("False", "NotAllowed")


def test_listener_set_hostname_and_protocol_conflicts_first_wins(twin):
    objs = [gateway([listener("web", 80, "HTTP", "a.example.com")], allowed_listeners={"from": "All"}),
            listener_set("first", "infra", [listener("dup", 80, "HTTP", "a.example.com"),
                                            listener("mine", 80, "HTTP", "b.example.com")],
                         ts="2024-01-01T00:00:00Z"),
            listener_set("second", "infra", [listener("again", 80, "HTTP", "b.example.com")],
                         ts="2024-02-01T00:00:00Z"),
            listener_set("third", "infra", [listener("tcp", 80, "TCP"), listener("c", 80, "HTTP", "c.example.com")],
                         ts="2024-03-01T00:00:00Z"),
            listener_set("fourth", "infra", [listener("only", 80, "HTTP", "a.example.com")],
                         ts="2024-04-01T00:00:00Z")]
    r = make_router(objs, twin)
    first = {l["name"]: conds(l) for l in r.status("ListenerSet", "infra", "first")["listeners"]}
    assert first["dup"] == {"Accepted": ("False", "HostnameConflict"), "Programmed": ("False", "HostnameConflict"),
                            "ResolvedRefs": ("True", "ResolvedRefs"), "Conflicted": ("True", "HostnameConflict")}
    assert first["mine"]["Accepted"] == ("True", "Accepted")
    second = r.status("ListenerSet", "infra", "second")
    assert conds(second) == {"Accepted": ("False", "ListenersNotValid"), "Programmed": ("False", "ListenersNotValid")}
    third = {l["name"]: conds(l) for l in r.status("ListenerSet", "infra", "third")["listeners"]}
    assert third["tcp"]["Accepted"] == ("False", "ProtocolConflict") and third["c"]["Accepted"][0] == "True"
    assert conds(r.status("ListenerSet", "infra", "third"))["Accepted"] == ("True", "Accepted")
    gw = r.status("Gateway", "infra", "edge")
    assert gw["attachedListenerSets"] == 2 and [l["name"] for l in gw["listeners"]] == ["web"]
    assert conds(gw["listeners"][0])["Accepted"] == ("True", "Accepted")


def test_listener_set_routing_and_isolation(twin):
    objs = [gateway([listener("web", 80, "HTTP", "gw.example.com")], allowed_listeners={"from": "All"}),
            listener_set("ls", "apps", [listener("web", 80, "HTTP", "ls.example.com", from_="Same")]),
            http_route("on-gw", "infra", [{"name": "edge", "namespace": "infra"}], "/gw", "gw-b"),
            http_route("on-ls", "apps", [{"kind": "ListenerSet", "name": "ls", "namespace": "apps"}], "/ls", "ls-b"),
            http_route("gw-ns-on-ls", "infra", [{"kind": "ListenerSet", "name": "ls", "namespace": "apps"}]),
            http_route("bad-section", "infra", [{"name": "edge", "namespace": "infra", "sectionName": "nope"},
                                                {"name": "edge", "namespace": "infra", "sectionName": "web"}],
                       "/bad")]
    r = make_router(objs, twin)
    view = r.gateway("edge", "infra", 80)
    d = view.route("GET", "/ls/x", host="ls.example.com")
    assert d.backend.name == "ls-b" and d.listener == "apps/ls/web"
    assert view.route("GET", "/gw/x", host="ls.example.com").status == 404
    assert view.route("GET", "/ls/x", host="gw.example.com").status == 404
    assert view.route("GET", "/gw/x", host="gw.example.com").backend.name == "gw-b"
    on_ls = r.status("HTTPRoute", "apps", "on-ls")["parents"]
    assert len(on_ls) == 1 and on_ls[0]["parentRef"]["kind"] == "ListenerSet"
    assert conds(on_ls[0])["Accepted"] == ("True", "Accepted")
    assert parent_conds(r, "HTTPRoute", "infra", "gw-ns-on-ls")["Accepted"] == ("False", "NotAllowedByListeners")
    assert parent_conds(r, "HTTPRoute", "infra", "bad-section", 0)["Accepted"] == ("False", "NoMatchingParent")
    assert parent_conds(r, "HTTPRoute", "infra", "bad-section", 1)["Accepted"] == ("True", "Accepted")
    ls_entry = r.status("ListenerSet", "apps", "ls")["listeners"][0]
    assert ls_entry["attachedRoutes"] == 1


def test_listener_set_supported_kinds_and_certificates(twin):
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "cert", "namespace": "certs"},
              "data": {"tls.crt": b64(PEM), "tls.key": b64(KEY)}}
    grant = {"apiVersion": GW, "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "certs"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "ListenerSet", "namespace": "apps"}],
                      "to": [{"group": "", "kind": "Secret"}]}}
    objs = [gateway([listener("web", 80, "HTTP")], allowed_listeners={"from": "All"}), secret,
            listener_set("ls", "apps", [
                listener("pt", 443, "TLS", mode="Passthrough", kinds=["HTTPRoute"]),
                listener("https", 8443, "HTTPS", "a.example.com", certs=[{"name": "cert", "namespace": "certs"}])])]
    r = make_router(objs, twin)
    entries = {l["name"]: l for l in r.status("ListenerSet", "apps", "ls")["listeners"]}
    assert conds(entries["pt"])["ResolvedRefs"] == ("False", "InvalidRouteKinds")
    assert conds(entries["https"])["ResolvedRefs"] == ("False", "RefNotPermitted")
    r = make_router(objs + [grant], twin)
    entries = {l["name"]: l for l in r.status("ListenerSet", "apps", "ls")["listeners"]}
    assert conds(entries["https"])["ResolvedRefs"] == ("True", "ResolvedRefs")


def test_gateway_certificate_refs(twin):
    good = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "good", "namespace": "infra"},
            "data": {"tls.crt": b64(PEM), "tls.key": b64(KEY)}}
    opaque = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "opaque", "namespace": "infra"},
              "stringData": {"tls.crt": PEM}}
    objs = [gateway([listener("ok", 443, "HTTPS", "ok.example.com", certs=[{"name": "good"}]),
                     listener("missing", 443, "HTTPS", "m.example.com", certs=[{"name": "nope"}]),
                     listener("malformed", 443, "HTTPS", "x.example.com", certs=[{"name": "opaque"}]),
                     listener("kind", 443, "HTTPS", "k.example.com", certs=[{"kind": "ConfigMap", "name": "good"}]),
                     listener("xns", 443, "HTTPS", "n.example.com", certs=[{"name": "good", "namespace": "else"}])]),
            good, opaque]
    r = make_router(objs, twin)
    st = listeners_status(r)
    assert conds(st["ok"])["ResolvedRefs"] == ("True", "ResolvedRefs")
    for name in ("missing", "malformed", "kind"):
        assert conds(st[name])["ResolvedRefs"] == ("False", "InvalidCertificateRef"), name
        assert [k["kind"] for k in st[name]["supportedKinds"]] == ["HTTPRoute", "GRPCRoute"]
    assert conds(st["xns"])["ResolvedRefs"] == ("False", "RefNotPermitted")
    assert conds(r.status("Gateway", "infra", "edge"))["Accepted"] == ("True", "Accepted")
    assert r.config.secrets[0].get("tls.crt") == PEM.encode()


def test_listener_set_validation():
    bad = listener_set("ls", "apps", [listener("a", 80, "HTTP"), listener("a", 81, "HTTP")])
    bad["spec"]["parentRef"]["name"] = ""
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([bad])
    text = str(err.value)
    assert "ListenerSet apps/ls: spec.parentRef.name" in text and "spec.listeners[1]" in text


# --- BackendTLSPolicy ---------------------------------------------------------------------------

def policy(name, target, *, section=None, hostname="abc.example.com", ca=("ca",), known=None, ts=None,
           kind="ConfigMap", sans=None):
    ref = {"group": "", "kind": "Service", "name": target}
    if section:
        ref["sectionName"] = section
    validation = {"hostname": hostname}
    if known:
        validation["wellKnownCACertificates"] = known
    else:
        validation["caCertificateRefs"] = [{"group": "", "kind": kind, "name": c} for c in ca]
    if sans:
        validation["subjectAltNames"] = sans
    meta = {"name": name, "namespace": "infra"}
    if ts:
        meta["creationTimestamp"] = ts
    return {"apiVersion": GW, "kind": "BackendTLSPolicy", "metadata": meta,
            "spec": {"targetRefs": [ref], "validation": validation}}


def ca_map(name, text=PEM):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "infra"},
            "data": {"ca.crt": text}}


def service(name, ports):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "infra"},
            "spec": {"ports": [{"name": n, "port": p} for n, p in ports]}}


def http_gateway_and_route(backend_port=443):
    return [gateway([listener("web", 80, "HTTP")]),
            http_route("r", "infra", [{"name": "edge", "namespace": "infra"}], backend="tls-svc")] \
        if backend_port == 80 else [gateway([listener("web", 80, "HTTP")]),
                                    {**http_route("r", "infra", [{"name": "edge", "namespace": "infra"}]),
                                     "spec": {"parentRefs": [{"name": "edge", "namespace": "infra"}],
                                              "rules": [{"backendRefs": [{"name": "tls-svc", "port": backend_port}]}]}}]


def test_backend_tls_policy_on_http_decision(twin):
    sans = [{"type": "Hostname", "hostname": "abc.example.com"}, {"type": "URI", "uri": "spiffe://abc/id"}]
    objs = http_gateway_and_route() + [policy("p", "tls-svc", sans=sans), ca_map("ca")]
    r = make_router(objs, twin)
    d = r.gateway("edge", "infra", 80).route("GET", "/", host="x")
    assert d.backend.name == "tls-svc"
    assert d.backend_tls == routecore.BackendTLS(
        policy="infra/p", hostname="abc.example.com", ca_certificate_refs=(("", "ConfigMap", "ca"),),
        well_known_ca_certificates=None, subject_alt_names=(("Hostname", "abc.example.com"), ("URI", "spiffe://abc/id")))
    st = r.status("BackendTLSPolicy", "infra", "p")["ancestors"]
    assert len(st) == 1 and st[0]["ancestorRef"]["name"] == "edge"
    assert conds(st[0]) == {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("True", "ResolvedRefs")}


@pytest.mark.parametrize("case, accepted, resolved", [
    ("missing", ("False", "NoValidCACertificate"), ("False", "InvalidCACertificateRef")),
    ("empty", ("False", "NoValidCACertificate"), ("False", "InvalidCACertificateRef")),
    ("kind", ("False", "NoValidCACertificate"), ("False", "InvalidKind")),
])
def test_backend_tls_policy_invalid_ca_refs_give_500(twin, case, accepted, resolved):
    objs = http_gateway_and_route() + [ca_map("other")]
    if case == "missing":
        objs.append(policy("p", "tls-svc", ca=("absent",)))
    elif case == "empty":
        objs += [policy("p", "tls-svc"), ca_map("ca", "")]
    else:
        objs += [policy("p", "tls-svc", kind="Secret")]
    r = make_router(objs, twin)
    d = r.gateway("edge", "infra", 80).route("GET", "/", host="x")
    assert (d.status, d.backend) == (500, None)
    st = r.status("BackendTLSPolicy", "infra", "p")["ancestors"][0]
    assert conds(st) == {"Accepted": accepted, "ResolvedRefs": resolved}
    assert parent_conds(r, "HTTPRoute", "infra", "r")["Accepted"] == ("True", "Accepted")


def test_backend_tls_policy_conflicts_and_section_names(twin):
    objs = [gateway([listener("web", 80, "HTTP")]), service("tls-svc", [("https-1", 443), ("https-2", 8443)]),
            {**http_route("r", "infra", [{"name": "edge", "namespace": "infra"}]),
             "spec": {"parentRefs": [{"name": "edge", "namespace": "infra"}],
                      "rules": [{"matches": [{"path": {"value": "/a"}}], "backendRefs": [{"name": "tls-svc", "port": 443}]},
                                {"matches": [{"path": {"value": "/b"}}],
                                 "backendRefs": [{"name": "tls-svc", "port": 8443}]}]}},
            policy("whole-old", "tls-svc", hostname="abc.example.com", known="System", ts="2024-01-01T00:00:00Z"),
            policy("whole-new", "tls-svc", hostname="new.example.com", known="System", ts="2024-02-01T00:00:00Z"),
            policy("port", "tls-svc", section="https-1", hostname="other.example.com", known="System",
                   ts="2024-03-01T00:00:00Z")]
    r = make_router(objs, twin)
    view = r.gateway("edge", "infra", 80)
    assert view.route("GET", "/a", host="x").backend_tls.hostname == "other.example.com"
    tls_b = view.route("GET", "/b", host="x").backend_tls
    assert (tls_b.hostname, tls_b.well_known_ca_certificates, tls_b.policy) == ("abc.example.com", "System",
                                                                               "infra/whole-old")
    accepted = {n: conds(r.status("BackendTLSPolicy", "infra", n)["ancestors"][0])["Accepted"]
                for n in ("whole-old", "whole-new", "port")}
    assert accepted == {"whole-old": ("True", "Accepted"), "whole-new": ("False", "Conflicted"),
                        "port": ("True", "Accepted")}


def test_backend_tls_policy_on_tls_and_tcp_decisions(twin):
    objs = [gateway([listener("term", 443, "TLS", certs=[{"name": "cert"}]), listener("raw", 9000, "TCP")]),
            stream_route("TLSRoute", "t", [svc("tls-svc", 443)], hostnames=["tls.example.com"]),
            stream_route("TCPRoute", "c", [svc("tls-svc", 443)]),
            policy("p", "tls-svc", known="System")]
    r = make_router(objs, twin)
    d = r.gateway("edge", "infra", 443).route_tls("tls.example.com")
    assert (d.tls_mode, d.backend_tls.hostname) == ("Terminate", "abc.example.com")
    assert r.gateway("edge", "infra", 9000).route_stream().backend_tls.policy == "infra/p"


def test_backend_tls_policy_validation():
    bad = policy("p", "svc", known="System")
    bad["spec"]["validation"]["caCertificateRefs"] = [{"group": "", "kind": "ConfigMap", "name": "ca"}]
    bad["spec"]["validation"]["subjectAltNames"] = [{"type": "URI", "hostname": "a.example.com"}]
    bad["spec"]["targetRefs"].append(dict(bad["spec"]["targetRefs"][0]))
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([bad])
    text = str(err.value)
    assert "BackendTLSPolicy infra/p: spec.validation: must not contain both" in text
    assert "spec.validation.subjectAltNames[0].uri" in text
    assert "spec.targetRefs: sectionName must be specified" in text
    none = policy("q", "svc", ca=())
    with pytest.raises(routecore.ConfigError) as err:
        routecore.load([none])
    assert "must specify either CACertificateRefs or WellKnownCACertificates" in str(err.value)


# --- explain ------------------------------------------------------------------------------------

def test_explain_tls_and_stream(twin):
    objs = [gateway([listener("tls", 443, "TLS", "*.example.com", mode="Passthrough"), listener("raw", 9000, "TCP")]),
            stream_route("TLSRoute", "exact", [svc("e", 443)], hostnames=["abc.example.com"]),
            stream_route("TLSRoute", "wild", [svc("w", 443)], hostnames=["*.example.com"]),
            stream_route("TCPRoute", "c", [svc("c", 1)])]
    r = make_router(objs, twin)
    ex = r.gateway("edge", "infra", 443).explain_tls("abc.example.com")
    assert ex.agrees and ex.listener == "tls"
    assert [(row.route, row.state) for row in ex.rows] == [("infra/exact", "won"), ("infra/wild", "not reached")]
    ex = r.gateway("edge", "infra", 443).explain_tls("x.example.com")
    assert [(row.route, row.state) for row in ex.rows] == [("infra/exact", "no match"), ("infra/wild", "won")]
    assert "forward to infra/w:443 (Passthrough)" in str(ex)
    ex = r.gateway("edge", "infra", 443).explain_tls("other.org")
    assert ex.listener is None and ex.to_dict()["decision"]["status"] == 404 and ex.agrees
    ex = r.gateway("edge", "infra", 9000).explain_stream()
    assert ex.agrees and ex.rows[0].route == "infra/c" and "TCP listener" in ex.listener_reason
