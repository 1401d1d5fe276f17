# cython: annotation_typing=False
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
- models are built only from data that passed every check, each by its kind's declaration
  (kinds.py; Gateways by build.py), so they never hold invalid values;
- an HTTPRoute of the common shape is checked and built in one pass instead (quick.py), which
  builds exactly what the general path builds, or gives up on anything unusual or invalid: then
  the general path runs from the start and reports the problems;
- this file is compiled by Cython as it is (setup.py: the extension ``routecore._config.parse``,
  imported in its place when built; its annotations are not read as C types), and runs as
  plain Python without it: nothing here may depend on which.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from . import models as m
from .._errors import ConfigError, ConfigIssue
from .sources import RawObject
from .schema import BuildEnv, Ctx, expected, locate, type_name
from . import fast, quick
from .cel import check_route_spec
from . import kinds_l4
from .kinds import KINDS as HTTP_KINDS, PARENT_REF

KINDS = dict(HTTP_KINDS, **kinds_l4.KINDS)
KINDS_FOLDED = {k.lower(): k for k in KINDS}
ROUTE_KINDS = frozenset(("HTTPRoute", "GRPCRoute") + kinds_l4.STREAM_KINDS)


_NO_RULES: frozenset = frozenset()  # (no rule left out: the usual object)


def identity(obj: dict) -> Tuple[Optional[str], Optional[str]]:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return (ns if isinstance(ns, str) and ns else "default"), (name if isinstance(name, str) else None)


def parse(raws: List[RawObject], strict: bool = True) -> m.Config:
    """Validate ``raws`` and build the Config (see the module docstring for strict/lenient)."""
    try:
        return _parse(raws, strict)
    finally:
        fast.forget()  # (the strings the fast path remembered during this load)
        quick.forget()  # (and the one pass)


def _parse(raws: List[RawObject], strict: bool) -> m.Config:
    routes, gateways, grants, services, namespaces, skipped = [], [], [], [], [], []
    more: Dict[str, list] = {k: [] for k in ("ListenerSet", "BackendTLSPolicy", "Secret", "ConfigMap")}
    rejected: List[m.RejectedRoute] = []
    all_issues: List[ConfigIssue] = []
    saw_service = False
    # (kind, namespace) -> {name: origin} of the objects seen so far: one small dict per kind and
    # namespace instead of a (kind, namespace, name) tuple per object, which lived as long as the
    # load among the models it makes and left as many free blocks among them when it ended
    seen_objects: Dict[tuple, Dict[str, Optional[str]]] = {}
    memo: Dict[tuple, Any] = {}  # equal immutable parts of routes, shared (see schema.BuildEnv)
    built = {"HTTPRoute": routes, "GRPCRoute": routes, "Gateway": gateways, "ReferenceGrant": grants,
             "Service": services, "Namespace": namespaces, **more}
    builders: Dict[str, Any] = {}  # kind -> its top-level schema's builder

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
        api = obj.get("apiVersion")
        if kind in kinds_l4.STREAM_KINDS:  # (the only kinds with a schema per version)
            schema = kinds_l4.ALPHA2.get((kind, api), schema)
        namespaced = kind != "Namespace"
        earlier = False  # whether an object of the same kind, namespace and name came before
        if name is not None:
            seen = seen_objects.get((kind, ns if namespaced else None))
            if seen is None:
                seen = seen_objects[(kind, ns if namespaced else None)] = {}
            earlier = name in seen
            if not earlier:
                seen[name] = raw.origin
        if kind == "HTTPRoute" and not earlier and not raw.problems and api in versions:
            # the common shape, checked and built in one pass (None: unusual or invalid, see quick.py)
            route = quick.http_route(obj, ns, memo)
            if route is not None:
                if not (strict and all_issues):
                    routes.append(route)
                continue
        ctx = Ctx()
        if earlier:
            ctx.add("", "duplicate object: the same kind, namespace and name is also defined "
                        + (f"at {seen[name]}" if seen[name] else "earlier in the source"))
        for path, message, segments in raw.problems:
            ctx.add(path, message, where=locate(schema, segments))
        if api not in versions:
            ctx.add("apiVersion", f"Expected one of {', '.join(f'`{v}`' for v in versions)} for kind {kind}, "
                                  f"got `{api}`" if api is not None else "missing required field `apiVersion`")
        cleaned = fast.walk(schema, obj, ctx)  # = schema.walk(obj, "", ctx), compiled for valid data
        is_route = kind in ROUTE_KINDS
        if is_route and isinstance(cleaned.get("spec"), dict):
            check_route_spec(cleaned["spec"], ns, ctx)

        issues = []
        issue_ns = ns if namespaced and name is not None else None
        if ctx.issues:
            issues = [ConfigIssue(kind, issue_ns, name, p, msg, raw.origin) for p, msg, _, _ in ctx.issues]
            all_issues.extend(issues)
        if kind == "Service":
            saw_service = True
        if strict and (issues or all_issues):
            continue  # nothing will be returned; keep collecting problems only

        bad_rules = _NO_RULES
        if issues and is_route and name is not None:
            # kept even when the route is left out, so that its status can say why
            rejected_refs = _lenient_parent_refs(cleaned, ns, ctx)
        if issues:
            if not is_route or name is None:
                continue
            # the rule each issue lies in was recorded while validating (kinds: track="rule")
            bad_rules = {where["rule"] for _, _, _, where in ctx.issues if "rule" in where}
            other = any("rule" not in where for _, _, _, where in ctx.issues)
            rules = cleaned.get("spec", {}).get("rules", [])
            if other or not [i for i in getattr(rules, "indexes", ()) if i not in bad_rules]:
                rejected.append(m.RejectedRoute(kind, ns, name, rejected_refs))
                continue
        try:
            if kind in kinds_l4.STREAM_KINDS:
                routes.append(kinds_l4.stream_route(kind, cleaned, ns, bad_rules))
            elif kind in kinds_l4.BUILDERS:  # the Gateway and the kinds declared in kinds_l4
                built[kind].append(kinds_l4.BUILDERS[kind](cleaned, BuildEnv(ns)))
            else:  # the kind's declaration builds its model (kinds.py)
                build = builders.get(kind) or builders.setdefault(kind, schema.builder())
                built[kind].append(build(cleaned, BuildEnv(ns, memo, {"rule": bad_rules} if bad_rules else None)))
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
        listener_sets=tuple(more["ListenerSet"]),
        backend_tls_policies=tuple(more["BackendTLSPolicy"]),
        secrets=tuple(more["Secret"]),
        config_maps=tuple(more["ConfigMap"]),
    )


def _lenient_parent_refs(cleaned: dict, ns: str, ctx) -> tuple:
    """The parentRefs of a route that is being left out, those that are valid themselves."""
    spec = cleaned.get("spec")
    refs = spec.get("parentRefs") if isinstance(spec, dict) else None
    if not isinstance(refs, list):
        return ()
    bad = {where["parentRef"] for _, _, _, where in ctx.issues if "parentRef" in where}
    out = []
    env = BuildEnv(ns)
    for i, p in enumerate(refs):
        if i in bad or not isinstance(p, dict) or not isinstance(p.get("name"), str):
            continue
        try:
            out.append(PARENT_REF.build(p, env))
        except (KeyError, TypeError):
            continue
    return tuple(out)
