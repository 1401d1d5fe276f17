"""`routecore serve --kubernetes`: the proxy fed by routecore.kube, one listening socket per
listener port (and channel) of a Gateway and its ListenerSets, or one sidecar port for a mesh
Service.

Invariants:
- One asyncio loop runs the KubeSource (reflectors, apply loop, status writer, Lease) and every
  proxy; a change the source applies reaches every proxy in ``on_change`` (``Proxy.follow``, a
  view lookup: ``Router.update`` built the views in use before the swap), so each request is
  decided by the configuration current when it arrives and no request waits for a build.
- The sockets bound are those file serving binds for the same listeners (frontend.gateway_ports:
  the Gateway's listeners and those of its accepted ListenerSets; one socket per port and
  channel: HTTP, HTTPS and TLS terminated with the certificates of the watched Secrets, TLS
  passthrough, TCP, UDP), each served by frontend.bind. After every applied change the sockets
  are made equal to those wanted: new ones are bound; one whose port and channel stay serves the
  new listeners and swaps its certificates in (new handshakes use them); one no listener wants
  any more, or whose channel changed, is drained and closed. A port refused (it mixes channels
  one socket cannot serve, or no TLS listener on it has a usable certificate) is logged and left
  unbound until a change fixes it; a port that cannot be bound is logged and tried again at the
  next change, and the process is not ready meanwhile.
- /readyz answers 200 only once the first complete sync is live and every wanted port listens.
- A backend without an ``--upstream`` goes to ``http://NAME.NAMESPACE.svc.cluster.local:PORT``.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Callable, Dict, Optional, Set, Tuple

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .frontend import Binding, bind, describe, gateway_ports, gateway_select
from .ports import PortPlan
from .proxy import Proxy, drain
from .tls import CertificateStore

log = logging.getLogger("routecore.serve")


def cluster_upstream(key: str) -> str:
    """The in-cluster URL of the backend "namespace/name:port"."""
    parent, _, port = key.rpartition(":")
    namespace, _, name = parent.partition("/")
    return f"http://{name}.{namespace}.svc.cluster.local:{port}"


class KubeServer:
    """Serves the Gateway ``gateway`` = (ns, name) on every listener port, or the mesh Service
    ``service`` = (ns, name, port, client namespace) on ``listen_port``, from ``source``;
    ``make_proxy(key, select)`` makes the Proxy of one socket (its view ``select`` under
    ``key``, the Gateway port)."""

    def __init__(self, source, *, host: str, make_proxy: Callable[[int, Callable], Proxy],
                 gateway: Optional[Tuple[str, str]] = None, service: Optional[tuple] = None,
                 listen_port: Optional[int] = None, on_change: Optional[Callable] = None):
        self.source = source
        self.host = host
        self.make_proxy = make_proxy
        self.gateway, self.service, self.listen_port = gateway, service, listen_port
        # PortPlan.key -> (its proxy, its server, its Binding)
        self.bound: Dict[tuple, Tuple[Proxy, object, Binding]] = {}
        self.wanted: Dict[tuple, PortPlan] = {}
        self._said: Set[str] = set()  # the warnings logged, so that each is logged once
        self._changed = asyncio.Event()
        self._user_on_change = on_change
        source.on_change = self._on_change

    # --- what to serve ---------------------------------------------------------------------------

    def select(self, port: int) -> Callable:
        if self.gateway is not None:
            return gateway_select(*self.gateway, port)
        ns, name, svc_port, client = self.service
        return lambda r: r.service(name, namespace=ns, port=svc_port, client_namespace=client)

    def wanted_ports(self) -> Tuple[Dict[tuple, PortPlan], Dict[tuple, CertificateStore]]:
        """(the sockets that should listen now by PortPlan.key, the certificates of the
        terminating ones)."""
        router = self.source.router
        if router is None:
            return {}, {}
        if self.gateway is None:
            only = PortPlan(self.listen_port, "http", ())
            return {only.key: only}, {}
        try:
            plans, stores, warnings, problems = gateway_ports(router, *self.gateway)
        except LookupError as exc:
            plans, stores, warnings, problems = [], {}, [], [str(exc)]
        said = set(warnings) | set(problems)
        for text in warnings + problems:
            if text not in self._said:
                log.warning("%s", text)
        self._said = said
        return {p.key: p for p in plans}, stores

    def ready(self) -> bool:
        return self.source.ready and bool(self.wanted) and set(self.wanted) <= set(self.bound)

    # --- following changes -----------------------------------------------------------------------

    def _on_change(self, router, keys) -> None:
        for proxy, _, _ in self.bound.values():
            try:
                proxy.follow(router)
            except LookupError:
                pass  # the listener is gone: the port closes in sync()
        self._changed.set()
        if self._user_on_change is not None:
            self._user_on_change(router, keys)

    async def sync(self) -> None:
        """Make the sockets equal to those wanted: a socket kept (same port, same channel)
        serves the new listeners and certificates; one no longer wanted, or whose channel
        changed, is drained and closed; one wanted and not bound is bound."""
        wanted, stores = self.wanted_ports()
        self.wanted = wanted
        for key, (proxy, server, binding) in list(self.bound.items()):
            new = wanted.get(key)
            if new is not None and new.channel == binding.plan.channel:
                binding.plan = new
                if binding.store is not None:
                    binding.store.update(stores[key].listeners)
                continue
            del self.bound[key]
            log.info("port %s: %s, closing", key[0], "no listener any more" if new is None
                     else f"now {new.channel}")
            await drain(proxy, server)
        loop = asyncio.get_running_loop()
        for key, port_plan in wanted.items():
            if key in self.bound:
                continue
            binding = Binding(port_plan, self.host, port_plan.port, stores.get(key))
            try:
                proxy = self.make_proxy(binding.key, self.select(binding.key))
            except LookupError as exc:
                log.warning("port %s: %s", binding.key, exc)
                continue
            proxy.start(loop)
            try:
                server = await bind(proxy, binding, loop)
            except OSError as exc:
                log.error("port %s: cannot listen on %s: %s", binding.key, self.host, exc)
                proxy.close()
                continue
            self.bound[key] = (proxy, server, binding)
            log.info("listening on %s", describe([binding], [server])[0])

    async def run(self, stop: asyncio.Event) -> None:
        """Run the source and the listeners until ``stop`` is set, then drain and close."""
        task = asyncio.create_task(self.source.run(), name="kube-source")
        try:
            while not stop.is_set() and not task.done():
                waits = [asyncio.create_task(e.wait()) for e in (stop, self._changed)]
                await asyncio.wait(waits + [task], return_when=asyncio.FIRST_COMPLETED)
                for w in waits:
                    w.cancel()
                if self._changed.is_set():
                    self._changed.clear()
                    await self.sync()
            if task.done():
                task.result()  # what stopped the source
        finally:
            await asyncio.gather(*(drain(p, s) for p, s, _ in self.bound.values()))
            self.bound.clear()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class KubeCollector:
    """Prometheus metrics of the source, read at scrape time: watch state, sync, status writes."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        src = self.source
        stats = src.stats
        connected = GaugeMetricFamily("routecore_kube_watch_connected",
                                      "1 while the watch stream of a kind is open",
                                      labels=("kind", "namespace"))
        relists = CounterMetricFamily("routecore_kube_relists",
                                      "Lists after the first (410 Gone, or a reconnect that needed one)",
                                      labels=("kind", "namespace"))
        errors = CounterMetricFamily("routecore_kube_watch_errors",
                                     "Failed or cut list/watch requests", labels=("kind", "namespace"))
        for r in src.reflectors:
            labels = (r.info.kind, r.namespace or "")
            connected.add_metric(labels, 1 if (r.connected or r.absent) else 0)
            relists.add_metric(labels, r.relists)
            errors.add_metric(labels, r.errors)
        served = GaugeMetricFamily("routecore_kube_kind_served", "1 when the API server serves the "
                                   "kind at a version routecore reads (label version), 0 when at none",
                                   labels=("kind", "version"))
        for r in {r.spec.kind: r for r in src.reflectors}.values():
            served.add_metric((r.spec.kind, "" if r.absent else r.info.version), 0 if r.absent else 1)
        yield served
        yield connected
        yield relists
        yield errors
        yield GaugeMetricFamily("routecore_kube_synced", "1 once every kind was listed and the "
                                "first configuration is live", value=1 if src.ready else 0)
        yield GaugeMetricFamily("routecore_kube_leader", "1 while this replica holds the Lease "
                                "(writes status)", value=1 if src.is_leader() else 0)
        lag = stats.get("sync_lag_seconds")
        yield GaugeMetricFamily("routecore_kube_sync_lag_seconds", "From the oldest event of the "
                                "last applied batch to its configuration serving",
                                value=lag if lag is not None else float("nan"))
        applied = stats.get("last_apply_seconds")
        yield GaugeMetricFamily("routecore_kube_last_apply_seconds", "Time the last configuration "
                                "change took to build and swap in",
                                value=applied if applied is not None else float("nan"))
        for name, key, what in (
                ("routecore_kube_config_applies", "reloads", "Configurations swapped in"),
                ("routecore_kube_config_build_errors", "build_errors", "Changes refused (the "
                 "previous configuration kept serving)"),
                ("routecore_kube_status_writes", "status_writes", "Status subresource writes"),
                ("routecore_kube_status_conflicts", "status_conflicts", "Status writes answered "
                 "409 Conflict (re-read and retried)"),
                ("routecore_kube_status_errors", "status_errors", "Status writes that failed")):
            yield CounterMetricFamily(name, what, value=stats.get(key) or 0)


def install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
