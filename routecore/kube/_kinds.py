"""The Kubernetes kinds routecore.kube lists and watches, and how each is addressed.

Invariant: every object routecore.kube stores carries ``kind`` and ``apiVersion`` (list items of
built-in kinds come without them; the reflector puts them back from this table), and is keyed
by ``(kind, namespace, name)`` with namespace ``None`` for cluster-scoped kinds.
"""
from __future__ import annotations

from typing import Optional, Tuple

from attrs import frozen

from .._compile.options import DEFAULT_CONTROLLER

GATEWAY_GROUP = "gateway.networking.k8s.io"

Key = Tuple[str, Optional[str], str]  # (kind, namespace or None, name)


@frozen
class KindInfo:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    # served only where the CRD is installed: a 404 on list means "none of these", not an error
    optional: bool = False
    # a fieldSelector the list/watch of this kind is restricted to
    field_selector: Optional[str] = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: Optional[str] = None, name: Optional[str] = None,
             subresource: Optional[str] = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base


GATEWAY_CLASS = KindInfo("GatewayClass", GATEWAY_GROUP, "v1", "gatewayclasses", namespaced=False)
GATEWAY = KindInfo("Gateway", GATEWAY_GROUP, "v1", "gateways")
HTTP_ROUTE = KindInfo("HTTPRoute", GATEWAY_GROUP, "v1", "httproutes")
GRPC_ROUTE = KindInfo("GRPCRoute", GATEWAY_GROUP, "v1", "grpcroutes")
REFERENCE_GRANT = KindInfo("ReferenceGrant", GATEWAY_GROUP, "v1beta1", "referencegrants")
LISTENER_SET = KindInfo("ListenerSet", GATEWAY_GROUP, "v1", "listenersets", optional=True)
TLS_ROUTE = KindInfo("TLSRoute", GATEWAY_GROUP, "v1alpha2", "tlsroutes", optional=True)
TCP_ROUTE = KindInfo("TCPRoute", GATEWAY_GROUP, "v1alpha2", "tcproutes", optional=True)
UDP_ROUTE = KindInfo("UDPRoute", GATEWAY_GROUP, "v1alpha2", "udproutes", optional=True)
BACKEND_TLS_POLICY = KindInfo("BackendTLSPolicy", GATEWAY_GROUP, "v1alpha3", "backendtlspolicies",
                              optional=True)
SERVICE = KindInfo("Service", "", "v1", "services")
NAMESPACE = KindInfo("Namespace", "", "v1", "namespaces", namespaced=False)
# only TLS Secrets: listeners reference certificates, nothing else of a Secret is read
SECRET = KindInfo("Secret", "", "v1", "secrets", field_selector="type=kubernetes.io/tls")
CONFIG_MAP = KindInfo("ConfigMap", "", "v1", "configmaps")
LEASE = KindInfo("Lease", "coordination.k8s.io", "v1", "leases")

WATCHED = (GATEWAY_CLASS, GATEWAY, LISTENER_SET, HTTP_ROUTE, GRPC_ROUTE, REFERENCE_GRANT, TLS_ROUTE,
           TCP_ROUTE, UDP_ROUTE, BACKEND_TLS_POLICY, SERVICE, NAMESPACE, SECRET, CONFIG_MAP)
BY_KIND = {k.kind: k for k in WATCHED + (LEASE,)}
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")


def key_of(info: KindInfo, obj: dict) -> Key:
    meta = obj.get("metadata") or {}
    return (info.kind, meta.get("namespace") if info.namespaced else None, meta.get("name"))
