"""Builds the Gateway models of models.py from checked and defaulted data (the output of kinds'
schemas). Every other kind is built by its own declaration in kinds.py (``Obj.build``: the
top-level schema's model, filled by its metadata and spec); Gateways and their listeners keep a
builder written out here, which reads the declared LabelSelector and RouteGroupKind.

Invariants:
- the input passed every check, so the builder never validates and never fails on well-formed
  input.
"""
from __future__ import annotations

from . import models as m
from .kinds import LABEL_SELECTOR, ROUTE_GROUP_KIND
from .schema import BuildEnv


def build_gateway(d: dict, ns: str, name: str) -> m.Gateway:
    spec = d["spec"]
    env = BuildEnv(ns)
    listeners = []
    for li in spec["listeners"]:
        allowed = li["allowedRoutes"]
        nss = allowed.get("namespaces") or {"from": "Same"}
        selector = nss.get("selector")
        listeners.append(
            m.Listener(
                name=li["name"],
                port=li["port"],
                protocol=li["protocol"],
                hostname=li.get("hostname"),
                allowed_from=nss.get("from", "Same"),
                selector=None if selector is None else LABEL_SELECTOR.build(selector, env),
                allowed_kinds=tuple(ROUTE_GROUP_KIND.build(k, env) for k in allowed.get("kinds", ())),
            )
        )
    return m.Gateway(namespace=ns, name=name, gateway_class=spec["gatewayClassName"], listeners=tuple(listeners))
