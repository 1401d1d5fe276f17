"""Turns raw Kubernetes objects into validated, defaulted routecore models (a Config).

Invariants:
- every object is checked in full against its kind's schema (kinds.py: unknown fields, types,
  required fields, enums, patterns, lengths, list sizes, list-map keys) and then against the CRD's
  CEL rules (cel.py; §5, §7, §8 of the semantics digest); every problem of every object is reported;
- CRD defaults are applied before the CEL-like checks, as the API server does;
- strict=True: any issue raises one ConfigError listing all of them, nothing is returned;
- strict=False: an issue under ``spec.rules[i]`` of an HTTPRoute or GRPCRoute drops rule i only (the kept
  rules' original indexes go to HTTPRoute.rule_indexes); any other issue drops the object; all
  issues are returned in Config.issues. Which rule an issue belongs to is recorded as an integer
  while validating (schema.Ctx ``where``), never read back from the issue's path;
- models are built only from data that passed every check (build.py), so they never hold invalid values.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from . import models as m
from .._errors import ConfigError, ConfigIssue
from .sources import RawObject
from .schema import Ctx, expected, locate, type_name
from .cel import check_route_spec
from .kinds import KINDS, KINDS_FOLDED
from .build import build_gateway, build_grant, build_grpc_route, build_parent_ref, build_route, build_service


def identity(obj: dict) -> Tuple[Optional[str], Optional[str]]:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return (ns if isinstance(ns, str) and ns else "default"), (name if isinstance(name, str) else None)


def parse(raws: List[RawObject], strict: bool = True) -> m.Config:
    """Validate ``raws`` and build the Config (see the module docstring for strict/lenient)."""
    routes, gateways, grants, services, namespaces, skipped = [], [], [], [], [], []
    rejected: List[m.RejectedRoute] = []
    all_issues: List[ConfigIssue] = []
    saw_service = False
    seen_objects: Dict[tuple, Optional[str]] = {}
    memo: Dict[tuple, Any] = {}  # equal immutable parts of routes, shared (see build_any_route)

    for raw in raws:
        obj = raw.obj
        if not isinstance(obj, dict):
            all_issues.append(ConfigIssue("", None, None, "",
                                          f"a document must be a Kubernetes object (a mapping), got `{type_name(obj)}`",
                                          raw.origin))
            continue
        kind = obj.get("kind")
        ns, name = identity(obj)
        if not isinstance(kind, str) or not kind:
            all_issues.append(ConfigIssue("", ns if name else None, name, "kind",
                                          "missing `kind`" if kind is None else expected("str", kind), raw.origin))
            continue
        if kind not in KINDS:
            known = KINDS_FOLDED.get(kind.lower())
            if known and known != kind:
                all_issues.append(ConfigIssue(kind, ns if name else None, name, "kind",
                                              f"unknown kind `{kind}`; did you mean `{known}`?", raw.origin))
            else:
                skipped.append(f"{kind} {ns}/{name}" if name else kind)
            continue
        versions, schema = KINDS[kind]
        namespaced = kind != "Namespace"
        ctx = Ctx()
        if name is not None:
            ident = (kind, ns if namespaced else None, name)
            if ident in seen_objects:
                ctx.add("", "duplicate object: the same kind, namespace and name is also defined "
                            + (f"at {seen_objects[ident]}" if seen_objects[ident] else "earlier in the source"))
            else:
                seen_objects[ident] = raw.origin
        for path, message, segments in raw.problems:
            ctx.add(path, message, where=locate(schema, segments))
        api = obj.get("apiVersion")
        if api not in versions:
            ctx.add("apiVersion", f"Expected one of {', '.join(f'`{v}`' for v in versions)} for kind {kind}, "
                                  f"got `{api}`" if api is not None else "missing required field `apiVersion`")
        cleaned = schema.walk(obj, "", ctx)
        if kind in ("HTTPRoute", "GRPCRoute") and isinstance(cleaned.get("spec"), dict):
            check_route_spec(cleaned["spec"], ns, ctx)

        issue_ns = ns if namespaced and name is not None else None
        issues = [ConfigIssue(kind, issue_ns, name, p, msg, raw.origin) for p, msg, _, _ in ctx.issues]
        all_issues.extend(issues)
        if kind == "Service":
            saw_service = True
        if strict and (issues or all_issues):
            continue  # nothing will be returned; keep collecting problems only

        bad_rules = set()
        if issues and kind in ("HTTPRoute", "GRPCRoute") and name is not None:
            # kept even when the route is left out, so that its status can say why
            rejected_refs = _lenient_parent_refs(cleaned, ns, ctx)
        if issues:
            if kind not in ("HTTPRoute", "GRPCRoute") or name is None:
                continue
            # the rule each issue lies in was recorded while validating (kinds: track="rule")
            bad_rules = {where["rule"] for _, _, _, where in ctx.issues if "rule" in where}
            other = any("rule" not in where for _, _, _, where in ctx.issues)
            rules = cleaned.get("spec", {}).get("rules", [])
            if other or not [i for i in getattr(rules, "indexes", ()) if i not in bad_rules]:
                rejected.append(m.RejectedRoute(kind, ns, name, rejected_refs))
                continue
        try:
            if kind == "HTTPRoute":
                routes.append(build_route(cleaned, ns, name, bad_rules, memo))
            elif kind == "GRPCRoute":
                routes.append(build_grpc_route(cleaned, ns, name, bad_rules, memo))
            elif kind == "Gateway":
                gateways.append(build_gateway(cleaned, ns, name))
            elif kind == "ReferenceGrant":
                grants.append(build_grant(cleaned, ns, name))
            elif kind == "Service":
                services.append(build_service(cleaned, ns, name))
            elif kind == "Namespace":
                namespaces.append(m.Namespace(name=name, labels=tuple(sorted(cleaned["metadata"].get("labels", {}).items()))))
        except (KeyError, TypeError, AttributeError) as exc:  # pragma: no cover - a validation gap
            all_issues.append(ConfigIssue(kind, issue_ns, name, "", f"could not be read: {exc!r}", raw.origin))

    if strict and all_issues:
        raise ConfigError(all_issues)
    return m.Config(
        routes=tuple(routes),
        gateways=tuple(gateways),
        reference_grants=tuple(grants),
        services=tuple(services) if saw_service else None,
        namespaces=tuple(namespaces),
        skipped=tuple(skipped),
        issues=tuple(all_issues),
        strict=strict,
        rejected=tuple(rejected),
    )


def _lenient_parent_refs(cleaned: dict, ns: str, ctx) -> tuple:
    """The parentRefs of a route that is being left out, those that are valid themselves."""
    spec = cleaned.get("spec")
    refs = spec.get("parentRefs") if isinstance(spec, dict) else None
    if not isinstance(refs, list):
        return ()
    bad = {where["parentRef"] for _, _, _, where in ctx.issues if "parentRef" in where}
    out = []
    for i, p in enumerate(refs):
        if i in bad or not isinstance(p, dict) or not isinstance(p.get("name"), str):
            continue
        try:
            out.append(build_parent_ref(p, ns))
        except (KeyError, TypeError):
            continue
    return tuple(out)
