"""Builds the attrs models of models.py from checked and defaulted data (the output of kinds'
schemas). Route rules (matches, filters, backendRefs, timeouts, retry...) are built by their own
declarations in kinds.py (``Obj.build``); this module assembles routes from them and builds the
objects not yet declared that way (parentRefs, ReferenceGrants, Services; Gateways are built
by kinds_l4).

Invariants:
- the input passed every check (or is the kept part of a route under strict=False), so
  builders never validate and never fail on well-formed input;
- ``memo`` (one dict per load) lets equal immutable parts of routes share one object.
"""
from __future__ import annotations

from typing import Optional

from . import models as m
from .kinds import GRPC_RULE, RULE
from .schema import BuildEnv


def build_parent_ref(p: dict, ns: str, memo: Optional[dict] = None) -> m.ParentRef:
    if memo is not None:  # equal references share one frozen model within a load
        key = ("ParentRef", p["group"], p["kind"], p.get("namespace") or ns, p["name"], p.get("sectionName"),
               p.get("port"))
        ref = memo.get(key)
        if ref is None:
            ref = memo[key] = build_parent_ref(p, ns)
        return ref
    return m.ParentRef(group=p["group"], kind=p["kind"], namespace=p.get("namespace") or ns,
                       name=p["name"], section_name=p.get("sectionName"), port=p.get("port"))


def build_any_route(cls, rule_schema, d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None):
    """An HTTPRoute or GRPCRoute (``cls``), leaving out the rules whose indexes are in ``drop``;
    each rule is built by its declaration (``rule_schema``: kinds.RULE or kinds.GRPC_RULE).

    ``memo`` (a dict kept for one load) lets equal parentRefs, backendRefs and hostname lists
    share one immutable object."""
    env = BuildEnv(ns, memo)
    memo = env.memo
    spec = d["spec"]
    rules = spec.get("rules", [])
    indexes = getattr(rules, "indexes", list(range(len(rules))))
    if drop:
        keep = [(i, r) for i, r in zip(indexes, rules) if i not in drop]
        indexes, rules = [i for i, _ in keep], [r for _, r in keep]
    hostnames = tuple(spec.get("hostnames", ()))
    if hostnames:
        hostnames = memo.setdefault(("hostnames",) + hostnames, hostnames)
    build_rule = rule_schema.builder()
    built_rules = tuple([build_rule(r, env) for r in rules])
    rule_indexes = tuple(indexes)
    # usually (0,), (0, 1)...: one tuple each
    rule_indexes = memo.setdefault(("rule_indexes",) + rule_indexes, rule_indexes)
    return cls(
        namespace=ns,
        name=name,
        parent_refs=env.shared("parent_refs",
                               tuple(build_parent_ref(p, ns, memo) for p in spec.get("parentRefs", ()))),
        hostnames=hostnames,
        rules=built_rules,
        creation_timestamp=d["metadata"].get("creationTimestamp"),
        rule_indexes=rule_indexes,
    )


def build_route(d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None) -> m.HTTPRoute:
    return build_any_route(m.HTTPRoute, RULE, d, ns, name, drop, memo)


def build_grpc_route(d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None) -> m.GRPCRoute:
    return build_any_route(m.GRPCRoute, GRPC_RULE, d, ns, name, drop, memo)


def build_grant(d: dict, ns: str, name: str) -> m.ReferenceGrant:
    spec = d["spec"]
    return m.ReferenceGrant(
        namespace=ns,
        name=name,
        from_=tuple(m.ReferenceGrantFrom(f["group"], f["kind"], f["namespace"]) for f in spec["from"]),
        to=tuple(m.ReferenceGrantTo(t["group"], t["kind"], t.get("name")) for t in spec["to"]),
    )


def build_service(d: dict, ns: str, name: str) -> m.Service:
    spec = d.get("spec") or {}
    return m.Service(
        namespace=ns,
        name=name,
        ports=tuple(
            m.ServicePort(port=p["port"], name=p.get("name"), protocol=p["protocol"], app_protocol=p.get("appProtocol"))
            for p in spec.get("ports", ())
        ),
        type=spec.get("type", "ClusterIP"),
    )
