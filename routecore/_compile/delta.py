"""Which parents (Gateways, mesh Services) a change of some objects can affect.

``affected(old, new, changes)`` takes the Configs before and after an update and the models that
differ (``routecore._config.patch.changed_items``) and answers the Gateways and Services whose
views and status may differ. What a view reads, and so what marks its parent:

- a route: its parentRefs, old and new (a route that left a parent changes that parent too);
- a Gateway: itself; a Service: its own mesh views (ports), and every route with a backendRef or
  mirror target to it (resolution: BackendNotFound); a ReferenceGrant in namespace N: every route
  with a backendRef into N from another namespace (RefNotPermitted); a Namespace (labels): every
  Gateway with a listener that selects namespaces by label;
- a route whose parentRef is a ListenerSet: the set's Gateway, as the set's entries are merged
  into it;
- a BackendTLSPolicy: every route with a backendRef to a Service it targets (old and new targets:
  the Choices carry the backend TLS), and so their parents; a ConfigMap or Secret: the same for
  every policy whose caCertificateRefs name it (a listener's certificateRefs never change which
  routes attach, routecore._compile.listeners, and listener status is worked out afresh by every
  Attachments);
- Services given or not at all (``config.services`` None: every backendRef exists): everything;
- a ListenerSet or TLS/TCP/UDP route changed, or a Namespace changed in a configuration holding
  ListenerSets (their Gateways' allowedListeners may select by labels): everything (merged
  listeners and stream tables are not worked out piecewise).

Invariant: a parent not in the answer has, in ``new``, the same Gateway or Service object, the
same attached routes (the same objects) with the same backend resolution as in ``old``, so its
views and listener records can be reused as they are. The routes whose backend resolution may
differ are in ``Affected.routes`` (by id, objects of ``new``).
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Set, Tuple

from attrs import define, field

from .._config.models import (CORE_GROUP, BackendTLSPolicy, Config, ConfigMap, Gateway, ListenerSet, Namespace,
                              ReferenceGrant, Secret, Service, StreamRoute)
from .attach import is_gateway_parent, is_mesh_parent, mirror_filters


@define
class Affected:
    everything: bool = False
    gateways: Set[Tuple[str, str]] = field(factory=set)
    services: Set[Tuple[str, str]] = field(factory=set)
    routes: Set[int] = field(factory=set)  # id() of the routes of ``new`` whose resolution may differ
    # Gateways whose listeners' routes must be worked out again from scratch (the Gateway or the
    # namespaces' labels changed); the other affected Gateways changed only by routes:
    reattach: Set[Tuple[str, str]] = field(factory=set)
    gone: Set[int] = field(factory=set)  # id() of the routes of ``old`` replaced or removed
    added: List[object] = field(factory=list)  # the routes of ``new`` that replace or add, in order

    def covers(self, view_key: tuple) -> bool:
        """Whether a Router view key ("gateway"/"service", ns, name, ...) may have changed."""
        if self.everything:
            return True
        parents = self.gateways if view_key[0] == "gateway" else self.services
        return (view_key[1], view_key[2]) in parents

    def add_parents(self, route, sets: Optional[Dict[tuple, tuple]] = None) -> None:
        """The parents of ``route``; ``sets``: (namespace, name) of a ListenerSet -> that of its
        Gateway (a parentRef to a set unknown there attaches to nothing)."""
        for ref in route.parent_refs:
            if is_gateway_parent(ref):
                if ref.kind == "ListenerSet":
                    gw = (sets or {}).get((ref.namespace, ref.name))
                    if gw is not None:
                        self.gateways.add(gw)
                else:
                    self.gateways.add((ref.namespace, ref.name))
            elif is_mesh_parent(ref):
                self.services.add((ref.namespace, ref.name))


def _backend_refs(route) -> Iterable:
    for rule in route.rules:
        yield from rule.backend_refs
        if rule.filters:
            for f in mirror_filters(rule):
                yield f.backend_ref


# kinds whose effects (merged listeners, stream tables) are not worked out piecewise: a change
# of one rebuilds all
_WHOLE = (ListenerSet, StreamRoute)


def _set_parents(*configs: Config) -> Dict[tuple, tuple]:
    """ListenerSet (namespace, name) -> its Gateway's (namespace, name), in every config given
    (the first set of a key wins, as routecore._compile.attach takes them)."""
    out: Dict[tuple, tuple] = {}
    for config in configs:
        for ls in config.listener_sets:
            out.setdefault((ls.namespace, ls.name), tuple(ls.parent[2:]))
    return out


def _policy_targets(policy) -> Iterable[Tuple[str, str]]:
    for t in policy.target_refs:
        if t.group == CORE_GROUP and t.kind == "Service":
            yield policy.namespace, t.name


def affected(old: Config, new: Config, changes) -> Affected:
    out = Affected(everything=(old.services is None) != (new.services is None)
                   or any(isinstance(i, _WHOLE) for pair in changes for i in pair)
                   or (bool(old.listener_sets or new.listener_sets)
                       and any(isinstance(i, Namespace) for pair in changes for i in pair)))
    if out.everything:
        return out
    services: Set[Tuple[str, str]] = set()
    tls_services: Set[Tuple[str, str]] = set()  # targets of changed backend TLS
    grant_namespaces: Set[str] = set()
    selectors = False
    sets = _set_parents(new, old) if old.listener_sets or new.listener_sets else None
    for old_item, new_item in changes:
        if hasattr(old_item, "rules"):
            out.gone.add(id(old_item))
        if hasattr(new_item, "rules"):
            out.added.append(new_item)
        for item in (old_item, new_item):
            if item is None:
                continue
            if isinstance(item, Gateway):
                out.gateways.add((item.namespace, item.name))
                out.reattach.add((item.namespace, item.name))
            elif isinstance(item, Service):
                services.add((item.namespace, item.name))
            elif isinstance(item, ReferenceGrant):
                grant_namespaces.add(item.namespace)
            elif isinstance(item, Namespace):
                selectors = True
            elif isinstance(item, BackendTLSPolicy):
                tls_services.update(_policy_targets(item))
            elif isinstance(item, (Secret, ConfigMap)):
                for config in (old, new):
                    for policy in config.backend_tls_policies:
                        if policy.namespace == item.namespace and any(
                                kind == item.kind and name == item.name
                                for _, kind, name in policy.ca_certificate_refs):
                            tls_services.update(_policy_targets(policy))
            elif hasattr(item, "rules"):  # HTTPRoute, GRPCRoute
                out.add_parents(item, sets)
    out.services |= services
    if selectors:
        selecting = {(g.namespace, g.name) for g in new.gateways
                     if any(lis.allowed_from == "Selector" for lis in g.listeners)}
        out.gateways |= selecting
        out.reattach |= selecting
    if services or grant_namespaces or tls_services:
        for route in new.routes:
            if any((ref.namespace, ref.name) in services or (ref.namespace, ref.name) in tls_services
                   or (ref.namespace in grant_namespaces and ref.namespace != route.namespace)
                   for ref in _backend_refs(route)):
                out.routes.add(id(route))
                out.add_parents(route, sets)
    return out
