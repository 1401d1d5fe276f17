"""Attachment, resolved once per configuration: one record per (route, parentRef).

``resolve(config)`` decides, for every route and each of its parentRefs, whether the parent takes
the route and why not (the Kubernetes condition reason and message ``router.status()`` reports),
the listeners it attached to (a Gateway parent) or the Service ports it routes (a mesh parent),
the resolution of every backendRef and mirror target per rule (the ResolvedRefs reason of each
that does not resolve) and the rules load dropped, as integers. The table builder and the status
writer both read these records, so what status says is what routing does (Envoy Gateway does the
same: status is set while translating, and dropped rules are data).

Invariants:
- a route is routed by a Gateway listener exactly when one of its records lists that listener
  (``listener_routes``), and by a Service port for a client namespace exactly as
  ``service_routes`` says; ``service_routes`` and the mesh records apply the one rule of
  GEP-1294 (``one_kind_per_port``: a Service port takes the GRPCRoutes of a namespace if it has
  any, else its HTTPRoutes);
- a backendRef's resolution depends only on the route, the ref and whether the parent is a mesh
  Service (``backend_problem``): records of the same kind of parent share one ``RuleBackends``
  tuple;
- records are in ``config.routes`` order, then parentRefs order; every list of routes returned
  here keeps ``config.routes`` order;
- the Attachments of an update (``Attachments(config, previous, affected)``, Router.update) hold
  exactly what a fresh one of ``config`` would compute: they reuse the previous listener records,
  route buckets and backend resolutions only where ``affected`` (routecore._compile.delta) says
  nothing they depend on changed, and patch a listener's records only when routes alone changed.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from operator import attrgetter, itemgetter
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from attrs import frozen

from .._config.models import CORE_GROUP, GATEWAY_GROUP, Config, HTTPRoute, RequestMirror
from .listeners import GatewayListeners, granted, merge
from .table import (attaches_to_listener, effective_hostnames, is_core_service, listener_accepts,
                    listener_routes, service_ref_covers)

ACCEPTED = (True, "Accepted", "Route is accepted")


def without_ids(items: list, gone: set, of: Optional[Callable] = None) -> list:
    """A copy of ``items`` without those whose id (or the id of ``of(item)``) is in ``gone``, in
    order; each such object at most once in ``items``. At C speed when ``gone`` is small (an
    update's few routes among 10,000s)."""
    if len(gone) > 32:
        return [x for x in items if id(x if of is None else of(x)) not in gone]
    ids = list(map(id, items if of is None else map(of, items)))
    drop = []
    for rid in gone:
        try:
            drop.append(ids.index(rid))
        except ValueError:
            pass
    out = list(items)
    for i in sorted(drop, reverse=True):
        del out[i]
    return out


class RuleBackends(NamedTuple):
    """How the backendRefs of one rule resolve (a tuple: views build one per rule)."""

    rule: int  # the rule's index in the route as written (spec.rules[rule])
    # per backendRef of the rule, in order: None when it resolves, else the ResolvedRefs reason
    problems: Tuple[Optional[str], ...]
    # the same for the backendRef of each RequestMirror filter of the rule, in order
    mirror_problems: Tuple[Optional[str], ...]


# equal RuleBackends share one object (most are (0, (None,), ()), (1, (None,), ())...): a few
# hundred at most (rule indexes < 16, reasons from a fixed set, backendRefs per rule < 16)
_SHARED: Dict[tuple, RuleBackends] = {}


@frozen
class AttachedListener:
    name: str
    hostnames: Tuple[Optional[str], ...]  # the route's effective hostnames there (None: any)


@frozen
class Attachment:
    """One (route, parentRef): accepted or refused, where it attached, what it resolves to."""

    route: HTTPRoute  # or GRPCRoute
    parent: object  # the ParentRef
    accepted: bool
    reason: str  # the Accepted condition's reason ("Accepted" when accepted)
    message: str
    listeners: Tuple[AttachedListener, ...]  # Gateway parent: the listeners that route it
    service_ports: Tuple[Optional[int], ...]  # mesh parent: the ports it routes (None: any port)
    rules: Tuple[RuleBackends, ...]  # one per kept rule, in route.rules order
    # indexes (as written) of the rules load left out: the integers load recorded while
    # validating (route.dropped_rules), never read back from the issues' paths
    dropped_rules: Tuple[int, ...]
    # what load reported about the route (strict=False kept it): the dropped rules' problems
    # (and a duplicate of the object, when one was left out)
    issues: Tuple[object, ...] = ()

    # False for a parentRef to a Gateway that does not exist: routecore does not own that parent,
    # so status has no entry for it (an implementation writes status only for parents it owns)
    owned: bool = True

    @property
    def mesh(self) -> bool:
        return is_mesh_parent(self.parent)

    @property
    def backend_problems(self) -> List[Tuple[object, str]]:
        """(backendRef, ResolvedRefs reason) of each reference that does not resolve, rule by
        rule, backendRefs before mirror targets."""
        out = []
        for rule, resolved in zip(self.route.rules, self.rules):
            out += [(b, why) for b, why in zip(rule.backend_refs, resolved.problems) if why]
            out += [(f.backend_ref, why) for f, why in zip(mirror_filters(rule),
                                                           resolved.mirror_problems) if why]
        return out


_HOSTNAMES = attrgetter("hostnames")  # a route's spec.hostnames (a tuple)


def mirror_filters(rule) -> list:
    return [f for f in rule.filters if isinstance(f, RequestMirror)] if rule.filters else []


def is_mesh_parent(ref) -> bool:
    return ref.group == CORE_GROUP and ref.kind == "Service"


def is_gateway_parent(ref) -> bool:
    """A Gateway, or a ListenerSet (whose entries are merged into its Gateway)."""
    return ref.group == GATEWAY_GROUP and ref.kind in ("Gateway", "ListenerSet")


def one_kind_per_port(routes: list) -> list:
    """GEP-1294: of the routes one namespace attaches to one Service port, the port takes the
    GRPCRoutes if there is one, else the HTTPRoutes (order kept)."""
    if any(r.kind == "GRPCRoute" for r in routes):
        return [r for r in routes if r.kind == "GRPCRoute"]
    return routes


class Attachments:
    """Every attachment record of one Config, with the indexes the compiler asks."""

    def __init__(self, config: Config, previous: Optional["Attachments"] = None,
                 affected=None):
        """``previous`` and ``affected`` (routecore._compile.delta.Affected): the records of the
        configuration ``config`` was patched from, and what the patch may have changed; what
        ``previous`` computed for the parents and routes not affected is reused."""
        self.config = config
        self.services = None if config.services is None else {
            (s.namespace, s.name): s for s in config.services}
        self._gateways: Dict[tuple, object] = {}
        for g in config.gateways:  # (the first of a name, as a search in order finds it)
            self._gateways.setdefault((g.namespace, g.name), g)
        # ListenerSet (ns, name) -> the set (the first of a name)
        self.listener_sets: Dict[tuple, object] = {}
        for ls in config.listener_sets:
            self.listener_sets.setdefault((ls.namespace, ls.name), ls)
        self._merged: Dict[tuple, GatewayListeners] = {}  # see gateway_listeners
        self._policies = None  # see policies
        # Gateway (ns, name) / Service (ns, name) -> the routes with a parentRef to it (or to a
        # ListenerSet of the Gateway), in order
        self._by_gateway: Dict[tuple, list] = {}
        self._by_service: Dict[tuple, list] = {}
        if previous is not None and not affected.everything:
            self._patch_buckets(previous, affected)
        else:
            self._bucket(config.routes)
        # (gateway ns, name, listener name) -> (the routes it routes, {route.hostnames: the
        # effective hostnames there}, {(kind, route key): the older route of the other kind
        # that took its hostnames}), computed per listener on first use: see _listener
        self._listener_routes: Dict[tuple, tuple] = {}
        self._kept: Dict[tuple, tuple] = {}  # see _port_routes
        # equal answers of rule_backends, one object (a few distinct values for 100,000s of
        # routes; no per-route cache: a view asks once per route and listener, see rule_backends)
        self._rules_shared: Dict[tuple, tuple] = {}
        self._records: Optional[Tuple[Attachment, ...]] = None  # see records
        self._issues: Dict[tuple, list] = {}  # (kind, ns, name) -> its issues (see route)
        self._routes: Optional[Dict[tuple, object]] = None  # (kind, ns, name) -> route (see route)
        # (gateway ns, name) -> [(listener, ids, hosts)]: see _taken_by
        self._taken: Dict[tuple, list] = {}
        # listener key -> the previous records of a listener whose Gateway changed only by its
        # routes (see _listener), and what changed
        self._routes_changed: Dict[tuple, tuple] = {}
        self._affected = None
        # listener key -> (ids of the routes gone, [(route, hosts)] added) of the listeners whose
        # records _listener_patched made from the previous ones (see listener_delta)
        self._deltas: Dict[tuple, tuple] = {}
        if previous is not None and not affected.everything:
            self._carry(previous, affected)

    def _bucket(self, routes, only: Optional[Tuple[set, set]] = None) -> None:
        """Append ``routes`` to the buckets of their parents (of the parents in ``only``:
        (gateways, services), when given)."""
        for route in routes:
            for ref in route.parent_refs:
                if ref.group == GATEWAY_GROUP and ref.kind == "Gateway":
                    key, buckets, part = (ref.namespace, ref.name), self._by_gateway, 0
                elif ref.group == GATEWAY_GROUP and ref.kind == "ListenerSet" \
                        and (ref.namespace, ref.name) in self.listener_sets:
                    key, buckets, part = self.listener_sets[(ref.namespace, ref.name)].parent[2:], self._by_gateway, 0
                elif ref.group == CORE_GROUP and ref.kind == "Service":
                    key, buckets, part = (ref.namespace, ref.name), self._by_service, 1
                else:
                    continue
                if only is not None and key not in only[part]:
                    continue
                bucket = buckets.setdefault(key, [])
                if not bucket or bucket[-1] is not route:
                    bucket.append(route)

    def _patch_buckets(self, previous: "Attachments", affected) -> None:
        """The buckets of ``previous``, those of the parents a changed route names filtered of
        the routes gone and given the added ones (config order: _config.patch puts them last)."""
        gone = affected.gone
        for mine, theirs, parents in ((self._by_gateway, previous._by_gateway, affected.gateways),
                                      (self._by_service, previous._by_service, affected.services)):
            for key, bucket in theirs.items():
                if key not in parents:
                    mine[key] = bucket
                else:
                    kept = without_ids(bucket, gone)
                    if kept:
                        mine[key] = kept
        self._bucket(affected.added, (affected.gateways, affected.services))

    def _carry(self, previous: "Attachments", affected) -> None:
        """Take from ``previous`` the listener records of the Gateways and the backend
        resolutions of the routes ``affected`` leaves alone (both configurations hold the same
        objects for them; ``previous`` keeps its own alive, so no id is reused meanwhile)."""
        gateways = affected.gateways
        # (copies first: another thread may be filling the previous caches meanwhile, and a
        # dict's copy is one step under the GIL)
        listeners = dict(previous._listener_routes)
        self._listener_routes = {k: v for k, v in listeners.items() if k[:2] not in gateways}
        self._routes_changed = {k: v for k, v in listeners.items()
                                if k[:2] in gateways and k[:2] not in affected.reattach}
        self._affected = affected
        self._kept = {k: v for k, v in dict(previous._kept).items()
                      if k[:2] not in affected.services}
        # (the equal resolutions' shared objects: a value, whatever route it came from)
        self._rules_shared = previous._rules_shared.copy()

    # --- what the compiler asks ------------------------------------------------------------------

    def gateway(self, namespace: str, name: str):
        return self._gateways.get((namespace, name))

    def owns(self, ref) -> bool:
        """Whether status speaks for this parentRef: every parent but a Gateway that is not in
        the configuration, or a ListenerSet that is not (another implementation's, or none: not
        routecore's to report on)."""
        if not is_gateway_parent(ref):
            return True
        known = self._gateways if ref.kind == "Gateway" else self.listener_sets
        return (ref.namespace, ref.name) in known

    def gateway_listeners(self, gateway) -> GatewayListeners:
        """The Gateway's listeners merged with its ListenerSets' (routecore._compile.listeners)."""
        key = (gateway.namespace, gateway.name)
        hit = self._merged.get(key)
        if hit is None:
            hit = self._merged[key] = merge(self.config, gateway)
        return hit

    @property
    def policies(self):
        """The BackendTLSPolicies' states (routecore._compile.policies), built on first use."""
        if self._policies is None:
            from .policies import Policies
            self._policies = Policies(self)
        return self._policies

    def listener_routes(self, gateway, listener) -> list:
        """[(route, effective hostnames)] the listener routes, in config order (a new list of
        pairs at each call: the records keep no pair per route, see _listener)."""
        routes, hosts, _ = self._listener(gateway, listener)
        return [(r, hosts[r.hostnames]) for r in routes]

    def listener_hosts(self, gateway, listener) -> Tuple[list, Dict[tuple, tuple]]:
        """(the routes the listener routes, in config order; {route.hostnames: the route's
        effective hostnames there}): ``listener_routes`` without making a pair per route."""
        routes, hosts, _ = self._listener(gateway, listener)
        return routes, hosts

    def listener_delta(self, gateway, listener) -> Optional[tuple]:
        """How the listener's records differ from those of the previous Attachments, when they
        were made from them: (ids of routes gone from the configuration, [(route, hosts)]
        appended); the other records are the previous ones, the same objects. None when they
        were worked out whole (or carried unchanged)."""
        self._listener(gateway, listener)
        return self._deltas.get((gateway.namespace, gateway.name, listener.key))

    def _listener(self, gateway, listener) -> tuple:
        """The listener's records: (routes, hosts, refused). ``routes``: the routes it routes,
        in config order; ``hosts``: {route.hostnames: the route's effective hostnames there},
        which depend on nothing else (routecore._compile.table.listener_routes: one tuple per
        distinct value), so a route's are ``hosts[route.hostnames]``: a list slot per route,
        not a (route, hosts) pair (~60 B per rule at 100,000 routes, issue 15 item 5);
        ``refused``: {(kind, route key): the older route of the other kind that took its
        hostnames}."""
        key = (gateway.namespace, gateway.name, listener.key)
        hit = self._listener_routes.get(key)
        if hit is None:
            before = self._routes_changed.pop(key, None)
            if before is not None and not before[2]:
                hit = self._listener_patched(gateway, listener, before)
            if hit is None:
                pairs, refused = listener_routes(self.config, gateway, listener,
                                                 self._by_gateway.get(key[:2], ()),
                                                 self.gateway_listeners(gateway).refused)
                routes = list(map(itemgetter(0), pairs))
                hit = (routes, dict(zip(map(_HOSTNAMES, routes), map(itemgetter(1), pairs))),
                       refused)
            self._listener_routes[key] = hit
        return hit

    def _listener_patched(self, gateway, listener, before: tuple) -> Optional[tuple]:
        """The listener's records from its previous ones (``before``, see _listener) when only
        routes changed and no route was refused for another kind's hostname (else None: work
        them out whole). The kept routes keep their order and the changed and new routes come
        last: config order (_config.patch)."""
        gone = self._affected.gone
        gw = (gateway.namespace, gateway.name)
        sets = self.listener_sets
        added = [r for r in self._affected.added
                 if any((ref.namespace, ref.name) == gw if ref.kind != "ListenerSet"
                        else (ref.namespace, ref.name) in sets
                        and tuple(sets[(ref.namespace, ref.name)].parent[2:]) == gw
                        for ref in r.parent_refs)]
        taken = listener_routes(self.config, gateway, listener, added,
                                self.gateway_listeners(gateway).refused)
        if taken[1]:
            return None
        out = without_ids(before[0], gone) + list(map(itemgetter(0), taken[0]))
        if len(set(map(attrgetter("kind"), out))) > 1:
            return None  # cross serving (GEP-1016) decides between kinds: work it out whole
        hosts = before[1]
        if taken[0]:
            hosts = dict(hosts)
            hosts.update(zip(map(_HOSTNAMES, map(itemgetter(0), taken[0])),
                             map(itemgetter(1), taken[0])))
            if len(hosts) > 2 * len(out) + 64:  # (values of routes gone: not kept for ever)
                hosts = {r.hostnames: hosts[r.hostnames] for r in out}
        self._deltas[(gateway.namespace, gateway.name, listener.key)] = (gone, taken[0])
        return out, hosts, {}

    def service_routes(self, namespace: str, name: str, port: int, port_name: Optional[str],
                       client_namespace: Optional[str]) -> list:
        """The routes a Service port routes for requests from ``client_namespace``: the routes of
        that namespace attached to the port if it has any (consumer routes), else those of the
        Service's own namespace (producer routes); then one route kind (GEP-1294)."""
        attached = [r for r in self._by_service.get((namespace, name), ())
                    if any(service_ref_covers(ref, namespace, name, port, port_name)
                           for ref in r.parent_refs)]
        consumer = [r for r in attached
                    if r.namespace != namespace and r.namespace == client_namespace]
        return one_kind_per_port(consumer or [r for r in attached if r.namespace == namespace])

    def rule_backends(self, route, mesh: bool) -> Tuple[RuleBackends, ...]:
        """The resolution of every backendRef of ``route`` (one RuleBackends per kept rule) under
        a mesh parent (``mesh``) or a Gateway one. Worked out at each call, not cached per route
        (a cache would keep an int and a dict slot per route, ~50 B per rule: issue 15 item 5):
        a build asks once per route and listener, status once per parentRef; the answer is a
        function of the route and this configuration, and equal answers are one object."""
        problem = self.backend_problem
        services = self.services
        namespace = route.namespace
        out = []
        for rule, index in zip(route.rules, route.rule_indexes or range(len(route.rules))):
            problems = []
            for b in rule.backend_refs:  # (backend_problem's None, inline: the usual answer)
                if b.kind == "Service" and b.group == CORE_GROUP \
                        and (b.namespace == namespace or mesh) \
                        and (services is None or (b.namespace, b.name) in services):
                    problems.append(None)
                else:
                    problems.append(problem(route, b, mesh))
            mirrors = tuple([problem(route, f.backend_ref, mesh)
                             for f in mirror_filters(rule)]) if rule.filters else ()
            key = (index, tuple(problems), mirrors)
            shared = _SHARED.get(key)
            if shared is None:
                shared = _SHARED[key] = RuleBackends(*key)
            out.append(shared)
        # (equal tuples of the shared RuleBackends are shared too: most routes have one)
        hit = tuple(out)
        return self._rules_shared.setdefault(hit, hit)

    def backend_problem(self, route, ref, mesh: bool) -> Optional[str]:
        """None when the backendRef resolves, else the ResolvedRefs reason."""
        if not is_core_service(ref):
            return "InvalidKind"
        if self.services is not None and (ref.namespace, ref.name) not in self.services:
            return "BackendNotFound"
        if ref.namespace != route.namespace and not mesh and not granted(self.config, route.kind, route.namespace, ref):
            return "RefNotPermitted"
        return None

    # --- the records (what status asks) ----------------------------------------------------------

    @property
    def records(self) -> Tuple[Attachment, ...]:
        """Every record, in config order, built on first use (a view needs only the listener
        and Service indexes and ``rule_backends``, which the records share)."""
        if self._records is None:
            self._records = tuple(rec for route in self.config.routes
                                  for rec in self.of_route(route.kind, route.namespace, route.name))
        return self._records

    def route(self, kind: str, namespace: str, name: str):
        """The loaded route of that kind, namespace and name, or None (one dict lookup: the
        index is made on first use; a Config added up from several may hold a key twice: the
        last one, whose records status reports)."""
        routes = self._routes
        if routes is None:
            issues: Dict[tuple, list] = {}
            for i in self.config.issues:
                issues.setdefault((i.kind, i.namespace, i.name), []).append(i)
            self._issues = issues  # (before _routes: a thread that sees _routes sees it)
            routes = self._routes = {(r.kind, r.namespace, r.name): r for r in self.config.routes}
        return routes.get((kind, namespace, name))

    def of_route(self, kind: str, namespace: str, name: str) -> List[Attachment]:
        """The records of one route, in parentRefs order (none for a route not loaded), made at
        each call from the parents' listener records (which are kept): not kept per route, as
        a status pass over every route would keep ~230 B per route (issue 15 item 5)."""
        route = self.route(kind, namespace, name)
        if route is None:
            return []
        return [self._record(route, ref, self._issues) for ref in route.parent_refs]

    def _taken_by(self, gw) -> list:
        """[(listener, ids, hosts)] for each listener of one Gateway, in order: ``ids`` the
        id() of the routes the listener routes, ascending (an array('Q'): 8 bytes a route, not
        a dict of ints and lists per route), ``hosts[i]`` the effective hostnames there of the
        route of ``ids[i]``; see _listener_hosts."""
        key = (gw.namespace, gw.name)
        hit = self._taken.get(key)
        if hit is None:
            hit = []
            for lis in self.gateway_listeners(gw).listeners:
                routes, hosts, _ = self._listener(gw, lis)
                routes = sorted(routes, key=id)
                hit.append((lis, array("Q", map(id, routes)),
                            [hosts[h] for h in map(_HOSTNAMES, routes)]))
            self._taken[key] = hit
        return hit

    def attached_routes(self, gateway, listener) -> int:
        return len(self._listener(gateway, listener)[0])

    # --- one record ------------------------------------------------------------------------------

    def _record(self, route, ref, issues_by_object: Dict[tuple, list]) -> Attachment:
        listeners: Tuple[AttachedListener, ...] = ()
        ports: Tuple[Optional[int], ...] = ()
        mesh = is_mesh_parent(ref)
        if mesh:
            accepted, ports = self._mesh_acceptance(route, ref)
        elif is_gateway_parent(ref):
            accepted, listeners = self._gateway_acceptance(route, ref)
        else:
            hint = ""
            if ref.kind == "Service" and ref.group == GATEWAY_GROUP:
                hint = ' (a mesh Service parent needs group: "" written out; an omitted group ' \
                       'means gateway.networking.k8s.io)'
            accepted = (False, "NoMatchingParent",
                        f"unsupported parent kind {ref.group}/{ref.kind}{hint}")
        issues = tuple(issues_by_object.get((route.kind, route.namespace, route.name), ()))
        return Attachment(route, ref, *accepted, listeners=listeners, service_ports=ports,
                          rules=self.rule_backends(route, mesh), dropped_rules=route.dropped_rules,
                          issues=issues, owned=self.owns(ref))

    def parent_gateway(self, ref):
        """(the Gateway a Gateway or ListenerSet parentRef leads to, or None; why not)."""
        if ref.kind == "Gateway":
            gw = self._gateways.get((ref.namespace, ref.name))
            return gw, f"Gateway {ref.namespace}/{ref.name} not found"
        ls = self.listener_sets.get((ref.namespace, ref.name))
        if ls is None:
            return None, f"ListenerSet {ref.namespace}/{ref.name} not found"
        gw = self._gateways.get(ls.parent[2:])
        if gw is None:
            return None, f"the Gateway {'/'.join(ls.parent[2:])} of ListenerSet {ls.namespace}/{ls.name} not found"
        if not any(s.listener_set is ls and s.accepted for s in self.gateway_listeners(gw).sets):
            return None, f"ListenerSet {ls.namespace}/{ls.name} is not accepted by its Gateway"
        return gw, ""

    def _gateway_acceptance(self, route, ref):
        gw, why = self.parent_gateway(ref)
        if gw is None:
            return (False, "NoMatchingParent", why), ()
        # accepted exactly when a listener this parentRef covers routes the route; else the
        # first check below that fails is the reason
        rid = id(route)
        taken = [AttachedListener(l.key, tuple(hosts[at]))
                 for l, ids, hosts in self._taken_by(gw)
                 for at in [bisect_left(ids, rid)]
                 if at < len(ids) and ids[at] == rid and attaches_to_listener(ref, gw, l)]
        if taken:
            return ACCEPTED, tuple(taken)
        merged = self.gateway_listeners(gw)
        relevant = [l for l in merged.listeners if attaches_to_listener(ref, gw, l)]
        if not relevant:
            return (False, "NoMatchingParent",
                    "no listener matches the parentRef's sectionName/port"), ()
        allowed = [l for l in relevant if listener_accepts(self.config, gw, l, route, merged.refused)]
        if not allowed:
            return (False, "NotAllowedByListeners",
                    "no listener allows this route's namespace or kind"), ()
        usable = [(l, hosts) for l in allowed
                  for hosts in [effective_hostnames(route, l.hostname)] if hosts]
        if not usable:
            return (False, "NoMatchingListenerHostname",
                    "no route hostname intersects a listener hostname"), ()
        # GEP-1016 cross serving: an older route of the other kind took every usable listener
        o = self._listener(gw, usable[0][0])[2][(route.kind, route.key)]
        return (False, "NotAllowedByListeners", (
            f"{o.kind} {o.key}, older, has a hostname that intersects this route's on "
            f"listener {usable[0][0].name}: an HTTPRoute and a GRPCRoute may not share a "
            "hostname on a listener")), ()

    def _mesh_acceptance(self, route, ref):
        key = (ref.namespace, ref.name)
        if self.services is not None and key not in self.services:
            return (False, "NoMatchingParent", f"Service {ref.namespace}/{ref.name} not found"), ()
        svc = None if self.services is None else self.services.get(key)
        ports = [(p.port, p.name) for p in svc.ports] if svc is not None and svc.ports else \
            [(ref.port, None)]  # ports unknown: a port of None stands for every port
        covered = [pp for pp in ports if service_ref_covers(ref, ref.namespace, ref.name, *pp)]
        taken, winner = [], None
        for pp in covered:
            kept, kept_ids = self._port_routes(ref.namespace, ref.name, pp, route.namespace)
            if id(route) in kept_ids:
                taken.append(pp[0])
            elif winner is None:
                winner = kept[0]
        if covered and not taken:
            return (False, "NotAllowedByListeners",
                    f"GRPCRoute {winner.key} is attached to the same Service port(s); a "
                    "Service port takes one route kind, GRPCRoute before HTTPRoute"), ()
        return ACCEPTED, tuple(taken)

    def _port_routes(self, namespace: str, name: str, port_and_name: tuple, route_namespace: str):
        """The routes of ``route_namespace`` a Service port takes (GEP-1294) and the set of
        their ids, cached."""
        key = (namespace, name) + port_and_name + (route_namespace,)
        hit = self._kept.get(key)
        if hit is None:
            kept = one_kind_per_port([
                r for r in self._by_service.get((namespace, name), ())
                if r.namespace == route_namespace
                and any(service_ref_covers(x, namespace, name, *port_and_name)
                        for x in r.parent_refs)])
            hit = self._kept[key] = (kept, {id(r) for r in kept})
        return hit
