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
