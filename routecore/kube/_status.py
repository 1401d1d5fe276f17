"""The status routecore.kube writes back: what it should be, and how it merges with what is there.

Invariants:
- Only what this controller owns is computed: the GatewayClasses with our controllerName, the
  Gateways of those classes (their whole ``conditions`` and ``listeners``; ``addresses`` and
  anything else is kept), and in routes the ``status.parents`` entries for parentRefs that name
  one of those Gateways, with our controllerName. Entries of other controllers are kept as they
  are, in place.
- Every condition carries ``observedGeneration`` = the object's current ``metadata.generation``;
  ``lastTransitionTime`` is the existing condition's when its ``status`` is unchanged, else now.
- ``desired_status`` of an object whose status already says it returns that same status, so a
  controller's own write coming back as a MODIFIED event leads to no second write.
"""
from __future__ import annotations

import copy
import datetime as _dt
from typing import List, Optional, Set, Tuple

from ._kinds import GATEWAY_GROUP
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


def gateway_status(router, obj: dict, now: str) -> dict:
    ns, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
    gen = obj["metadata"].get("generation")
    old = obj.get("status") or {}
    status = copy.deepcopy(old)
    try:
        computed = router.status("Gateway", ns, name)
    except LookupError:  # left out of the configuration: invalid
        why = _issues(router.config, "Gateway", ns, name) or "the Gateway could not be loaded"
        status["conditions"] = stamp([_cond("Accepted", False, "Invalid", why),
                                      _cond("Programmed", False, "Invalid", why)],
                                     old.get("conditions"), gen, now)
        status["listeners"] = []
        return status
    old_listeners = {l.get("name"): l for l in old.get("listeners") or () if isinstance(l, dict)}
    listeners = []
    for lis in computed.get("listeners", ()):
        conds = {c["type"]: c for c in lis["conditions"]}
        accepted = conds.get("Accepted", {}).get("status") == "True"
        conflicted = conds.get("Conflicted", {}).get("status") == "True"
        resolved = conds.get("ResolvedRefs", {}).get("status") == "True"
        programmed = accepted and not conflicted and resolved
        wanted = list(lis["conditions"]) + [_cond(
            "Programmed", programmed, "Programmed" if programmed else "Invalid",
            "Listener is programmed" if programmed else "Listener is not accepted, conflicted or has unresolved references")]
        entry = dict(lis)
        entry["conditions"] = stamp(wanted, (old_listeners.get(lis["name"]) or {}).get("conditions"), gen, now)
        listeners.append(entry)
    status["listeners"] = listeners
    status["conditions"] = stamp([_cond("Accepted", True, "Accepted", "Gateway is accepted"),
                                  _cond("Programmed", True, "Programmed", "Gateway is programmed")],
                                 old.get("conditions"), gen, now)
    return status


def _ref_key(ref: dict) -> tuple:
    return (ref.get("group", GATEWAY_GROUP), ref.get("kind", "Gateway"), ref.get("namespace"),
            ref.get("name"), ref.get("sectionName"), ref.get("port"))


def route_status(router, obj: dict, served: Set[Tuple[str, str]], controller: str, now: str) -> dict:
    """The route's status with our parents' entries recomputed and every other entry kept."""
    kind = obj["kind"]
    ns, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
    gen = obj["metadata"].get("generation")
    old = obj.get("status") or {}
    old_parents = [p for p in old.get("parents") or () if isinstance(p, dict)]
    try:
        computed = router.status(kind, ns, name)["parents"]
    except LookupError:
        computed = []
    mine_before = {_ref_key(p.get("parentRef") or {}): p for p in old_parents
                   if p.get("controllerName") == controller}
    ours = []
    for entry in computed:
        ref = entry["parentRef"]
        if ref.get("group") != GATEWAY_GROUP or ref.get("kind") != "Gateway" \
                or (ref.get("namespace"), ref.get("name")) not in served:
            continue
        prev = mine_before.get(_ref_key(ref))
        ours.append({"parentRef": ref, "controllerName": controller,
                     "conditions": stamp(entry["conditions"], (prev or {}).get("conditions"), gen, now)})
    others = [p for p in old_parents if p.get("controllerName") != controller]
    status = copy.deepcopy(old)
    status["parents"] = others + ours
    return status


def desired_statuses(router, store: ObjectStore, controller: str, keys=None):
    """Yield ``(key, object, desired status)`` for every object we own (of ``keys``, when given)
    whose desired status differs from its current one."""
    now = now_rfc3339()
    classes = our_classes(store, controller)
    gateways = our_gateways(store, controller)
    served = {(g["metadata"].get("namespace"), g["metadata"]["name"]) for g in gateways}
    for key, obj in list(store.objects.items()):
        if keys is not None and key not in keys:
            continue
        kind = key[0]
        if kind == "GatewayClass" and key[2] in classes:
            want = gateway_class_status(obj, now)
        elif kind == "Gateway" and (key[1], key[2]) in served:
            want = gateway_status(router, obj, now)
        elif kind in ("HTTPRoute", "GRPCRoute"):
            want = route_status(router, obj, served, controller, now)
            if not want.get("parents") and not (obj.get("status") or {}).get("parents"):
                continue
        else:
            continue
        if want != (obj.get("status") or {}):
            yield key, obj, want
