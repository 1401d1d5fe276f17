"""The object store and what of it routecore.load() is given.

Invariants:
- ``ObjectStore`` holds the latest object per ``(kind, namespace, name)`` as the API server sent
  it (status and all); ``apply(batch)`` is the one way it changes, and it returns the keys whose
  object really changed (a re-sent identical object is not a change).
- ``routing_objects`` is a pure function of the store: the GatewayClasses whose controllerName is
  ours select the Gateways served; every object is reduced to what routing reads (apiVersion,
  kind, name, namespace, labels, creationTimestamp, spec; a Secret's type and data, a ConfigMap's
  data), so status writes, resourceVersion and managedFields never change it; Secrets and
  ConfigMaps are given only when a served Gateway or a BackendTLSPolicy references them.
- ``routing_map`` is ``routing_objects`` by key; given the previous map and the keys a batch
  changed, it re-reduces only those objects (unless the batch changed what selects objects:
  a GatewayClass, Gateway, Secret, ConfigMap or BackendTLSPolicy), and ``map_changes`` of two
  maps is what ``Router.update`` is given: an unchanged batch gives nothing.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Set, Tuple

from ._kinds import GATEWAY_GROUP, Key

_META_KEPT = ("name", "namespace", "labels", "creationTimestamp")
_PASSED = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "ReferenceGrant", "Service",
           "Namespace", "BackendTLSPolicy", "ListenerSet")


class ObjectStore:
    def __init__(self):
        self.objects: Dict[Key, dict] = {}

    def apply(self, batch: Iterable[Tuple[Key, Optional[dict]]]) -> Set[Key]:
        """Apply ``(key, object or None)`` changes in order; return the keys that changed."""
        changed = set()
        for key, obj in batch:
            old = self.objects.get(key)
            if obj is None:
                if old is not None:
                    del self.objects[key]
                    changed.add(key)
            elif obj != old:
                self.objects[key] = obj
                changed.add(key)
        return changed

    def snapshot(self) -> "ObjectStore":
        """A copy of the key -> object map (objects are replaced, never mutated, so it is stable)."""
        out = ObjectStore()
        out.objects = dict(self.objects)
        return out

    def of_kind(self, kind: str) -> List[dict]:
        return [o for (k, _, _), o in self.objects.items() if k == kind]

    def get(self, key: Key) -> Optional[dict]:
        return self.objects.get(key)


def our_classes(store: ObjectStore, controller: str) -> Set[str]:
    return {o["metadata"]["name"] for o in store.of_kind("GatewayClass")
            if (o.get("spec") or {}).get("controllerName") == controller}


def our_gateways(store: ObjectStore, controller: str) -> List[dict]:
    classes = our_classes(store, controller)
    return [o for o in store.of_kind("Gateway") if (o.get("spec") or {}).get("gatewayClassName") in classes]


def _reduce(obj: dict) -> dict:
    meta = obj.get("metadata") or {}
    out = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
           "metadata": {k: meta[k] for k in _META_KEPT if meta.get(k) is not None}}
    if obj.get("kind") == "Secret":
        out["type"] = obj.get("type")
        out["data"] = obj.get("data") or {}
    elif obj.get("kind") == "ConfigMap":
        out["data"] = obj.get("data") or {}
    elif obj.get("kind") != "Namespace" and "spec" in obj:
        out["spec"] = obj["spec"]
    return out


def _references(gateways: List[dict], policies: List[dict]) -> Set[Tuple[str, str, str]]:
    """(kind, namespace, name) of the Secrets and ConfigMaps that the listeners of served
    Gateways and of ListenerSets, and BackendTLSPolicies reference."""
    out = set()
    for gw in gateways:
        ns = gw["metadata"].get("namespace")
        for lis in (gw.get("spec") or {}).get("listeners") or ():
            for ref in ((lis or {}).get("tls") or {}).get("certificateRefs") or ():
                if isinstance(ref, dict) and ref.get("group", "") == "" and ref.get("kind", "Secret") == "Secret":
                    out.add(("Secret", ref.get("namespace") or ns, ref.get("name")))
    for pol in policies:
        ns = pol["metadata"].get("namespace")
        validation = (pol.get("spec") or {}).get("validation") or {}
        for ref in validation.get("caCertificateRefs") or ():
            if isinstance(ref, dict) and ref.get("group", "") == "":
                out.add((ref.get("kind") or "ConfigMap", ns, ref.get("name")))
    return out


def routing_objects(store: ObjectStore, controller: str) -> List[dict]:
    """What routecore.load() is given, in key order."""
    gateways = our_gateways(store, controller)
    refs = _references(gateways + store.of_kind("ListenerSet"), store.of_kind("BackendTLSPolicy"))
    picked = [o for o in gateways]
    for (kind, ns, name), obj in store.objects.items():
        if kind in _PASSED or ((kind in ("Secret", "ConfigMap")) and (kind, ns, name) in refs):
            picked.append(obj)
    picked.sort(key=lambda o: (o["kind"], o["metadata"].get("namespace") or "", o["metadata"].get("name")))
    return [_reduce(o) for o in picked]


# kinds whose change can change which objects routing_objects gives (not only what one says)
_SELECTING = frozenset({"GatewayClass", "Gateway", "ListenerSet", "Secret", "ConfigMap",
                        "BackendTLSPolicy"})


def routing_map(store: ObjectStore, controller: str, previous: Optional[Dict[Key, dict]] = None,
                changed: Optional[Set[Key]] = None) -> Dict[Key, dict]:
    """``routing_objects`` by store key; with ``previous`` (the map before the batch) and
    ``changed`` (the keys it changed), only the changed objects are reduced again."""
    if previous is None or changed is None or any(k[0] in _SELECTING for k in changed):
        return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
                for o in routing_objects(store, controller)}
    out = dict(previous)
    for key in changed:
        if key[0] in _PASSED:
            obj = store.get(key)
            if obj is None:
                out.pop(key, None)
            else:
                out[key] = _reduce(obj)
    return out


def map_changes(old: Dict[Key, dict], new: Dict[Key, dict]) -> Tuple[List[dict], List[Key]]:
    """(the objects of ``new`` added or changed, the keys of ``old`` gone)."""
    changed = [obj for key, obj in new.items() if old.get(key) != obj]
    return changed, [key for key in old if key not in new]


def route_parent_gateways(route: dict) -> Set[Tuple[str, str]]:
    """(namespace, name) of the Gateways a route's parentRefs name."""
    ns = route["metadata"].get("namespace")
    out = set()
    for ref in (route.get("spec") or {}).get("parentRefs") or ():
        if isinstance(ref, dict) and ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP \
                and ref.get("kind", "Gateway") == "Gateway":
            out.add((ref.get("namespace") or ns, ref.get("name")))
    return out
