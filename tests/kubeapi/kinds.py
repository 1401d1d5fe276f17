"""The resource types the Kubernetes API test server serves, per API layout, and the discovery
documents (``/api``, ``/apis``, ``/apis/G/V``, ``/openapi/v3``) that describe them.

Invariants:
- A layout is the set of kinds and served versions of one Gateway API release channel (read
  from the CRDs of kubernetes-sigs/gateway-api at that tag: which versions have ``served: true``)
  plus the built-in kinds. Objects are stored per ``(group, plural)``, so switching the layout of a
  running server keeps them; only what is served (and at which versions) changes.
- Two ``Kind`` objects are the same kind when group and plural are equal (layouts share nothing).
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

GATEWAY_GROUP = "gateway.networking.k8s.io"
X_GATEWAY_GROUP = "gateway.networking.x-k8s.io"


class Kind:
    """One resource type as discovery describes it."""

    def __init__(self, group, versions, plural, kind, namespaced=True, status=False,
                 generation=False, short=(), builtin=False):
        self.group, self.versions, self.plural, self.kind = group, tuple(versions), plural, kind
        self.namespaced, self.status, self.generation = namespaced, status, generation
        self.short, self.builtin = list(short), builtin
        self.singular = kind.lower()

    def __eq__(self, other):
        return isinstance(other, Kind) and (self.group, self.plural) == (other.group, other.plural)

    def __hash__(self):
        return hash((self.group, self.plural))

    def api_version(self, version):
        return f"{self.group}/{version}" if self.group else version


_BUILTIN = [
    Kind("", ["v1"], "namespaces", "Namespace", namespaced=False, status=True, short=["ns"], builtin=True),
    Kind("", ["v1"], "services", "Service", status=True, short=["svc"], builtin=True),
    Kind("", ["v1"], "secrets", "Secret", builtin=True),
    Kind("", ["v1"], "configmaps", "ConfigMap", short=["cm"], builtin=True),
    Kind("coordination.k8s.io", ["v1"], "leases", "Lease", builtin=True),
]


def _gw(versions, plural, kind, **kw) -> Kind:
    return Kind(GATEWAY_GROUP, versions, plural, kind, generation=True, **kw)


def _layout(*, refgrant, grpc=("v1",), listener_set=None, xlistener_set=None, tls=None, tcp=None,
            udp=None, btls=None) -> List[Kind]:
    kinds = _BUILTIN + [
        _gw(["v1", "v1beta1"], "gatewayclasses", "GatewayClass", namespaced=False, status=True, short=["gc"]),
        _gw(["v1", "v1beta1"], "gateways", "Gateway", status=True, short=["gtw"]),
        _gw(["v1", "v1beta1"], "httproutes", "HTTPRoute", status=True),
        _gw(grpc, "grpcroutes", "GRPCRoute", status=True),
        _gw(refgrant, "referencegrants", "ReferenceGrant", short=["refgrant"]),
    ]
    optional = [(listener_set, "listenersets", "ListenerSet", ["lset"]),
                (tls, "tlsroutes", "TLSRoute", []), (tcp, "tcproutes", "TCPRoute", []),
                (udp, "udproutes", "UDPRoute", []),
                (btls, "backendtlspolicies", "BackendTLSPolicy", ["btlspolicy"])]
    kinds += [_gw(v, plural, kind, status=True, short=short) for v, plural, kind, short in optional if v]
    if xlistener_set:
        kinds.append(Kind(X_GATEWAY_GROUP, xlistener_set, "xlistenersets", "XListenerSet", status=True,
                          generation=True, short=["lset"]))
    return kinds


# name -> kinds; the served versions of the Gateway API CRDs of that release and channel
LAYOUTS: Dict[str, List[Kind]] = {
    "v1.6-experimental": _layout(refgrant=["v1", "v1beta1"], listener_set=["v1"],
                                 tls=["v1", "v1alpha3", "v1alpha2"], tcp=["v1", "v1alpha2"],
                                 udp=["v1", "v1alpha2"], btls=["v1", "v1alpha3"]),
    "v1.6-standard": _layout(refgrant=["v1", "v1beta1"], listener_set=["v1"], tls=["v1"], tcp=["v1"],
                             udp=["v1"], btls=["v1"]),
    "v1.4-experimental": _layout(refgrant=["v1beta1"], xlistener_set=["v1alpha1"],
                                 tls=["v1alpha3", "v1alpha2"], tcp=["v1alpha2"], udp=["v1alpha2"],
                                 btls=["v1", "v1alpha3"]),
    "v1.3-experimental": _layout(refgrant=["v1beta1"], xlistener_set=["v1alpha1"], tls=["v1alpha2"],
                                 tcp=["v1alpha2"], udp=["v1alpha2"], btls=["v1alpha3"]),
    "v1.2-standard": _layout(refgrant=["v1beta1"]),
}
DEFAULT_LAYOUT = "v1.6-experimental"
# every kind of every layout (tests may store objects of kinds the current layout does not serve)
ALL_KINDS: List[Kind] = list({k: k for layout in LAYOUTS.values() for k in layout}.values())

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def served(kinds: Sequence[Kind], group: str, version: str, plural: str) -> Optional[Kind]:
    return next((k for k in kinds if k.group == group and k.plural == plural and version in k.versions), None)


def groups(kinds: Sequence[Kind]) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for k in kinds:
        if k.group:
            versions = out.setdefault(k.group, [])
            versions += [v for v in k.versions if v not in versions]
    return out


def _priority(version: str):
    """Kubernetes version priority: GA before beta before alpha, higher numbers first."""

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    level = {"beta": 1, "alpha": 2}.get(m.group(2) or "", 0)
    return (level, -int(m.group(1)), -int(m.group(3) or 0), version)


def _group_doc(name: str, versions: List[str]) -> dict:
    ordered = sorted(versions, key=_priority)
    return {"name": name, "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in ordered],
            "preferredVersion": {"groupVersion": f"{name}/{ordered[0]}", "version": ordered[0]}}


def api_group_list(kinds: Sequence[Kind]) -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_doc(g, vs) for g, vs in groups(kinds).items()]}


def api_group(kinds: Sequence[Kind], name: str) -> Optional[dict]:
    vs = groups(kinds).get(name)
    return None if not vs else dict(_group_doc(name, vs), kind="APIGroup", apiVersion="v1")


def resource_list(kinds: Sequence[Kind], group: str, version: str) -> Optional[dict]:
    out = []
    for k in kinds:
        if k.group != group or version not in k.versions:
            continue
        entry = {"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced,
                 "kind": k.kind, "verbs": list(VERBS), "storageVersionHash": ""}
        if k.short:
            entry["shortNames"] = k.short
        if k.group in (GATEWAY_GROUP, X_GATEWAY_GROUP):
            entry["categories"] = ["gateway-api"]
        out.append(entry)
        if k.status:
            out.append({"name": f"{k.plural}/status", "singularName": "", "namespaced": k.namespaced,
                        "kind": k.kind, "verbs": ["get", "patch", "update"]})
    if not out:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root(kinds: Sequence[Kind]) -> dict:
    """/openapi/v3: one document per group-version."""
    gvs = [("", "v1")] + [(g, v) for g, vs in groups(kinds).items() for v in vs]
    return {"paths": {_gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash=0"}
                      for g, v in gvs}}


def openapi_gv(kinds: Sequence[Kind], group: str, version: str) -> Optional[dict]:
    """The paths of one group-version with their operations (no schemas: kubectl only reads
    which query parameters a write operation takes, to use server-side field validation)."""
    here = [k for k in kinds if k.group == group and version in k.versions]
    if not here:
        return None
    params = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
              for n in ("dryRun", "fieldManager", "fieldValidation")]
    paths = {}
    for k in here:
        gvk = {"group": group, "version": version, "kind": k.kind}
        base = "/" + _gv_path(group, version) + ("/namespaces/{namespace}" if k.namespaced else "") + "/" + k.plural

        def op(action):
            return {"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                    "parameters": params, "responses": {"200": {"description": "OK"}}}

        paths[base] = {"get": op("list"), "post": op("post")}
        paths[base + "/{name}"] = {"get": op("get"), "put": op("put"), "patch": op("patch"),
                                   "delete": op("delete")}
        if k.status:
            paths[base + "/{name}/status"] = {"get": op("get"), "put": op("put"), "patch": op("patch")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
            "components": {"schemas": {}}}
