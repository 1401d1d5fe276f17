"""`routecore check`: a configuration's errors, and warnings about what it leaves unrouted.

Invariants: errors are the ConfigIssues of a lenient load (every problem of every object);
warnings are read from the attachment records of a Router built on the configuration (the
records ``router.status`` is rendered from; listeners: ``router.status`` itself), so they say what
routing does: a route or listener that routes nothing, and why (a parentRef to a Gateway that is
not in the configuration too, though status has no entry for it). Warnings are looked for only when there are no errors (an object left out for
its errors would show up again as "not found"). Every finding names the object, the field path
and the reason, with ``file:line:column`` when the object came from text.
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

from attrs import frozen

from .._errors import ConfigIssue
from .._config.load import locate_issues, parse_located
from .._config.models import GATEWAY_GROUP, RequestMirror
from .._router import Router
from .._config.sources import RawObject

ERROR, WARNING = "error", "warning"


@frozen
class Finding:
    level: str  # ERROR or WARNING
    issue: ConfigIssue

    def to_dict(self) -> dict:
        i = self.issue
        return {"level": self.level, "kind": i.kind or None, "namespace": i.namespace,
                "name": i.name, "path": i.path, "message": i.message, "file": i.file,
                "line": i.line, "column": i.column}

    def __str__(self) -> str:
        i = self.issue
        parts = [i.location or i.file, self.level,
                 i.object if (i.kind or i.name) else None, i.path, i.message]
        return ": ".join(p for p in parts if p)


def source_warning(file: str, message: str) -> Finding:
    """A warning about a source as a whole (an empty file or folder)."""
    return Finding(WARNING, ConfigIssue("", None, None, "", message, origin=file, file=file))


def check(raws: List[RawObject]) -> List[Finding]:
    """Every error of ``raws`` or, when there is none, every warning."""
    config = parse_located(raws, strict=False)
    if config.issues:
        return [Finding(ERROR, i) for i in config.issues]
    router = Router(config, seed=0)
    origins = _origins(raws)
    found: List[ConfigIssue] = []
    for kind, ns, name, path, message in _route_warnings(router) + _listener_warnings(router):
        found.append(ConfigIssue(kind, ns, name, path, message, origins.get((kind, ns, name))))
    return [Finding(WARNING, i) for i in locate_issues(found)]


def _origins(raws: List[RawObject]) -> Dict[tuple, Optional[str]]:
    out = {}
    for raw in raws:
        obj = raw.obj
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(meta, dict):
            out.setdefault((obj.get("kind"), meta.get("namespace") or "default",
                            meta.get("name")), raw.origin)
    return out


_WHY = {
    "BackendNotFound": "no such Service in this configuration",
    "RefNotPermitted": "in another namespace, and no ReferenceGrant there allows it",
    "InvalidKind": "not a core Service",
}


def _backend_refs(route) -> Iterator[Tuple[str, object]]:
    """(field path, backendRef) of every backendRef and mirror of ``route``."""
    indexes = route.rule_indexes or range(len(route.rules))
    for r, rule in zip(indexes, route.rules):
        for b, ref in enumerate(rule.backend_refs):
            yield f"spec.rules[{r}].backendRefs[{b}]", ref
        for f, flt in enumerate(rule.filters):
            if isinstance(flt, RequestMirror):
                yield f"spec.rules[{r}].filters[{f}].requestMirror.backendRef", flt.backend_ref


def _parent_field(router, route, ref, i: int, reason: str) -> str:
    at = f"spec.parentRefs[{i}]"
    if reason == "NoMatchingListenerHostname":
        return "spec.hostnames" if route.hostnames else at
    if reason != "NoMatchingParent":
        return at
    gateway = ref.group == GATEWAY_GROUP and ref.kind == "Gateway"
    if not gateway and not (ref.group == "" and ref.kind == "Service"):
        return f"{at}.kind"
    if gateway and any(g.namespace == ref.namespace and g.name == ref.name
                       for g in router.config.gateways):
        return f"{at}.sectionName" if ref.section_name is not None else f"{at}.port"
    return f"{at}.name"


def _route_warnings(router) -> List[tuple]:
    out: Dict[tuple, None] = {}  # ordered, without repeats (one backend seen from two parents)
    for route in router.config.routes:
        who = (route.kind, route.namespace, route.name)
        if not route.parent_refs:
            out[who + ("spec.parentRefs", "no parentRefs: the route is attached to nothing "
                                          "and routes nothing")] = None
        for i, record in enumerate(router.attachments.of_route(*who)):  # parentRefs order
            ref = record.parent
            label = f"{ref.kind} {ref.namespace}/{ref.name}"
            if not record.accepted:
                out[who + (_parent_field(router, route, ref, i, record.reason),
                           f"not accepted by {label} ({record.reason}): {record.message}")] = None
            if record.backend_problems:  # ResolvedRefs False
                mesh = ref.group == "" and ref.kind == "Service"
                for path, b in _backend_refs(route):
                    why = router.attachments.backend_problem(route, b, mesh)  # what ResolvedRefs sums up
                    if why is not None:
                        out[who + (path, f"backendRef {b.namespace}/{b.name} ({why}): "
                                         f"{_WHY.get(why, why)}; its share of requests gets 500")] = None
    return list(out)


# listener condition -> (its good status, the field to fix)
_LISTENER_FIELDS = {"Accepted": ("True", "protocol"), "ResolvedRefs": ("True", "allowedRoutes.kinds"),
                    "Conflicted": ("False", "port")}


def _listener_warnings(router) -> List[tuple]:
    out = []
    for gw in router.config.gateways:
        status = router.status("Gateway", gw.namespace, gw.name)
        for i, listener in enumerate(status["listeners"]):
            for c in listener["conditions"]:
                good, field = _LISTENER_FIELDS.get(c["type"], (c["status"], ""))
                if c["status"] != good:
                    out.append(("Gateway", gw.namespace, gw.name, f"spec.listeners[{i}].{field}",
                                f"listener {listener['name']} ({c['reason']}): {c['message']}"))
    return out
