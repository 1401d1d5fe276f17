"""The TableSpec of one view: a Gateway port or a mesh Service port (for one client namespace).

Invariants: a view's spec is a function of the Config's attachment records, the Router's options
and nothing else (the compile cache only shares equal objects); which routes a listener or a
Service port takes is the records' answer (``Attachments.listener_routes`` /
``Attachments.service_routes``), never recomputed here.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from operator import itemgetter
from typing import Dict, List, Optional, Sequence, Set, Tuple

from attrs import define, field

from .._outcome import Backend, Choice
from .attach import Attachments
from .options import RouterOptions
from .streams import stream_listener
from .table import (REGEX, Builder, CompileCache, Entry, HostGroup, ListenerSpec, TableSpec,
                    entry_key, group_entries, grpc_sort_key, route_age, sort_key)


def gateway_spec(attachments: Attachments, options: RouterOptions, cache: CompileCache,
                 namespace: str, name: str, port: int) -> TableSpec:
    return GatewayBuild.full(attachments, options, cache, namespace, name, port).spec()


def route_sort_keys(route, regex_first: bool) -> List[tuple]:
    """The sort_key of each entry ``Builder.entries`` makes of ``route`` (any listener: a key
    depends on the route and ``regex_first`` only), in the same order: what an update finds a
    removed route's entries by, so that a build keeps no entries per route."""
    key = grpc_sort_key if route.kind == "GRPCRoute" else sort_key
    extra = () if route.kind == "GRPCRoute" else (route_age(route), route.key)
    return [key(route, index, mi, m, regex_first, *extra)
            for rule, index in zip(route.rules, route.rule_indexes or range(len(route.rules)))
            for mi, m in enumerate(rule.matches)]


def _take_keys(group: List[Entry], keys: List[tuple]) -> Optional[List[Entry]]:
    """Take the entries of sort_key ``keys`` out of ``group`` (sorted by sort_key); those
    entries. None (``group`` then unchanged) when a key is missing or held twice (a Config
    added up from several may hold a route key twice): the caller builds whole."""
    out = []
    for k in keys:
        at = bisect_left(group, k, key=entry_key)
        if at >= len(group) or entry_key(group[at]) != k \
                or (at + 1 < len(group) and entry_key(group[at + 1]) == k):
            for e in reversed(out):
                insort(group, e, key=entry_key)
            return None
        out.append(group.pop(at))
    return out


def _remove_sorted(group: List[Entry], entries: List[Entry]) -> None:
    """Take ``entries`` (each there once) out of ``group``, sorted by sort_key (unique)."""
    for e in entries:
        at = bisect_left(group, e.sort_key, key=entry_key)
        if at < len(group) and group[at] is e:
            del group[at]
        else:  # pragma: no cover - an invariant broken: fall back to a scan
            group.remove(e)


def bucket_key(entry: Entry) -> tuple:
    """The bucket of a table an entry sits in: (Exact or PathPrefix, its path), or (REGEX,
    None) for the regex entries of its host group, which a table keeps together."""
    return (entry.path_type, None if entry.path_type == REGEX else entry.path)


@define
class _ListenerBuild:
    listener: object
    scheme: str
    # (no record per route: the routes the listener routes and their hosts are the builder's
    # attachment records', and an update finds a removed route's entries by their sort keys,
    # route_sort_keys: ~140 B per rule less at 100,000 routes, issue 15 item 5)
    # host -> entries sorted by sort_key: a tuple after a full build, a list once an update
    # touched the host (never changed in place after a spec was made from it)
    groups: Dict[Optional[str], Sequence[Entry]]
    no_match: int
    # host -> {bucket_key: entries sorted by sort_key}: the groups cut into the buckets a table
    # is made of, for the hosts an update touched so far (made on a host's first update)
    buckets: Dict[Optional[str], Dict[tuple, List[Entry]]] = field(factory=dict)

    def host_buckets(self, host: Optional[str]) -> Dict[tuple, List[Entry]]:
        hit = self.buckets.get(host)
        if hit is None:
            hit = self.buckets[host] = {}
            for e in self.groups.get(host, ()):
                hit.setdefault(bucket_key(e), []).append(e)
        return hit


@define
class GatewayBuild:
    """What a Gateway port's TableSpec is made of, kept so that an update of some routes rebuilds
    only their entries: the Builder (choices and outcomes only grow: the outcomes of a removed
    route stay, unreferenced, until the next full build; its attachment records say which
    routes each listener routes) and, per listener, the sorted host groups."""

    gateway: object
    builder: Builder
    listeners: List[_ListenerBuild]
    statics: Tuple[int, int, int]  # no_listener, misdirected, bad_request
    base_outcomes: int  # outcomes after the last full build
    streams: tuple = ()  # the port's TLS/TCP/UDP listeners (StreamListenerSpec), built whole
    # what changed since the build this one was updated from, for the table made from it to be
    # made from that build's table (routecore._match_*.patched_table): [(listener index, host,
    # {bucket_key: the bucket's entries now, () when gone})]; None after a full build
    patch: Optional[list] = None

    @classmethod
    def full(cls, attachments: Attachments, options: RouterOptions, cache: CompileCache,
             namespace: str, name: str, port: int) -> "GatewayBuild":
        config = attachments.config
        gw = attachments.gateway(namespace, name)
        if gw is None:
            known = ", ".join(f"{g.namespace}/{g.name}" for g in config.gateways) or "none"
            raise LookupError(f"no Gateway {namespace}/{name} in this configuration (Gateways: {known})")
        merged = attachments.gateway_listeners(gw).listeners
        listeners = [l for l in merged if l.port == port]
        if not listeners:
            ports = ", ".join(f"{l.key}:{l.port}" for l in merged)
            raise LookupError(f"Gateway {namespace}/{name} has no listener on port {port} "
                              f"(listeners: {ports})")
        b = Builder(attachments, options, cache, mesh=False)
        # TLS and HTTPS listeners (route_tls chooses among both by SNI), then TCP, then UDP
        streams = tuple(stream_listener(b, attachments, gw, lis) for protos in (("TLS", "HTTPS"), ("TCP",), ("UDP",))
                        for lis in listeners if lis.protocol in protos)
        out = []
        for lis in listeners:  # (a TLS, TCP or UDP listener takes no HTTP route: 404 there)
            scheme = "https" if lis.protocol == "HTTPS" else "http"
            groups: Dict[Optional[str], List[Entry]] = {}
            key, port = lis.key, lis.port
            taken, hosts_of = attachments.listener_hosts(gw, lis)
            for route in taken:
                hosts = hosts_of[route.hostnames]
                entries = b.entries(route, key, port, scheme)
                for h in hosts:
                    group = groups.get(h)
                    if group is None:
                        groups[h] = list(entries)
                    else:
                        group += entries
            for h, entries in groups.items():
                entries.sort()  # (by sort_key: an Entry starts with it, and it is unique there)
                # a tuple, which spec() hands on as it is (tuple() of a tuple is that tuple):
                # one array of the entries per host, not two; an update copies a host's entries
                # into a list before it changes them (touch, in ``updated``)
                groups[h] = tuple(entries)
            no_match = b.static(Choice(matched=False, status=404, listener=lis.key))
            out.append(_ListenerBuild(lis, scheme, groups, no_match))
        statics = (b.static(Choice(matched=False, status=404)),
                   b.static(Choice(matched=False, status=421)),
                   b.static(Choice(matched=False, status=400)))
        return cls(gw, b, out, statics, len(b.outcomes), streams)

    def spec(self) -> TableSpec:
        specs = [ListenerSpec(lb.listener.key, lb.listener.hostname,
                              tuple(HostGroup(h, tuple(es)) for h, es in lb.groups.items() if es),
                              lb.no_match) for lb in self.listeners]
        no_listener, misdirected, bad_request = self.statics
        return self.builder.spec(specs, no_listener, misdirected, bad_request, self.streams)

    def updated(self, attachments: Attachments, cache: CompileCache,
                dirty: Set[int]) -> Optional["GatewayBuild"]:
        """This build after an update (``attachments`` of the new configuration; ``dirty``: ids
        of routes whose backend resolution may have changed), sharing nothing this one can still
        be asked for; None when a full build is due (the Gateway changed, or the outcomes of
        removed routes outnumber the live ones, or the port has TLS/TCP/UDP listeners)."""
        gw = attachments.gateway(self.gateway.namespace, self.gateway.name)
        if gw is not self.gateway or self.streams \
                or len(self.builder.outcomes) > 2 * self.base_outcomes + 64:
            return None
        before = self.builder.attachments  # (what this build was made from)
        b = self.builder.carry(attachments, cache)
        regex_first = b.options.regex_first
        out = []
        patch = []
        for li, lb in enumerate(self.listeners):
            lis = lb.listener
            removed, added = _route_changes(before, attachments, gw, lis, dirty)
            groups = dict(lb.groups)  # (a host's entries are copied when the host is touched)
            buckets = dict(lb.buckets)
            nb = _ListenerBuild(lis, lb.scheme, groups, lb.no_match, buckets)
            touched: Dict[Optional[str], Set[tuple]] = {}
            lists: Dict[Optional[str], List[Entry]] = {}  # the touched hosts' (new) groups

            def touch(h):
                if h not in touched:
                    touched[h] = set()
                    groups[h] = lists[h] = list(groups.get(h, ()))
                    buckets[h] = dict(lb.host_buckets(h))
                return touched[h]
            for route, hosts in removed:
                sort_keys = route_sort_keys(route, regex_first)
                for h in hosts:
                    keys = touch(h)
                    entries = _take_keys(lists[h], sort_keys)
                    if entries is None:  # (a route key held twice: which entry is whose?)
                        return None
                    hb = buckets[h]
                    for e in entries:
                        k = bucket_key(e)
                        if k not in keys:
                            keys.add(k)
                            hb[k] = list(hb[k])
                        _remove_sorted(hb[k], [e])
            for route, hosts in added:
                entries = b.entries(route, lis.key, lis.port, lb.scheme)
                for h in hosts:
                    keys = touch(h)
                    group = lists[h]
                    hb = buckets[h]
                    for e in entries:
                        insort(group, e, key=entry_key)
                        k = bucket_key(e)
                        if k not in keys:
                            keys.add(k)
                            hb[k] = list(hb.get(k, ()))
                        insort(hb[k], e, key=entry_key)
            for h, keys in touched.items():
                patch.append((li, h, {k: tuple(buckets[h][k]) for k in keys}))
            out.append(nb)
        return GatewayBuild(gw, b, out, self.statics, self.base_outcomes, self.streams, patch)


def _route_changes(before: Attachments, attachments: Attachments, gw, lis,
                   dirty: Set[int]) -> Tuple[list, list]:
    """([(route, hosts)] whose entries go, [(route, hosts)] entered anew) on a listener whose
    routes were ``before``'s (the records a build was made from; ``attachments``: the new
    ones); ``dirty``: ids of routes whose backend resolution may differ (entered again, same
    hosts). From the records' own delta when they were patched (few routes: no dict over the
    10,000s), else by comparing the ids of all."""
    routes, hosts = before.listener_hosts(gw, lis)
    delta = attachments.listener_delta(gw, lis)
    if delta is not None:  # (a route not gone keeps its record: the dirty ones stay, same hosts)
        gone, appended = delta
        wanted = gone | dirty
        if len(wanted) > 32:
            picked = [r for r in routes if id(r) in wanted]
        else:  # (C speed: a few routes among 10,000s, see attach.without_ids)
            ids = list(map(id, routes))
            picked = [routes[ids.index(rid)] for rid in wanted if rid in ids]
        removed = [(r, hosts[r.hostnames]) for r in picked]
        again = [rh for rh in removed if id(rh[0]) in dirty]
        return removed, list(appended) + again
    now = attachments.listener_routes(gw, lis)
    now_by_id = dict(zip(map(id, map(itemgetter(0), now)), now))  # (C speed: 10,000s)
    old_by_id = dict(zip(map(id, routes), routes))
    left = old_by_id.keys() - now_by_id.keys()
    again = dirty & old_by_id.keys()
    removed = [(r, hosts[r.hostnames]) for r in map(old_by_id.__getitem__, left | again)]
    return removed, [now_by_id[rid] for rid in (now_by_id.keys() - old_by_id.keys()) | (again - left)]


def service_spec(attachments: Attachments, options: RouterOptions, cache: CompileCache,
                 namespace: str, name: str, port: int,
                 client_namespace: Optional[str]) -> TableSpec:
    services = attachments.services
    svc = None if services is None else services.get((namespace, name))
    if services is not None and svc is None:
        raise LookupError(f"no Service {namespace}/{name} in this configuration")
    port_name = None
    if svc is not None:
        sp = next((p for p in svc.ports if p.port == port), None)
        if sp is None and svc.ports:
            ports = ", ".join(str(p.port) for p in svc.ports)
            raise LookupError(f"Service {namespace}/{name} has no port {port} (ports: {ports})")
        port_name = sp.name if sp is not None else None
    routes = attachments.service_routes(namespace, name, port, port_name, client_namespace)
    b = Builder(attachments, options, cache, mesh=True)
    entries = []
    for route in routes:
        entries.extend(b.entries(route, None, port, "http"))
    if routes:
        no_match = b.static(Choice(matched=False, status=404))
    else:  # no route for this client: the request goes to the Service itself
        no_match = b.static(Choice(matched=False, status=None,
                                   backend=Backend(namespace, name, port)))
    groups = group_entries({None: entries}) if entries else ()
    return b.spec([ListenerSpec(None, None, groups, no_match)], no_match)
