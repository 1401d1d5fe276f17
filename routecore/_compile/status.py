"""Route and Gateway status in the shape Kubernetes stores it (status.parents / status.listeners).

Invariants: status is rendered from the attachment records (routecore._compile.attach), the same
records the table builder reads, so what status says is what routing does; nothing here decides
attachment or resolution again.
"""
from __future__ import annotations

from typing import List, Optional

from .._config.models import GATEWAY_GROUP
from .attach import Attachments



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
    if attachments.route(kind, namespace, name) is None:  # (a dict lookup, not a scan)
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
            for ref in rejected.parent_refs if attachments.owns(ref)]}
    parents: List[dict] = []
    for record in attachments.of_route(kind, namespace, name):
        if not record.owned:
            continue  # a Gateway that is not in the configuration: not ours to report on
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


def _listener_status(attachments: Attachments, gw, state) -> dict:
    """One ListenerStatus / ListenerEntryStatus: supportedKinds, attachedRoutes, conditions."""
    lis = state.listener
    conditions = [_cond("Accepted", state.accepted, state.reason, state.message)]
    if not state.accepted:
        conditions.append(_cond("Programmed", False, state.reason, state.message))
    elif state.refs_reason is not None:
        conditions.append(_cond("Programmed", False, "Invalid", state.refs_message))
    else:
        conditions.append(_cond("Programmed", True, "Programmed", "Listener is programmed"))
    if state.refs_reason is not None:
        conditions.append(_cond("ResolvedRefs", False, state.refs_reason, state.refs_message))
    elif state.invalid_kinds:
        conditions.append(_cond("ResolvedRefs", False, "InvalidRouteKinds",
                                "route kinds not supported on this listener: " + ", ".join(state.invalid_kinds)))
    else:
        conditions.append(_cond("ResolvedRefs", True, "ResolvedRefs", "All references resolved"))
    if state.conflict is not None:
        conditions.append(_cond("Conflicted", True, state.conflict, state.message))
    else:
        conditions.append(_cond("Conflicted", False, "NoConflicts", "No conflicts"))
    return {
        "name": lis.name,
        "attachedRoutes": attachments.attached_routes(gw, lis) if state.accepted else 0,
        "supportedKinds": [{"group": GATEWAY_GROUP, "kind": k} for k in state.kinds],
        "conditions": conditions,
    }


def gateway_status(attachments: Attachments, namespace: str, name: str) -> dict:
    """status of a Gateway: Accepted and Programmed as far as the configuration decides them
    (routecore has no addresses to assign: a Gateway with a valid listener is Programmed), one
    ListenerStatus per listener of its own (never a ListenerSet's: digest §4.3) and the number
    of ListenerSets attached."""
    gw = attachments.gateway(namespace, name)
    if gw is None:
        raise LookupError(f"no Gateway {namespace}/{name} in this configuration")
    merged = attachments.gateway_listeners(gw)
    own = [s for s in merged.states if s.listener.owner is None]
    listeners = [_listener_status(attachments, gw, s) for s in own]
    valid = [s for s in own if s.accepted]
    if len(valid) == len(own):
        accepted = _cond("Accepted", True, "Accepted", "Gateway is accepted")
    elif valid:
        bad = ", ".join(s.listener.name for s in own if not s.accepted)
        accepted = _cond("Accepted", True, "ListenersNotValid", f"listeners not valid: {bad}")
    else:
        accepted = _cond("Accepted", False, "ListenersNotValid", "no listener is valid")
    if valid:
        programmed = _cond("Programmed", True, "Programmed", "Gateway is programmed")
    else:
        programmed = _cond("Programmed", False, "Invalid", "no listener is valid")
    return {"conditions": [accepted, programmed], "listeners": listeners,
            "attachedListenerSets": merged.attached_sets}


def listener_set_status(attachments: Attachments, namespace: str, name: str) -> dict:
    """status of a ListenerSet: Accepted/Programmed (NotAllowed when its Gateway does not admit
    it, ListenersNotValid when no entry is valid) and one ListenerEntryStatus per entry."""
    ls = attachments.listener_sets.get((namespace, name))
    if ls is None:
        raise LookupError(f"no ListenerSet {namespace}/{name} in this configuration")
    gw = attachments.gateway(*ls.parent[2:])
    if gw is None or ls.parent[:2] != (GATEWAY_GROUP, "Gateway"):
        why = f"parent Gateway {'/'.join(ls.parent[2:])} not found"
        return {"conditions": [_cond("Accepted", False, "ParentNotAccepted", why),
                               _cond("Programmed", False, "ParentNotProgrammed", why)], "listeners": []}
    state = next(s for s in attachments.gateway_listeners(gw).sets if s.listener_set is ls)
    if state.accepted:
        conditions = [_cond("Accepted", True, "Accepted", state.message),
                      _cond("Programmed", True, "Programmed", "ListenerSet is programmed")]
    else:
        conditions = [_cond("Accepted", False, state.reason, state.message),
                      _cond("Programmed", False, state.reason, state.message)]
    return {"conditions": conditions,
            "listeners": [_listener_status(attachments, gw, e) for e in state.entries]}


def policy_status(attachments: Attachments, namespace: str, name: str, controller: str) -> dict:
    """status of a BackendTLSPolicy: one ancestor entry per Gateway whose accepted routes send
    to a Service the policy targets."""
    policies = attachments.policies
    state = policies.states.get((namespace, name))
    if state is None:
        raise LookupError(f"no BackendTLSPolicy {namespace}/{name} in this configuration")
    conditions = [_cond("Accepted", *state.accepted), _cond("ResolvedRefs", *state.resolved)]
    return {"ancestors": [
        {"ancestorRef": {"group": GATEWAY_GROUP, "kind": "Gateway", "namespace": gw.namespace, "name": gw.name},
         "controllerName": controller, "conditions": conditions}
        for gw in policies.ancestors(attachments, state.policy)][:16]}
