"""Objects for tests of routecore.kube: a GatewayClass of ours, a Gateway, routes, Services."""
from __future__ import annotations

GW_API = "gateway.networking.k8s.io/v1"
CONTROLLER = "routecore.dev/gateway-controller"


def gateway_class(name="routecore", controller=CONTROLLER):
    return {"apiVersion": GW_API, "kind": "GatewayClass", "metadata": {"name": name},
            "spec": {"controllerName": controller}}


def namespace(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def gateway(name="edge", ns="infra", cls="routecore", port=80):
    return {"apiVersion": GW_API, "kind": "Gateway", "metadata": {"name": name, "namespace": ns},
            "spec": {"gatewayClassName": cls, "listeners": [
                {"name": "web", "port": port, "protocol": "HTTP",
                 "allowedRoutes": {"namespaces": {"from": "All"}}}]}}


def service(name, ns="shop", port=80):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"port": port}]}}


def route(name, ns="shop", backend="v1", path="/", gateway=("infra", "edge"), host=None, port=80):
    spec = {"parentRefs": [{"name": gateway[1], "namespace": gateway[0]}],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": path}}],
                       "backendRefs": [{"name": backend, "port": port}]}]}
    if host:
        spec["hostnames"] = [host]
    return {"apiVersion": GW_API, "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def basic_cluster(api, routes=1):
    """A GatewayClass of ours, Gateway infra/edge:80, Services shop/v1 and shop/v2, ``routes``
    HTTPRoutes shop/r0.. (r0 on / to v1, the others on /p<i>)."""
    api.apply(gateway_class())
    for ns in ("infra", "shop"):
        api.apply(namespace(ns))
    api.apply(gateway())
    api.apply(service("v1"))
    api.apply(service("v2"))
    for i in range(routes):
        api.apply(route(f"r{i}", path="/" if i == 0 else f"/p{i}"))


def tcp_listener(name="tcp", port=9000):
    """A Gateway listener for TCPRoutes (to put in ``gateway()["spec"]["listeners"]``)."""
    return {"name": name, "port": port, "protocol": "TCP", "allowedRoutes": {"namespaces": {"from": "All"}}}


def stream_route(kind, name, ns="shop", backend="v1", port=80, gateway=("infra", "edge"), section=None):
    """A TLSRoute, TCPRoute or UDPRoute (v1alpha2) to ``backend``."""
    ref = {"name": gateway[1], "namespace": gateway[0]}
    if section:
        ref["sectionName"] = section
    return {"apiVersion": "gateway.networking.k8s.io/v1alpha2", "kind": kind,
            "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [ref], "rules": [{"backendRefs": [{"name": backend, "port": port}]}]}}


def listener_set(name, ns="shop", gateway=("infra", "edge"), port=8080):
    """A ListenerSet with one HTTP entry (its Gateway must allow ListenerSets: allowedListeners)."""
    return {"apiVersion": GW_API, "kind": "ListenerSet", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRef": {"name": gateway[1], "namespace": gateway[0]},
                     "listeners": [{"name": f"{name}-web", "port": port, "protocol": "HTTP"}]}}


def backend_tls_policy(name, service, ns="shop", hostname="v1.internal"):
    """A BackendTLSPolicy (v1alpha3) on ``service``, verified against the system CAs."""
    return {"apiVersion": "gateway.networking.k8s.io/v1alpha3", "kind": "BackendTLSPolicy",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": service}],
                     "validation": {"hostname": hostname, "wellKnownCACertificates": "System"}}}
