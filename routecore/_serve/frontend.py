"""The sockets `routecore serve` listens on: one per listener port of the served Gateway (``ports``),
each with the server of its channel, and their certificates kept in step with reloads.

Invariants:
- the ports, their channels and their addresses are fixed at start-up; a reload that would
  change a port's channel, add or remove a port, or leave a TLS port without a usable
  certificate is refused (the running configuration keeps serving); certificates and Secrets
  themselves are reloaded: new handshakes use the new ones;
- every binding's view is ``router.gateway(name, namespace, port)`` of the Gateway port it
  serves, swapped with the rest of the configuration on reload.
"""
from __future__ import annotations

import logging
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import attrs

from .ports import PortPlan, TERMINATING, certificates, config_secrets, sockets
from .server import ClientConnection
from .stream import StreamConnection
from .tls import CertificateStore, TLSConfigError
from .udp import UDPListener

log = logging.getLogger("routecore.serve")


@attrs.define
class Binding:
    """A PortPlan bound at ``host``:``port`` (``port`` 0: any free port); ``store`` holds the
    certificates of a terminating channel."""

    plan: PortPlan
    host: str
    port: int
    store: Optional[CertificateStore] = None

    @property
    def key(self) -> int:
        return self.plan.port


def gateway_listeners(router, namespace: str, name: str) -> Tuple[tuple, Dict[str, str], List[str]]:
    """(the listeners served: the Gateway's and its ListenerSets' that the library accepts,
    {listener key: why its certificates may not be used} for those whose certificateRefs are
    not permitted (no ReferenceGrant), a warning per listener not accepted). LookupError when
    the Gateway is absent."""
    gw = router.attachments.gateway(namespace, name)
    if gw is None:
        raise LookupError(f"no Gateway {namespace}/{name} in this configuration")
    served, forbidden, warnings = [], {}, []
    for state in router.attachments.gateway_listeners(gw).states:
        lis = state.listener
        if not state.accepted:
            warnings.append(f"listener {lis.key} (port {lis.port}): not served, "
                            f"{state.reason}: {state.message}")
            continue
        served.append(lis)
        if state.refs_reason == "RefNotPermitted":
            forbidden[lis.key] = state.refs_message
    return tuple(served), forbidden, warnings


def gateway_select(namespace: str, name: str, port: int) -> Callable:
    """The view of one Gateway port: ``select(router)``."""
    return lambda r: r.gateway(name, namespace=namespace, port=port)


def gateway_ports(router, namespace: str, name: str, only: Optional[Sequence[int]] = None,
                  tls_secrets: Optional[Dict[Tuple[str, str], Tuple[bytes, bytes]]] = None
                  ) -> Tuple[List[PortPlan], Dict[tuple, CertificateStore], List[str], List[str]]:
    """What the Gateway's served listeners (those on ``only`` when given) ask to be bound:
    (the port plans, the CertificateStore of each terminating one by PortPlan.key, warnings, a
    problem per port left out: it mixes channels, or no listener has a usable certificate).
    ``tls_secrets`` come before the configuration's Secrets of the same name. LookupError when
    the Gateway is absent."""
    listeners, forbidden, warnings = gateway_listeners(router, namespace, name)
    plans, more, problems = sockets(listeners, only)
    warnings += more
    secrets = {**config_secrets(router.config), **(tls_secrets or {})}
    kept, stores = [], {}
    for p in plans:
        if p.channel in TERMINATING:
            alpn = ("http/1.1",) if any(l.protocol == "HTTPS" for l in p.listeners) else ()
            try:
                stores[p.key], more = certificates(p, secrets, alpn, forbidden)
            except TLSConfigError as exc:
                problems.append(str(exc))
                continue
            warnings += more
        kept.append(p)
    return kept, stores, warnings, problems


class Gateway:
    """The bindings of one Gateway: ``bindings`` (to give ``proxy.run``), ``selects`` (the
    views, by Gateway port) and ``prepare`` (the Proxy's reload check), from ``tls_secrets``
    ((ns, name) -> (cert PEM, key PEM), given on the command line; the configuration's own
    Secrets of the same name give way to them)."""

    def __init__(self, router, namespace: str, name: str, host: str, *,
                 port: Optional[int] = None, local_port: Optional[int] = None,
                 tls_secrets: Optional[Dict[Tuple[str, str], Tuple[bytes, bytes]]] = None):
        self.namespace, self.name, self.host = namespace, name, host
        self.only = None if port is None else (port,)
        self.local_port = local_port
        self.tls_secrets = dict(tls_secrets or {})
        plans, self.warnings, stores = self._plan(router)
        if not plans:
            where = f"port {port}" if port is not None else "any port"
            raise TLSConfigError(f"Gateway {namespace}/{name} has no listener to serve on {where}")
        self.bindings = [Binding(p, host, p.port if local_port is None else local_port,
                                 stores.get(p.key)) for p in plans]
        self.selects: Dict[int, Callable] = {b.key: gateway_select(namespace, name, b.key)
                                             for b in self.bindings}

    def _plan(self, router) -> Tuple[List[PortPlan], List[str], dict]:
        plans, stores, warnings, problems = gateway_ports(router, self.namespace, self.name,
                                                          self.only, self.tls_secrets)
        if problems:
            raise TLSConfigError("; ".join(problems))
        return plans, warnings, stores

    def prepare(self, router) -> Callable[[], None]:
        """Check a reload candidate; the function that swaps its certificates in."""
        plans, warnings, stores = self._plan(router)
        old = {b.plan.key: b.plan.channel for b in self.bindings}
        new = {p.key: p.channel for p in plans}
        if old != new:
            raise TLSConfigError(
                "the Gateway's listener ports or their protocols changed (serving: "
                f"{_ports(old)}; new: {_ports(new)}): restart routecore serve to change them")

        def commit():
            for b in self.bindings:
                if b.store is not None:
                    b.store.update(stores[b.plan.key].listeners)
            for w in warnings:
                log.warning("%s", w)
        return commit


def _ports(channels: dict) -> str:
    return ", ".join(f"{port}/{channel}" for (port, _), channel in sorted(channels.items())) or "none"


async def bind(proxy, binding: Binding, loop, backlog: int = 1024):
    """Listen for ``binding``; the asyncio Server (or, for UDP, the datagram transport)."""
    channel, key, gw_port = binding.plan.channel, binding.key, binding.plan.port
    host, port = binding.host, binding.port
    if channel == "udp":
        transport, _ = await loop.create_datagram_endpoint(
            lambda: UDPListener(proxy, key, gw_port), local_addr=(host, port))
        return transport
    ssl_ctx = binding.store.context if binding.store is not None else None
    if channel in ("http", "https"):
        tls = channel == "https"

        def factory():
            return ClientConnection(proxy, key, tls)
    else:
        def factory():
            return StreamConnection(proxy, key, channel, gw_port, binding)
    kwargs = {}
    if ssl_ctx is not None and channel != "tls-mixed":  # (mixed: terminated after the hello)
        kwargs = {"ssl": ssl_ctx,
                  "ssl_handshake_timeout": proxy.settings.header_timeout or None}
    return await loop.create_server(factory, host, port, backlog=backlog, reuse_address=True,
                                    **kwargs)


def describe(bindings: Sequence[Binding], servers: Sequence) -> List[str]:
    """``channel://host:port(gateway port N)`` per binding, with the port actually bound."""
    return [f"{b.plan.channel}://{b.host}:{describe_port(server)}(port {b.plan.port})"
            for b, server in zip(bindings, servers)]


def describe_port(server) -> int:
    """The local port of a Server or a datagram transport."""
    sock = server.sockets[0] if hasattr(server, "sockets") else server.get_extra_info("socket")
    return sock.getsockname()[1]
