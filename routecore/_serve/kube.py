"""`routecore serve --kubernetes`: the proxy fed by routecore.kube, one listening socket per
port of a Gateway's listeners (or one sidecar port for a mesh Service).

Invariants:
- One asyncio loop runs the KubeSource (reflectors, apply loop, status writer, Lease) and every
  proxy; a change the source applies reaches every proxy in ``on_change`` (``Proxy.follow``, a
  view lookup: ``Router.update`` built the views in use before the swap), so each request is
  decided by the configuration current when it arrives and no request waits for a build.
- The ports bound are those of the Gateway's listeners whose protocol has a starter in
  ``STARTERS`` (HTTP here; TLS, TCP and UDP serving plug in there by protocol). After every
  applied change the bound ports are made equal to the Gateway's: new ports are bound, ports no
  listener has any more are drained and closed. A port that cannot be bound is logged and tried
  again at the next change; the process is not ready meanwhile.
- /readyz answers 200 only once the first complete sync is live and every wanted port listens.
- A backend without an ``--upstream`` goes to ``http://NAME.NAMESPACE.svc.cluster.local:PORT``.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Callable, Dict, Optional, Tuple

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .proxy import Proxy, drain

log = logging.getLogger("routecore.serve")


def cluster_upstream(key: str) -> str:
    """The in-cluster URL of the backend "namespace/name:port"."""
    parent, _, port = key.rpartition(":")
    namespace, _, name = parent.partition("/")
    return f"http://{name}.{namespace}.svc.cluster.local:{port}"


async def _start_http(proxy: Proxy, host: str, port: int):
    loop = asyncio.get_running_loop()
    proxy.start(loop)
    return await loop.create_server(proxy.protocol, host, port, backlog=1024, reuse_address=True)


# listener protocol -> coroutine (proxy, host, port) -> a server with close(): what binds a port
STARTERS: Dict[str, Callable] = {"HTTP": _start_http}


class KubeServer:
    """Serves the Gateway ``gateway`` = (ns, name) on every listener port, or the mesh Service
    ``service`` = (ns, name, port, client namespace) on ``listen_port``, from ``source``."""

    def __init__(self, source, *, host: str, make_proxy: Callable[[Callable], Proxy],
                 gateway: Optional[Tuple[str, str]] = None, service: Optional[tuple] = None,
                 listen_port: Optional[int] = None, on_change: Optional[Callable] = None):
        self.source = source
        self.host = host
        self.make_proxy = make_proxy
        self.gateway, self.service, self.listen_port = gateway, service, listen_port
        self.bound: Dict[int, Tuple[Proxy, object]] = {}
        self.wanted: Dict[int, str] = {}
        self._changed = asyncio.Event()
        self._user_on_change = on_change
        source.on_change = self._on_change

    # --- what to serve ---------------------------------------------------------------------------

    def select(self, port: int) -> Callable:
        if self.gateway is not None:
            ns, name = self.gateway
            return lambda r: r.gateway(name, namespace=ns, port=port)
        ns, name, svc_port, client = self.service
        return lambda r: r.service(name, namespace=ns, port=svc_port, client_namespace=client)

    def wanted_ports(self) -> Dict[int, str]:
        """port -> protocol of what should listen now."""
        router = self.source.router
        if router is None:
            return {}
        if self.gateway is None:
            return {self.listen_port: "HTTP"}
        gw = router.attachments.gateway(*self.gateway)
        out: Dict[int, str] = {}
        for lis in () if gw is None else gw.listeners:
            if lis.protocol in STARTERS:
                out.setdefault(lis.port, lis.protocol)
        return out

    def ready(self) -> bool:
        return self.source.ready and bool(self.wanted) and set(self.wanted) <= set(self.bound)

    # --- following changes -----------------------------------------------------------------------

    def _on_change(self, router, keys) -> None:
        for proxy, _ in self.bound.values():
            try:
                proxy.follow(router)
            except LookupError:
                pass  # the listener is gone: the port closes in sync()
        self._changed.set()
        if self._user_on_change is not None:
            self._user_on_change(router, keys)

    async def sync(self) -> None:
        """Bind the ports wanted and not bound; drain and close those bound and not wanted."""
        self.wanted = wanted = self.wanted_ports()
        for port in [p for p in self.bound if p not in wanted]:
            proxy, server = self.bound.pop(port)
            log.info("port %s: no listener any more, closing", port)
            await drain(proxy, server)
        for port, protocol in wanted.items():
            if port in self.bound:
                continue
            try:
                proxy = self.make_proxy(self.select(port))
            except LookupError as exc:
                log.warning("port %s: %s", port, exc)
                continue
            try:
                server = await STARTERS[protocol](proxy, self.host, port)
            except OSError as exc:
                log.error("port %s: cannot listen on %s: %s", port, self.host, exc)
                continue
            self.bound[port] = (proxy, server)
            log.info("listening on %s:%s (%s)", self.host, port, protocol)

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
            await asyncio.gather(*(drain(p, s) for p, s in self.bound.values()))
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
