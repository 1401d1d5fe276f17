"""Differential tests: the native twin, the pure-Python twin and routecore.testing's reference agree.

The configurations and requests come from the public ``routecore.testing`` strategies: valid
route sets as users write them (dicts) over small alphabets, so paths, header names and
precedence keys collide often; requests biased to hit, nearly hit and miss the rules
(``requests_for``) mixed with config-independent ones (``generic_requests``). Each request is
sent, in one of several header forms (list, tuple, bytes, mixed, dict, generator; now and then
a bytes method or Host), to ``Router(..., native=True)`` and ``Router(..., native=False)`` (same
seed, so weighted choices agree), and every public attribute of every Decision is compared, in
order. Every decision is also checked against ``routecore.testing.reference_decide``, the
spec-literal oracle that uses no routecore internals: the route, rule, listener, status and
backend must be one it admits. ``test_mesh_twins_match_spec_oracle`` keeps its exact check:
for mesh route sets without filters or zero weights, (route, rule) equal the oracle's.

The configurations: mesh and Gateway route sets; GRPCRoutes on a mesh Service port; Gateway
routes with cross-namespace backendRefs and mirror targets under generated ReferenceGrants
(right, or near misses), optional Service and Namespace objects, several listeners per port
(hostnames, HTTP/HTTPS, allowedRoutes Same/All/Selector, kinds, protocol conflicts), parentRefs
with sectionName/port, requests with an SNI (421 when it selects another listener than the
Host); mesh parents with and without port and sectionName (Service port names), several client
namespaces (consumer routes), Service ports 80 and 8080.

TLS, TCP and UDP (``test_stream_twins_match_each_other_and_the_oracle``): Gateways with TLS
(Passthrough, Terminate), HTTPS, TCP, UDP and conflicting HTTP listeners, ListenerSets admitted or
not, TLSRoutes/TCPRoutes/UDPRoutes attached to either (sectionName, port), invalid backends,
Services and a BackendTLSPolicy (``routecore.testing.stream_configs``); ``route_tls(sni)`` and
``route_stream(protocol)`` on both twins, compared with each other and with
``routecore.testing.reference_decide_stream``.

Profiles: "ci" (default; Hypothesis' built-in "ci" profile when it exists, which derandomizes, so
CI runs the same 3500 examples every time) and "long" (20000 examples per test, random):
HYPOTHESIS_PROFILE=long, or ``pytest --hypothesis-profile=long`` once a conftest registers the
profiles (``routecore.testing.register_profiles()``).
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, note, settings, strategies as st
from hypothesis import given
from hypothesis.errors import InvalidArgument

import routecore
from routecore import _match
from routecore.testing import configs, generic_requests, parents, reference_decide, requests_for

# --- profiles ------------------------------------------------------------------------------------

_CI_EXAMPLES = {"mesh": 800, "gateway": 700, "oracle": 700, "grpc": 400,  # 2600
                "gateway_full": 500, "mesh_full": 400}  # 3500 in all


def _register(name, **kwargs):
    try:
        settings.get_profile(name)
    except InvalidArgument:
        settings.register_profile(name, **kwargs)


_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
               print_blob=True)
_register("ci", max_examples=max(_CI_EXAMPLES.values()), **_COMMON)
_register("long", max_examples=20000, **_COMMON)
_PROFILE = ("long" if os.environ.get("HYPOTHESIS_PROFILE") == "long"
            or settings.get_current_profile_name() == "long" else "ci")


def _settings(kind):
    base = settings.get_profile(_PROFILE)
    n = base.max_examples if _PROFILE == "long" else _CI_EXAMPLES[kind]
    return settings(base, max_examples=n, deadline=None, suppress_health_check=list(
        set(base.suppress_health_check) | {HealthCheck.too_slow, HealthCheck.data_too_large}))


def test_native_extension_is_built():
    """The differential tests are worthless against one twin: never skip, fail instead."""
    assert _match.NativeTable is not None, "routecore._match_c is not built: run pip install -e ."


# --- requests: routecore.testing's dicts, sent in every form view.route takes --------------------

FORMS = ["list", "list", "tuple", "bytes", "mixed", "dict", "generator"]


def as_pairs(form, pairs):
    """The (name, value) str pairs a headers argument of this form carries."""
    return list(dict(pairs).items()) if form == "dict" else list(pairs)


def materialize(form, pairs):
    """A fresh headers argument (a generator can only be read once, so build one per call)."""
    if form == "list":
        return list(pairs)
    if form == "tuple":
        return tuple(pairs)
    if form == "bytes":
        return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs]
    if form == "mixed":
        return [(n.encode("latin-1"), v) if i % 2 else (n, v.encode("latin-1"))
                for i, (n, v) in enumerate(pairs)]
    if form == "dict":
        return dict(pairs)
    if form == "generator":
        return (p for p in pairs)
    raise AssertionError(form)


@st.composite
def _calls(draw, reqs):
    """(method, target, (form, pairs), host, sni): a request dict as view.route arguments."""
    req = draw(reqs)
    method, host = req["method"], req["host"]
    if method == "GET" and draw(st.integers(0, 4)) == 0:
        method = b"GET"
    if isinstance(host, str) and draw(st.integers(0, 9)) == 0:
        host = host.encode("utf-8")
    return method, req["target"], (draw(st.sampled_from(FORMS)), tuple(req["headers"])), host, req.get("sni")


@st.composite
def cases(draw, config_strategy, max_requests=8):
    """(objects, request calls): three requests in four are biased to the configuration."""
    objs = draw(config_strategy)
    biased = requests_for(objs)
    generic = generic_requests(grpc=any(o["kind"] == "GRPCRoute" for o in objs),
                               sni=any(o["kind"] == "Gateway" for o in objs))
    reqs = draw(st.lists(_calls(st.one_of(biased, biased, biased, generic)), min_size=1,
                         max_size=max_requests))
    return objs, reqs


router_options = st.fixed_dictionaries({
    "regex_precedence": st.sampled_from(["after-prefix", "before-prefix"]),
    "normalize_path": st.booleans(),
    "merge_slashes": st.booleans(),
    "escaped_slashes": st.sampled_from(["reject", "keep", "unescape"]),
})


# --- running both twins and the reference --------------------------------------------------------

# view.route answers every malformed request with a Decision (README: malformed requests get a
# defined result); the only exception it documents is TypeError for arguments of the wrong type.
# Any other exception is a bug even when both twins raise it, so it propagates and fails the test.
EXPECTED_ERRORS = (TypeError,)


def outcome(view, req, decisions=None):
    """Everything observable about one call, or the expected exception it raised (type and
    message, which both twins must share); the Decision is appended to ``decisions`` when given."""
    method, target, (form, pairs), host = req[:4]
    sni = req[4] if len(req) > 4 else None
    try:
        d = view.route(method, target, materialize(form, pairs), host=host, sni=sni)
    except EXPECTED_ERRORS as exc:
        return ("error", type(exc).__name__, str(exc))
    if decisions is not None:
        decisions.append(d)
    return ("ok", d.to_dict(), d.apply_request_headers([("X-A", "orig"), ("x-keep", "k")]),
            d.apply_response_headers([("x-r", "1")]), repr(d))


def reference_of(objs, parent, req, options):
    method, target, (form, pairs), host = req[:4]
    sni = req[4] if len(req) > 4 else None
    request = {"method": method, "target": target, "headers": as_pairs(form, pairs), "host": host, "sni": sni}
    return reference_decide(objs, parent, request, **options)


def compare(native_view, python_view, reqs, objs=None, parent=None, options=None):
    for i, req in enumerate(reqs):
        decisions = []
        n, p = outcome(native_view, req, decisions), outcome(python_view, req)
        if n != p:
            note(f"request #{i}: {req!r}")
            note(f"native: {n!r}")
            note(f"python: {p!r}")
        assert n == p, f"twins disagree on request #{i} {req!r}"
        if objs is None or n[0] != "ok":
            continue
        expected = reference_of(objs, parent, req, options)
        d = decisions[0]
        if not expected.admits(d):
            note(f"request #{i}: {req!r} at {parent!r}")
            note(f"twins: {d!r}")
            note(f"reference: {expected!r}")
        assert expected.admits(d), f"twins disagree with reference_decide on request #{i}"


def twins(objs, **options):
    config = routecore.load(objs)
    return (routecore.Router(config, seed=7, native=True, **options),
            routecore.Router(config, seed=7, native=False, **options))


def views(routers, parent):
    if parent["kind"] == "Gateway":
        return [r.gateway(parent["name"], namespace=parent["namespace"], port=parent["port"]) for r in routers]
    return [r.service(parent["name"], namespace=parent["namespace"], port=parent["port"],
                      client_namespace=parent.get("client_namespace")) for r in routers]


MESH = dict(parent="mesh", shape="simple", grants=False, services=False, namespaces=False)


def _mesh_parent(client, port=80):
    return {"kind": "Service", "namespace": "default", "name": "svc", "port": port, "client_namespace": client}


@_settings("mesh")
@given(case=cases(configs(grpc=False, **MESH), 10), options=router_options,
       client=st.sampled_from([None, "team", "team-x", "default"]))
def test_mesh_twins_agree(case, options, client):
    objs, reqs = case
    parent = _mesh_parent(client)
    compare(*views(twins(objs, **options), parent), reqs, objs, parent, options)


GW_PARENT = {"kind": "Gateway", "namespace": "default", "name": "gw", "port": 80}


@_settings("gateway")
@given(case=cases(configs(parent="gateway", shape="simple", grpc=False, grants=False, services=False,
                          namespaces=False), 10), options=router_options)
def test_gateway_twins_agree(case, options):
    objs, reqs = case
    compare(*views(twins(objs, **options), GW_PARENT), reqs, objs, GW_PARENT, options)


# --- GRPCRoutes on a mesh Service port (alone, or with HTTPRoutes they take the port from) --------

@_settings("grpc")
@given(case=cases(configs(grpc="only", **MESH), 10), options=router_options,
       client=st.sampled_from([None, "team", "team-x", "default"]))
def test_mesh_grpc_twins_agree(case, options, client):
    objs, reqs = case
    parent = _mesh_parent(client)
    compare(*views(twins(objs, **options), parent), reqs, objs, parent, options)


# --- ReferenceGrants, Services, Namespaces, full Gateway listeners, SNI, mesh ports -----------------
#
# configs(parent="gateway") (shape "full"): Gateway-attached routes (HTTPRoute and a few
# GRPCRoutes) reference backends and mirror targets in other namespaces; ReferenceGrants are built
# for some of those references, right or with one field off (grant namespace, from
# group/kind/namespace, to group/kind/name), v1 or v1beta1. Services are given half of the time
# (then a reference to a missing one is BackendNotFound). The Gateway has up to eight listeners on
# ports 80 and 443 (HTTP, HTTPS, now and then a conflicting protocol), hostnames None,
# "*.example.com", "a.example.com", "*.a.example.com", allowedRoutes Same/All/Selector (Namespace
# objects carry labels) and kinds; parentRefs carry sectionName and port, some matching nothing.
# Requests carry an SNI (often the Host's name, so that most are not misdirected).

@_settings("gateway_full")
@given(case=cases(configs(parent="gateway")), options=router_options)
def test_gateway_grants_listeners_sni_twins_agree(case, options):
    objs, reqs = case
    routers = twins(objs, **options)
    for parent in parents(objs):
        note(f"Gateway port {parent['port']}")
        compare(*views(routers, parent), reqs, objs, parent, options)


# mesh parents with and without port, with sectionName (Service port names), consumer routes

@_settings("mesh_full")
@given(case=cases(configs(parent="mesh")), options=router_options,
       clients=st.lists(st.sampled_from([None, "default", "team", "team-x", "elsewhere"]),
                        min_size=1, max_size=2, unique=True))
def test_mesh_ports_sections_consumers_twins_agree(case, options, clients):
    objs, reqs = case
    routers = twins(objs, **options)
    for port in (80, 8080):
        for client in clients:
            note(f"Service port {port}, client namespace {client!r}")
            parent = _mesh_parent(client, port)
            compare(*views(routers, parent), reqs, objs, parent, options)


# --- the spec-literal oracle: exact (route, rule) on simple mesh route sets ------------------------

@_settings("oracle")
@given(case=cases(configs(grpc=False, simple_rules=True, **MESH), 10), options=router_options,
       client=st.sampled_from([None, "team", "team-x"]))
def test_mesh_twins_match_spec_oracle(case, options, client):
    objs, reqs = case
    parent = _mesh_parent(client)
    both = views(twins(objs, **options), parent)
    for i, req in enumerate(reqs):
        expected = reference_of(objs, parent, req, options)
        method, target, (form, pairs), host = req[:4]
        for view, twin in zip(both, ("native", "python")):
            d = view.route(method, target, materialize(form, pairs), host=host)
            got = (d.route, d.rule)
            if got != (expected.route, expected.rule):
                note(f"request #{i}: {req!r}; {twin} twin: {got}, oracle: {expected}")
            assert got == (expected.route, expected.rule), f"{twin} twin disagrees with the spec oracle on request #{i}"
            assert d.matched == expected.matched
            assert expected.admits(d)


# --- TLS, TCP and UDP connections (route_tls / route_stream) --------------------------------------

from routecore.testing import reference_decide_stream, stream_configs, stream_connections  # noqa: E402


@settings(max_examples=400 if _PROFILE == "ci" else 20000)
@given(objs=stream_configs(), conns=st.lists(stream_connections(), min_size=1, max_size=6))
def test_stream_twins_match_each_other_and_the_oracle(objs, conns):
    """route_tls / route_stream: both twins (same seed) give equal decisions, and each is one the
    reference (routecore.testing.reference_decide_stream) admits, with its TLS mode."""
    routers = [routecore.Router(routecore.load(objs), seed=7, native=n)
               for n in ((True, False) if _match.NATIVE else (False,))]
    for how, port, arg in conns:
        decisions = []
        for router in routers:
            try:
                view = router.gateway("gw", "default", port)
            except LookupError:
                continue
            d = view.route_tls(arg) if how == "tls" else view.route_stream(arg)
            decisions.append(d)
            expected, mode = (reference_decide_stream(objs, port, sni=arg) if how == "tls" else
                              reference_decide_stream(objs, port, tls=False, protocol=arg))
            note(f"{how} port {port} {arg!r}\nreference {expected} mode {mode}\ngot {d!r} {d.tls_mode}")
            assert expected.admits(d)
            assert d.tls_mode == (mode if how == "tls" else None)
            assert d.matched == (d.route is not None)
        assert all(x.to_dict() == decisions[0].to_dict() for x in decisions[1:]), "the twins disagree"
