"""Hypothesis strategies for the L4/TLS kinds: a Gateway with TLS (Passthrough, Terminate), TCP,
UDP (and now and then HTTP, to conflict) listeners, TLSRoutes, TCPRoutes and UDPRoutes attached to
it, optional Services and a BackendTLSPolicy, as users write them (dicts); and the connections to
try (``stream_connections``).

Invariant: every object is valid (it loads with strict=True); the alphabets are small, so
hostnames, ports, ages and names collide often.
"""
from __future__ import annotations

from hypothesis import strategies as st

from ._objects import BACKENDS, GATEWAY_GROUP, TIMESTAMPS

STREAM_LISTENERS = (
    (443, "TLS", None, "Passthrough"), (443, "TLS", "*.example.com", "Passthrough"),
    (443, "TLS", "a.example.com", "Terminate"), (443, "TLS", "*.com", "Passthrough"),
    (443, "TLS", "*.a.example.com", "Terminate"),
    (5000, "TCP", None, None), (5000, "UDP", None, None), (5001, "TCP", None, None),
    (5001, "UDP", None, None), (443, "HTTP", None, None), (5000, "HTTP", "a.example.com", None),
    (443, "HTTPS", "b.example.com", "Terminate"), (443, "HTTPS", "*.a.example.com", "Terminate"),
)
TLS_ROUTE_HOSTNAMES = ("a.example.com", "b.example.com", "*.example.com", "*.com", "x.a.example.com",
                       "*.a.example.com")
STREAM_KINDS = ("TLSRoute", "TCPRoute", "UDPRoute")
STREAM_NAMESPACES = ("default", "team")
SNIS = ("a.example.com", "b.example.com", "x.a.example.com", "y.x.a.example.com", "c.com", "other.org",
        "A.Example.COM.", "", None)
STREAM_PORTS = (443, 5000, 5001)


@st.composite
def _listeners(draw):
    picks = draw(st.lists(st.sampled_from(STREAM_LISTENERS), min_size=1, max_size=5,
                          unique_by=lambda x: (x[0], x[1], x[2])))
    listeners = []
    for i, (port, proto, host, mode) in enumerate(picks):
        lis = {"name": f"l{i}", "port": port, "protocol": proto}
        if host is not None:
            lis["hostname"] = host
        if mode is not None:
            lis["tls"] = {"mode": mode}
            if mode == "Terminate":
                lis["tls"]["certificateRefs"] = [{"name": "cert"}]
        allowed = {"namespaces": {"from": draw(st.sampled_from(("All", "Same")))}}
        if draw(st.integers(0, 5)) == 0:
            allowed["kinds"] = [{"kind": draw(st.sampled_from(STREAM_KINDS))}]
        lis["allowedRoutes"] = allowed
        listeners.append(lis)
    return listeners


@st.composite
def _gateway(draw):
    spec = {"gatewayClassName": "gc", "listeners": draw(_listeners())}
    frm = draw(st.sampled_from((None, "All", "All", "All", "Same", "None")))
    if frm is not None:
        spec["allowedListeners"] = {"namespaces": {"from": frm}}
    return {"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "default"},
            "spec": spec}


@st.composite
def _listener_set(draw, name):
    meta = {"name": name, "namespace": draw(st.sampled_from(STREAM_NAMESPACES))}
    ts = draw(st.sampled_from((None,) + TIMESTAMPS))
    if ts is not None:
        meta["creationTimestamp"] = ts
    return {"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "ListenerSet", "metadata": meta,
            "spec": {"parentRef": {"name": "gw", "namespace": "default"}, "listeners": draw(_listeners())}}


@st.composite
def _route(draw, kind, ns, name, listener_names, sets):
    meta = {"name": name, "namespace": ns}
    ts = draw(st.sampled_from((None,) + TIMESTAMPS))
    if ts is not None:
        meta["creationTimestamp"] = ts
    ref = {"name": "gw", "namespace": "default"}
    if sets and draw(st.integers(0, 2)):
        ls = draw(st.sampled_from(sets))
        ref = {"kind": "ListenerSet", "name": ls["metadata"]["name"], "namespace": ls["metadata"]["namespace"]}
        listener_names = [l["name"] for l in ls["spec"]["listeners"]]
    how = draw(st.integers(0, 4))
    if how == 1:
        ref["sectionName"] = draw(st.sampled_from(listener_names))
    elif how == 2:
        ref["port"] = draw(st.sampled_from(STREAM_PORTS))
    backends = []
    for b in draw(st.lists(st.sampled_from(BACKENDS), min_size=1, max_size=3, unique=True)):
        ref_b = {"name": b, "port": 80, "weight": draw(st.sampled_from((1, 1, 2, 0)))}
        if draw(st.integers(0, 6)) == 0:
            ref_b["namespace"] = "other"
        if draw(st.integers(0, 9)) == 0:
            ref_b = {"group": "example.io", "kind": "Thing", "name": b}
        backends.append(ref_b)
    spec = {"parentRefs": [ref], "rules": [{"backendRefs": backends}]}
    if kind == "TLSRoute":
        spec["hostnames"] = draw(st.lists(st.sampled_from(TLS_ROUTE_HOSTNAMES), min_size=1, max_size=2, unique=True))
    api = f"{GATEWAY_GROUP}/v1" if kind == "TLSRoute" else draw(st.sampled_from(
        (f"{GATEWAY_GROUP}/v1", f"{GATEWAY_GROUP}/v1alpha2")))
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


@st.composite
def stream_configs(draw):
    """Valid configurations: one Gateway ``default/gw`` with TLS/TCP/UDP (maybe HTTP/HTTPS)
    listeners and maybe ListenerSets (admitted or not by ``allowedListeners``),
    1..4 TLS/TCP/UDPRoutes, maybe Services (then a missing one is BackendNotFound) and a
    BackendTLSPolicy on b1."""
    gw = draw(_gateway())
    names = [l["name"] for l in gw["spec"]["listeners"]]
    sets = [draw(_listener_set(n)) for n in draw(st.lists(st.sampled_from(("ls1", "ls2")), unique=True))]
    objs = [gw] + sets
    keys = draw(st.lists(st.tuples(st.sampled_from(STREAM_KINDS), st.sampled_from(STREAM_NAMESPACES),
                                   st.sampled_from(("r", "s"))), min_size=1, max_size=4, unique=True))
    for kind, ns, name in keys:
        objs.append(draw(_route(kind, ns, name, names, sets)))
    if draw(st.booleans()):
        for ns in STREAM_NAMESPACES:
            for b in draw(st.lists(st.sampled_from(BACKENDS), unique=True)):
                objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": b, "namespace": ns},
                             "spec": {"ports": [{"port": 80}]}})
    if draw(st.integers(0, 3)) == 0:
        objs.append({"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "BackendTLSPolicy",
                     "metadata": {"name": "p", "namespace": draw(st.sampled_from(STREAM_NAMESPACES))},
                     "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": "b1"}],
                              "validation": {"hostname": "b1.example.com", "wellKnownCACertificates": "System"}}})
    return objs


def stream_connections():
    """(port, sni) for route_tls and (port, protocol) for route_stream."""
    return st.one_of(st.tuples(st.just("tls"), st.sampled_from(STREAM_PORTS), st.sampled_from(SNIS)),
                     st.tuples(st.just("stream"), st.sampled_from(STREAM_PORTS),
                               st.sampled_from((None, "TCP", "UDP"))))
