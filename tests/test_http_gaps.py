"""The last HTTP gaps of the conformance run (issue 13 item 6): expose headers on a CORS preflight,
IP addresses refused as route hostnames, a Header session without its header name refused, and
no RouteParentStatus for a Gateway that is not in the configuration."""
import pytest

import routecore
from routecore import ConfigError

from builders import APPS, INFRA, be, gateway, gw_ref, httproute, listener, rule

GRPC = "gateway.networking.k8s.io/v1"


def _issues(objs):
    with pytest.raises(ConfigError) as exc:
        routecore.load(objs)
    return [(e.path, e.message) for e in exc.value.errors]


# --- CORS: the preflight carries access-control-expose-headers ---------------------------------

CORS = {"type": "CORS", "cors": {"allowOrigins": ["https://app.example"], "allowMethods": ["GET"],
                                 "exposeHeaders": ["x-trace", "x-id"]}}


def test_preflight_carries_expose_headers(twin, make_router):
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gw")], [rule(be("a"), filters=[CORS])])]
    view = make_router(objs, twin).gateway("gw", INFRA, 80)
    d = view.route("OPTIONS", "/x", {"Origin": "https://app.example",
                                     "Access-Control-Request-Method": "GET"}, host="h")
    assert d.status == 204
    headers = dict(d.apply_response_headers([]))
    assert headers["access-control-expose-headers"] == "x-trace, x-id"
    assert headers["access-control-allow-methods"] == "GET"
    # and on the actual request, as before
    d = view.route("GET", "/x", {"Origin": "https://app.example"}, host="h")
    assert dict(d.apply_response_headers([]))["access-control-expose-headers"] == "x-trace, x-id"


# --- route hostnames that are IP addresses -----------------------------------------------------

@pytest.mark.parametrize("kind", ["HTTPRoute", "GRPCRoute"])
@pytest.mark.parametrize("address", ["192.168.0.1", "10.0.0.255", "::1", "2001:db8::8a2e:370:7334",
                                     "[2001:db8::1]", "::ffff:10.0.0.1"])
def test_ip_address_hostnames_are_refused(kind, address):
    route = httproute("r", [gw_ref("gw")], [rule(be("a"))],
                      hostnames=["ok.example.com", address])
    route["kind"] = kind
    if kind == "GRPCRoute":
        route["apiVersion"] = GRPC
    assert _issues([route]) == [(
        "spec.hostnames[1]",
        f"`{address}` is an IP address; a route hostname must be a DNS name (the Gateway API does not "
        "allow IP addresses)")]


@pytest.mark.parametrize("hostname", ["1.2.3.4.example.com", "10.example", "1-2-3-4.nip", "*.1.2.3",
                                      "123", "a.b.c.d", "cafe"])
def test_dns_names_that_look_numeric_are_kept(hostname):
    route = httproute("r", [gw_ref("gw")], [rule(be("a"))], hostnames=[hostname])
    (loaded,) = routecore.load([route]).routes
    assert loaded.hostnames == (hostname,)


def test_ip_address_hostname_drops_the_route_under_strict_false():
    config = routecore.load([httproute("r", [gw_ref("gw")], [rule(be("a"))], hostnames=["127.0.0.1"])],
                            strict=False)
    assert config.routes == () and [r.name for r in config.rejected] == ["r"]
    assert [i.path for i in config.issues] == ["spec.hostnames[0]"]


# --- sessionPersistence of type Header needs the header's name ---------------------------------

SP = "spec.rules[0].sessionPersistence"


@pytest.mark.parametrize("session", [{"type": "Header"}, {"type": "Header", "absoluteTimeout": "1h"}])
def test_header_session_without_a_name_is_refused(session):
    objs = [httproute("r", [gw_ref("gw")], [rule(be("a"), sessionPersistence=session)])]
    assert _issues(objs) == [(f"{SP}.sessionName",
                              "required when type is Header: the name of the header that carries the "
                              "session (or `header.name` in the newer field shape)")]


@pytest.mark.parametrize("session, name", [
    ({"type": "Header", "sessionName": "x-session"}, "x-session"),   # the released CRDs' shape
    ({"type": "Header", "header": {"name": "x-s"}}, "x-s"),          # the newer shape
])
def test_header_session_with_a_name_is_kept(session, name):
    objs = [httproute("r", [gw_ref("gw")], [rule(be("a"), sessionPersistence=session)])]
    (route,) = routecore.load(objs).routes
    assert route.rules[0].session_persistence.header_name == name


def test_header_session_with_a_broken_header_is_reported_once():
    objs = [httproute("r", [gw_ref("gw")], [rule(be("a"), sessionPersistence={"type": "Header", "header": {}})])]
    assert [p for p, _ in _issues(objs)] == [f"{SP}.header.name"]


def test_cookie_session_may_leave_its_name_to_the_implementation():
    objs = [httproute("r", [gw_ref("gw")], [rule(be("a"), sessionPersistence={"type": "Cookie"})])]
    (route,) = routecore.load(objs).routes
    assert route.rules[0].session_persistence.cookie_name is None


# --- status only for the parents routecore owns ------------------------------------------------

def test_no_parent_status_for_a_gateway_that_does_not_exist(twin, make_router):
    objs = [gateway("gw", listener("web", 80, from_="All")),
            httproute("r", [gw_ref("gone"), gw_ref("gw")], [rule(be("a"))])]
    router = make_router(objs, twin)
    parents = router.status("HTTPRoute", APPS, "r")["parents"]
    assert [p["parentRef"]["name"] for p in parents] == ["gw"]
    # the attachment record is still there (routecore check warns about it)
    gone, _ = router.attachments.of_route("HTTPRoute", APPS, "r")
    assert (gone.accepted, gone.reason, gone.owned) == (False, "NoMatchingParent", False)


def test_no_parent_status_for_a_missing_gateway_of_a_route_left_out():
    bad = {"apiVersion": GRPC, "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": APPS},
           "spec": {"parentRefs": [{"name": "gone", "namespace": INFRA}, {"name": "gw", "namespace": INFRA}],
                    "hostnames": ["Not_A_Host"], "rules": [{"backendRefs": [{"name": "a", "port": 80}]}]}}
    router = routecore.Router(routecore.load([gateway("gw", listener("web", 80, from_="All")), bad],
                                             strict=False), native=False)
    parents = router.status("HTTPRoute", APPS, "r")["parents"]
    assert [p["parentRef"]["name"] for p in parents] == ["gw"]
    assert parents[0]["conditions"][0]["reason"] == "UnsupportedValue"


def test_mesh_and_unsupported_parents_keep_their_status(make_router):
    objs = [httproute("r", [{"group": "", "kind": "Service", "name": "svc", "port": 80},
                            {"group": "example.com", "kind": "Mesh", "name": "m"}], [rule(be("a"))])]
    parents = make_router(objs, False).status("HTTPRoute", APPS, "r")["parents"]
    assert [p["parentRef"]["kind"] for p in parents] == ["Service", "Mesh"]
