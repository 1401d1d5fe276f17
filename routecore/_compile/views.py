"""The TableSpec of one view: a Gateway port or a mesh Service port (for one client namespace).

Invariants: a view's spec is a function of the Config's attachment records, the Router's options
and nothing else (the compile cache only shares equal objects); which routes a listener or a
Service port takes is the records' answer (``Attachments.listener_routes`` /
``Attachments.service_routes``), never recomputed here.
"""
from __future__ import annotations

from typing import Dict, Optional

from .._outcome import Backend, Choice
from .attach import Attachments
from .options import RouterOptions
from .streams import STREAM_PROTOCOLS, stream_listener
from .table import Builder, CompileCache, ListenerSpec, TableSpec, group_entries


def gateway_spec(attachments: Attachments, options: RouterOptions, cache: CompileCache,
                 namespace: str, name: str, port: int) -> TableSpec:
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
    specs = []
    streams = [stream_listener(b, attachments, gw, lis)
               for proto in STREAM_PROTOCOLS for lis in listeners if lis.protocol == proto]
    for lis in listeners:  # (a TLS, TCP or UDP listener takes no HTTP route: 404 there)
        scheme = "https" if lis.protocol == "HTTPS" else "http"
        by_host: Dict[Optional[str], list] = {}
        for route, hosts in attachments.listener_routes(gw, lis):
            entries = b.entries(route, lis.key, lis.port, scheme)
            for h in hosts:
                by_host.setdefault(h, []).extend(entries)
        no_match = b.static(Choice(matched=False, status=404, listener=lis.key))
        specs.append(ListenerSpec(lis.key, lis.hostname, group_entries(by_host), no_match))
    no_listener = b.static(Choice(matched=False, status=404))
    misdirected = b.static(Choice(matched=False, status=421))
    return b.spec(specs, no_listener, misdirected, tuple(streams))


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
