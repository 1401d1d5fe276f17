"""Route and Gateway status in the shape Kubernetes stores it (status.parents / status.listeners).

Invariants: status is computed from the same attachment and reference rules the tables use
(routecore._compile.table and Router._backend_problem), so what status says is what routing does.
"""
from __future__ import annotations

from typing import List, Optional

from .._config.models import GATEWAY_GROUP, RequestMirror
from .table import (attaches_to_listener, conflicted_listeners, effective_hostnames, listener_accepts, listener_routes,
                     service_ref_covers)

CONTROLLER = "routecore.dev/router"


def _cond(type_: str, ok: bool, reason: str, message: str, generation: Optional[int] = None):
    return {"type": type_, "status": "True" if ok else "False", "reason": reason,
            "message": message}


def _parent_ref_dict(ref) -> dict:
    out = {"group": ref.group, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name}
    if ref.section_name is not None:
        out["sectionName"] = ref.section_name
    if ref.port is not None:
        out["port"] = ref.port
    return out


def gateway_acceptance(router, route, ref):
    """(accepted, reason, message) of ``route`` on the Gateway parentRef ``ref``."""
    config = router.config
    gw = next((g for g in config.gateways
               if g.namespace == ref.namespace and g.name == ref.name), None)
    if gw is None:
        return False, "NoMatchingParent", f"Gateway {ref.namespace}/{ref.name} not found"
    relevant = [l for l in gw.listeners if attaches_to_listener(ref, gw, l)]
    if not relevant:
        return False, "NoMatchingParent", "no listener matches the parentRef's sectionName/port"
    allowed = [l for l in relevant if listener_accepts(config, gw, l, route)]
    if not allowed:
        return False, "NotAllowedByListeners", "no listener allows this route's namespace or kind"
    usable = [l for l in allowed if effective_hostnames(route, l.hostname)]
    if not usable:
        return False, "NoMatchingListenerHostname", "no route hostname intersects a listener hostname"
    older = [listener_routes(config, gw, l, config.routes)[1].get((route.kind, route.key))
             for l in usable]
    if all(o is not None for o in older):  # GEP-1016 cross serving, on every listener
        o = older[0]
        return False, "NotAllowedByListeners", (
            f"{o.kind} {o.key}, older, has a hostname that intersects this route's on listener "
            f"{usable[0].name}: an HTTPRoute and a GRPCRoute may not share a hostname on a listener")
    return True, "Accepted", "Route is accepted"


def mesh_preferred(router, route, ref):
    """The GRPCRoute that takes every Service port ``ref`` covers from the HTTPRoute ``route``
    (GEP-1294: one route kind per Service port, GRPCRoute first), else None. Only routes of the
    same namespace compete: the route sets of a Service (producer, each consumer namespace) are
    never merged, so a GRPCRoute elsewhere takes nothing from this one."""
    if route.kind != "HTTPRoute":
        return None
    grpc = [g for g in router.config.routes
            if g.kind == "GRPCRoute" and g.namespace == route.namespace]
    if not grpc:
        return None
    svc = None if router._services is None else router._services.get((ref.namespace, ref.name))
    ports = [(p.port, p.name) for p in svc.ports] if svc is not None and svc.ports else \
        [(ref.port, None)]  # ports unknown: a port of None stands for every port
    covered = [pp for pp in ports if service_ref_covers(ref, ref.namespace, ref.name, *pp)]
    winners = [next((g for g in grpc if any(service_ref_covers(r, ref.namespace, ref.name, *pp)
                                            for r in g.parent_refs)), None) for pp in covered]
    if not winners or any(w is None for w in winners):
        return None
    return winners[0]


def route_status(router, kind: str, namespace: str, name: str) -> dict:
    config = router.config
    route = next((r for r in config.routes
                  if r.kind == kind and r.namespace == namespace and r.name == name), None)
    if route is None:
        rejected = next((r for r in config.rejected
                         if r.kind == kind and r.namespace == namespace and r.name == name), None)
        if rejected is None:
            raise LookupError(f"no {kind} {namespace}/{name} in this configuration")
        problems = "; ".join(f"{i.path}: {i.message}" if i.path else i.message
                             for i in config.issues
                             if i.kind == kind and i.namespace == namespace and i.name == name)
        return {"parents": [
            {"parentRef": _parent_ref_dict(ref), "controllerName": CONTROLLER,
             "conditions": [_cond("Accepted", False, "UnsupportedValue",
                                  f"the route was left out: {problems}")]}
            for ref in rejected.parent_refs]}
    dropped = [i for i in config.issues
               if i.kind == kind and i.namespace == namespace and i.name == name]
    parents: List[dict] = []
    for ref in route.parent_refs:
        mesh = ref.group == "" and ref.kind == "Service"
        if mesh:
            if router._services is not None and (ref.namespace, ref.name) not in router._services:
                accepted = (False, "NoMatchingParent", f"Service {ref.namespace}/{ref.name} not found")
            elif mesh_preferred(router, route, ref) is not None:
                g = mesh_preferred(router, route, ref)
                accepted = (False, "NotAllowedByListeners",
                            f"GRPCRoute {g.key} is attached to the same Service port(s); a "
                            "Service port takes one route kind, GRPCRoute before HTTPRoute")
            else:
                accepted = (True, "Accepted", "Route is accepted")
        elif ref.group == GATEWAY_GROUP and ref.kind == "Gateway":
            accepted = gateway_acceptance(router, route, ref)
        else:
            hint = ""
            if ref.kind == "Service" and ref.group == GATEWAY_GROUP:
                hint = ' (a mesh Service parent needs group: "" written out; an omitted group ' \
                       'means gateway.networking.k8s.io)'
            accepted = (False, "NoMatchingParent",
                        f"unsupported parent kind {ref.group}/{ref.kind}{hint}")
        problems = []
        for rule in route.rules:
            refs = list(rule.backend_refs) + [f.backend_ref for f in rule.filters
                                               if isinstance(f, RequestMirror)]
            for b in refs:
                why = router._backend_problem(route, b, mesh)
                if why is not None:
                    problems.append((why, f"backendRef {b.namespace}/{b.name} ({b.group or 'core'}/{b.kind}): {why}"))
        conditions = [_cond("Accepted", *accepted)]
        if problems:
            conditions.append(_cond("ResolvedRefs", False, problems[0][0],
                                    "; ".join(m for _, m in problems)))
        else:
            conditions.append(_cond("ResolvedRefs", True, "ResolvedRefs", "All references resolved"))
        if dropped:
            conditions.append({"type": "PartiallyInvalid", "status": "True",
                               "reason": "UnsupportedValue",
                               "message": "Dropped Rule(s): " + "; ".join(str(i) for i in dropped)})
        parents.append({"parentRef": _parent_ref_dict(ref), "controllerName": CONTROLLER,
                        "conditions": conditions})
    return {"parents": parents}


def gateway_status(router, namespace: str, name: str) -> dict:
    config = router.config
    gw = next((g for g in config.gateways if g.namespace == namespace and g.name == name), None)
    if gw is None:
        raise LookupError(f"no Gateway {namespace}/{name} in this configuration")
    listeners = []
    conflicted = conflicted_listeners(gw)
    for lis in gw.listeners:
        attached = len(listener_routes(config, gw, lis, config.routes)[0])
        supported = lis.protocol in ("HTTP", "HTTPS")
        kinds = [k for k in ("HTTPRoute", "GRPCRoute") if not lis.allowed_kinds or any(
            a.group == GATEWAY_GROUP and a.kind == k for a in lis.allowed_kinds)]
        invalid = [f"{a.group}/{a.kind}" for a in lis.allowed_kinds
                   if a.group != GATEWAY_GROUP or a.kind not in ("HTTPRoute", "GRPCRoute")]
        if invalid:
            refs = _cond("ResolvedRefs", False, "InvalidRouteKinds",
                         "route kinds not supported on this listener: " + ", ".join(invalid))
        else:
            refs = _cond("ResolvedRefs", True, "ResolvedRefs", "All references resolved")
        listeners.append({
            "name": lis.name,
            "attachedRoutes": attached,
            "supportedKinds": [{"group": GATEWAY_GROUP, "kind": k} for k in kinds] if supported else [],
            "conditions": [
                _cond("Accepted", supported, "Accepted" if supported else "UnsupportedProtocol",
                      "Listener is accepted" if supported else f"protocol {lis.protocol} is not routed by routecore"),
                refs,
                _cond("Conflicted", True, "ProtocolConflict",
                      f"another listener on port {lis.port} has an incompatible protocol")
                if lis.name in conflicted else _cond("Conflicted", False, "NoConflicts", "No conflicts"),
            ],
        })
    return {"listeners": listeners}
