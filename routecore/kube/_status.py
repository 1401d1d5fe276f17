"""The status routecore.kube writes back: what it should be, and how it merges with what is there.

Invariants:
- Only what this controller owns is computed: the GatewayClasses with our controllerName, the
  Gateways of those classes (their whole ``conditions``, ``listeners`` and
  ``attachedListenerSets``; ``addresses`` and anything else is kept), the ListenerSets whose
  parentRef names one of those Gateways (their whole ``conditions`` and ``listeners``), in routes
  (every kind of ROUTE_KINDS) the ``status.parents`` entries for parentRefs that name one of those
  Gateways or ListenerSets, and in BackendTLSPolicies the ``status.ancestors`` entries for those
  Gateways, both with our controllerName. Entries of other controllers are kept as they are, in
  place; a policy's ancestors stay at most 16 (the CRD's limit): others' first, ours cut.
- Every condition carries ``observedGeneration`` = the object's current ``metadata.generation``;
  ``lastTransitionTime`` is the existing condition's when its ``status`` is unchanged, else now.
- ``desired_status`` of an object whose status already says it returns that same status, so a
  controller's own write coming back as a MODIFIED event leads to no second write.
"""
from __future__ import annotations

import copy
import datetime as _dt
from typing import List, Optional, Set, Tuple

from ._kinds import GATEWAY_GROUP, ROUTE_KINDS
from ._store import ObjectStore, our_classes, our_gateways


def now_rfc3339() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cond(type_, ok, reason, message) -> dict:
    return {"type": type_, "status": "True" if ok else "False", "reason": reason, "message": message}


def stamp(conditions: List[dict], old: Optional[List[dict]], generation, now: str) -> List[dict]:
    """``conditions`` with observedGeneration and lastTransitionTime (kept when the status is
    the same as in ``old``)."""
    before = {c.get("type"): c for c in old or () if isinstance(c, dict)}
    out = []
    for c in conditions:
        c = dict(c)
        if generation is not None:
            c["observedGeneration"] = generation
        prev = before.get(c["type"])
        c["lastTransitionTime"] = prev["lastTransitionTime"] if (
            prev is not None and prev.get("status") == c["status"] and prev.get("lastTransitionTime")) else now
        out.append(c)
    return out


def _issues(config, kind, ns, name) -> str:
    return "; ".join(f"{i.path}: {i.message}" if i.path else i.message for i in config.issues
                     if i.kind == kind and i.namespace == ns and i.name == name)


def gateway_class_status(obj: dict, now: str) -> dict:
    status = copy.deepcopy(obj.get("status") or {})
    gen = obj["metadata"].get("generation")
    status["conditions"] = stamp([_cond("Accepted", True, "Accepted", "Handled by routecore")],
                                 status.get("conditions"), gen, now)
    return status


def listeners_status(router, obj: dict, now: str) -> dict:
    """A Gateway's or ListenerSet's status: conditions and listeners recomputed (and a Gateway's
    attachedListenerSets); one left out of the configuration is Accepted False, Invalid."""
    kind, ns, name = obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]
    gen = obj["metadata"].get("generation")
    old = obj.get("status") or {}
    status = copy.deepcopy(old)
    try:
        computed = router.status(kind, ns, name)
    except LookupError:
        why = _issues(router.config, kind, ns, name) or f"the {kind} could not be loaded"
        computed = {"conditions": [_cond("Accepted", False, "Invalid", why),
                                   _cond("Programmed", False, "Invalid", why)], "listeners": []}
    status["listeners"] = _listeners(computed, old, gen, now)
    if "attachedListenerSets" in computed:
        status["attachedListenerSets"] = computed["attachedListenerSets"]
    status["conditions"] = stamp(computed["conditions"], old.get("conditions"), gen, now)
    return status


def _listeners(computed: dict, old: dict, gen, now: str) -> List[dict]:
    """The computed listener entries, their conditions stamped against the old entry of that name."""
    old_listeners = {l.get("name"): l for l in old.get("listeners") or () if isinstance(l, dict)}
    out = []
    for lis in computed.get("listeners", ()):
        entry = dict(lis)
        entry["conditions"] = stamp(lis["conditions"], (old_listeners.get(lis["name"]) or {}).get("conditions"),
                                    gen, now)
        out.append(entry)
    return out


def _ref_key(ref: dict) -> tuple:
    return (ref.get("group", GATEWAY_GROUP), ref.get("kind", "Gateway"), ref.get("namespace"),
            ref.get("name"), ref.get("sectionName"), ref.get("port"))


def _merge_entries(obj: dict, field: str, ref_field: str, computed: List[dict], owned, controller: str,
                   now: str, limit: Optional[int] = None) -> dict:
    """``obj``'s status with the ``field`` entries (``status.parents`` / ``status.ancestors``) of
    ``controller`` replaced by the ``computed`` ones whose ``ref_field`` ``owned`` accepts, every
    other controller's entry kept in place, at most ``limit`` entries in all."""
    gen = obj["metadata"].get("generation")
    old = obj.get("status") or {}
    old_entries = [p for p in old.get(field) or () if isinstance(p, dict)]
    mine_before = {_ref_key(p.get(ref_field) or {}): p for p in old_entries
                   if p.get("controllerName") == controller}
    ours = []
    for entry in computed:
        ref = entry[ref_field]
        if not owned(ref):
            continue
        prev = mine_before.get(_ref_key(ref))
        ours.append({ref_field: ref, "controllerName": controller,
                     "conditions": stamp(entry["conditions"], (prev or {}).get("conditions"), gen, now)})
    others = [p for p in old_entries if p.get("controllerName") != controller]
    status = copy.deepcopy(old)
    status[field] = (others + ours)[:limit] if limit is not None else others + ours
    return status


def _computed(router, kind: str, obj: dict, field: str) -> List[dict]:
    try:
        return router.status(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])[field]
    except LookupError:
        return []


def route_status(router, obj: dict, served: Set[Tuple[str, str]], served_sets: Set[Tuple[str, str]],
                 controller: str, now: str) -> dict:
    """The route's status with our parents' entries recomputed and every other entry kept."""
    def owned(ref: dict) -> bool:
        if ref.get("group") != GATEWAY_GROUP:
            return False
        parents = {"Gateway": served, "ListenerSet": served_sets}.get(ref.get("kind"), set())
        return (ref.get("namespace"), ref.get("name")) in parents
    return _merge_entries(obj, "parents", "parentRef", _computed(router, obj["kind"], obj, "parents"),
                          owned, controller, now)


def policy_status(router, obj: dict, served: Set[Tuple[str, str]], controller: str, now: str) -> dict:
    """The BackendTLSPolicy's status with our ancestors' entries recomputed, every other kept."""
    def owned(ref: dict) -> bool:
        return ref.get("group") == GATEWAY_GROUP and ref.get("kind") == "Gateway" \
            and (ref.get("namespace"), ref.get("name")) in served
    return _merge_entries(obj, "ancestors", "ancestorRef",
                          _computed(router, "BackendTLSPolicy", obj, "ancestors"), owned, controller, now,
                          limit=16)


def _set_parent(obj: dict) -> Optional[Tuple[str, str]]:
    """(namespace, name) of the Gateway a ListenerSet's parentRef names, or None."""
    ref = (obj.get("spec") or {}).get("parentRef")
    if not isinstance(ref, dict) or ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP \
            or ref.get("kind", "Gateway") != "Gateway":
        return None
    return ref.get("namespace") or obj["metadata"].get("namespace"), ref.get("name")


def desired_statuses(router, store: ObjectStore, controller: str, keys=None):
    """Yield ``(key, object, desired status)`` for every object we own (of ``keys``, when given)
    whose desired status differs from its current one."""
    now = now_rfc3339()
    classes = our_classes(store, controller)
    gateways = our_gateways(store, controller)
    served = {(g["metadata"].get("namespace"), g["metadata"]["name"]) for g in gateways}
    served_sets = {(o["metadata"].get("namespace"), o["metadata"]["name"])
                   for o in store.of_kind("ListenerSet") if _set_parent(o) in served}
    for key, obj in list(store.objects.items()):
        if keys is not None and key not in keys:
            continue
        kind = key[0]
        if kind == "GatewayClass" and key[2] in classes:
            want = gateway_class_status(obj, now)
        elif kind == "Gateway" and (key[1], key[2]) in served:
            want = listeners_status(router, obj, now)
        elif kind == "ListenerSet" and (key[1], key[2]) in served_sets:
            want = listeners_status(router, obj, now)
        elif kind in ROUTE_KINDS or kind == "BackendTLSPolicy":
            field = "ancestors" if kind == "BackendTLSPolicy" else "parents"
            want = policy_status(router, obj, served, controller, now) if field == "ancestors" \
                else route_status(router, obj, served, served_sets, controller, now)
            if not want.get(field) and not (obj.get("status") or {}).get(field):
                continue
        else:
            continue
        if want != (obj.get("status") or {}):
            yield key, obj, want
