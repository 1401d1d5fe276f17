"""Route and Gateway status in the shape Kubernetes stores it (status.parents / status.listeners).

Invariants: status is rendered from the attachment records (routecore._compile.attach), the same
records the table builder reads, so what status says is what routing does; nothing here decides
attachment or resolution again.
"""
from __future__ import annotations

from typing import List, Optional

from .._config.models import GATEWAY_GROUP
from .attach import Attachments
from .table import conflicted_listeners



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


def route_status(attachments: Attachments, kind: str, namespace: str, name: str,
                 controller: str) -> dict:
    config = attachments.config
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
            {"parentRef": _parent_ref_dict(ref), "controllerName": controller,
             "conditions": [_cond("Accepted", False, "UnsupportedValue",
                                  f"the route was left out: {problems}")]}
            for ref in rejected.parent_refs]}
    parents: List[dict] = []
    for record in attachments.of_route(kind, namespace, name):
        problems = [(why, f"backendRef {b.namespace}/{b.name} ({b.group or 'core'}/{b.kind}): {why}")
                    for b, why in record.backend_problems]
        conditions = [_cond("Accepted", record.accepted, record.reason, record.message)]
        if problems:
            conditions.append(_cond("ResolvedRefs", False, problems[0][0],
                                    "; ".join(m for _, m in problems)))
        else:
            conditions.append(_cond("ResolvedRefs", True, "ResolvedRefs", "All references resolved"))
        if record.issues:
            conditions.append({"type": "PartiallyInvalid", "status": "True",
                               "reason": "UnsupportedValue",
                               "message": "Dropped Rule(s): " + "; ".join(str(i) for i in record.issues)})
        parents.append({"parentRef": _parent_ref_dict(record.parent), "controllerName": controller,
                        "conditions": conditions})
    return {"parents": parents}


def gateway_status(attachments: Attachments, namespace: str, name: str) -> dict:
    gw = attachments.gateway(namespace, name)
    if gw is None:
        raise LookupError(f"no Gateway {namespace}/{name} in this configuration")
    listeners = []
    conflicted = conflicted_listeners(gw)
    for lis in gw.listeners:
        attached = attachments.attached_routes(gw, lis)
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
