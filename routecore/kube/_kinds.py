"""The Kubernetes kinds routecore.kube lists and watches, and how each is addressed.

Invariants:
- Every object routecore.kube stores carries ``kind`` and ``apiVersion`` (list items of built-in
  kinds come without them; the reflector puts them back from the KindInfo it lists with), and is
  keyed by ``(kind, namespace, name)`` with namespace ``None`` for cluster-scoped kinds.
- ``versions`` are the versions of a kind that routecore's parser accepts, in order of
  preference; which one is read is chosen by API discovery (_discovery.py): the first the server
  serves. The newest comes first, except for TLS/TCP/UDPRoute: v1alpha2 first while it is served.
  The CRDs convert nothing (strategy None), so an object written at v1alpha2 (up to 16 rules, a
  TLSRoute without hostnames) is served unchanged at v1, where routecore's v1 schema (one rule,
  hostnames required) would refuse it; v1alpha2's schema takes every object of either version.
  Where v1alpha2 is no longer served (standard channel, v1.6), v1 is read. The entries of WATCHED
  carry the first as ``version``.
- Not read: ``XListenerSet`` (gateway.networking.x-k8s.io/v1alpha1, experimental channel v1.3 and
  v1.4), the predecessor of ListenerSet. Its schema is not ListenerSet v1's (a listener's ``port``
  is optional, 0 meaning "assign one"; status entries require ``port`` and ``supportedKinds``; routes
  name it as group gateway.networking.x-k8s.io, kind XListenerSet), so it is not relabelled as one.
"""
from __future__ import annotations

from typing import Optional, Tuple

from attrs import evolve, frozen

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
    # not served by every Gateway API release/channel: its absence is normal (logged at info)
    optional: bool = False
    # a fieldSelector the list/watch of this kind is restricted to
    field_selector: Optional[str] = None
    # the versions routecore's parser accepts, newest first (empty: ``version`` only)
    versions: Tuple[str, ...] = ()

    def at(self, version: str) -> "KindInfo":
        return evolve(self, version=version)

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


_G = GATEWAY_GROUP
GATEWAY_CLASS = KindInfo("GatewayClass", _G, "v1", "gatewayclasses", namespaced=False, versions=("v1", "v1beta1"))
GATEWAY = KindInfo("Gateway", _G, "v1", "gateways", versions=("v1", "v1beta1"))
HTTP_ROUTE = KindInfo("HTTPRoute", _G, "v1", "httproutes", versions=("v1", "v1beta1"))
GRPC_ROUTE = KindInfo("GRPCRoute", _G, "v1", "grpcroutes", versions=("v1", "v1alpha2"))
REFERENCE_GRANT = KindInfo("ReferenceGrant", _G, "v1", "referencegrants", versions=("v1", "v1beta1"))
LISTENER_SET = KindInfo("ListenerSet", _G, "v1", "listenersets", optional=True, versions=("v1",))
TLS_ROUTE = KindInfo("TLSRoute", _G, "v1alpha2", "tlsroutes", optional=True,
                     versions=("v1alpha2", "v1", "v1alpha3"))
TCP_ROUTE = KindInfo("TCPRoute", _G, "v1alpha2", "tcproutes", optional=True, versions=("v1alpha2", "v1"))
UDP_ROUTE = KindInfo("UDPRoute", _G, "v1alpha2", "udproutes", optional=True, versions=("v1alpha2", "v1"))
BACKEND_TLS_POLICY = KindInfo("BackendTLSPolicy", _G, "v1", "backendtlspolicies", optional=True,
                              versions=("v1", "v1alpha3"))
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
