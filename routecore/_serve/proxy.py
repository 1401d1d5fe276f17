"""`routecore serve`: an HTTP/1.1 reverse proxy that applies every routing decision.

The server side is ``server`` (parsing, limits, timeouts), the upstream side ``upstream``
(keep-alive pools), the forwarding between them ``forward``; this module decides, answers what
it can itself, and runs the whole.

Invariants:
- every request is decided by the table current when it arrives (``self.view``, swapped whole on
  reload), so a reload never affects a request in flight;
- the upstream gets exactly the client's header list (order, case, values, duplicates) minus the
  hop-by-hop headers (stripped before the route's filters run), plus the route's changes, plus
  one X-Forwarded-For/-Proto/-Host of ours; the client gets the upstream's headers minus
  hop-by-hop, plus the route's changes; nothing else is added by either side;
- the body keeps its framing (Content-Length or chunked) and reaches the upstream whole or not at
  all: a body that did not arrive whole resets the upstream connection, is never retried and
  never mirrored;
- a body is buffered only to be replayed (retries, mirrors), up to ``max_buffered_body`` bytes;
  past that it streams with no retry and no mirror;
- each request gives exactly one Exchange to the observers (the access log is one of them).
"""
from __future__ import annotations

import asyncio
import faulthandler
import ipaddress
import logging
import os
import signal
import time
from typing import Awaitable, Callable, Dict, Optional, Sequence
from urllib.parse import urlsplit

from .._config.load import load
from .server import ClientConnection, Exchange, Request, Settings
from .._respond import REASONS, reply, to_bytes
from .ops import AccessLog, flush_logs, log_reload, startup_line, upstream_warnings
from .._router import Router
from .._version import __version__
from .frontend import bind, describe, describe_port
from .tls import backend_tls
from .forward import Forwarding, head_block
from .upstream import Pool

__all__ = ["Exchange", "Proxy", "Settings", "serve"]

log = logging.getLogger("routecore.serve")

_GRPC = b"application/grpc"


log_access = AccessLog()  # the default observer: one text line per request on routecore.access


class _Trust:
    """Which peers' X-Forwarded-* headers are believed (``--trusted-proxies``)."""

    def __init__(self, cidrs):
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
        self._cache: Dict[str, bool] = {}

    def __call__(self, address: str) -> bool:
        hit = self._cache.get(address)
        if hit is None:
            try:
                ip = ipaddress.ip_address(address.strip().strip("[]"))
                hit = any(ip in net for net in self.networks)
            except ValueError:
                hit = False
            if len(self._cache) < 65536:
                self._cache[address] = hit
        return hit


class Proxy(Forwarding):
    """Routes each request with ``select(router)`` and forwards it to its upstream.

    ``upstreams`` maps "namespace/name:port" of a backend (or mirror) to ``http://host:port[/base]``
    (``tcp://host:port`` or ``udp://host:port`` for TCP, TLS and UDP routes' backends);
    ``default_upstream(key)``, when given, is the URL of a backend ``upstreams`` does not name
    (its pool is made on first use: routecore.kube's cluster DNS names); ``fixed_upstream``
    (benchmarks only) sends every request there without routing.

    ``selects``: the views served, by key (a Gateway port), each ``select(router) -> view``;
    without it, ``select`` alone under the key None. ``self.view`` is the first one.
    ``prepare(router)``, when given, is called on each reload candidate before it is swapped in:
    it raises to refuse it (ValueError, ConfigError) or returns a function that commits what it
    prepared (the listeners' certificates) with the swap."""

    def __init__(self, router, select: Callable, upstreams: Dict[str, str],
                 settings: Optional[Settings] = None, *,
                 observers: Sequence[Callable] = (log_access,),
                 on_reload: Optional[Callable[[bool, int, Optional[str]], None]] = None,
                 fixed_upstream: Optional[str] = None,
                 selects: Optional[Dict[object, Callable]] = None,
                 prepare: Optional[Callable] = None,
                 default_upstream: Optional[Callable[[str], str]] = None):
        self.router = router
        self.default_upstream = default_upstream
        self.select = select
        self.selects = {None: select} if selects is None else dict(selects)
        self.views = {key: sel(router) for key, sel in self.selects.items()}
        self.view = next(iter(self.views.values()))
        self.prepare = prepare
        self.generation = router.generation
        self.upstream_urls = dict(upstreams)
        self.settings = settings or Settings()
        self.observers = tuple(observers)
        self.on_reload = on_reload
        self.fixed_url = fixed_upstream
        self.trusted = _Trust(self.settings.trusted_proxies)
        self.connections = set()
        self.streams = set()      # TCP/TLS splices (stream.StreamConnection)
        self._tls_cache: Dict[object, object] = {}
        self.loop = None
        self.pools: Dict[str, Pool] = {}
        self.fixed = None
        self._mirror_tasks = set()
        self._broken_observers = set()

    def start(self, loop) -> None:
        """Bind to ``loop``: build the upstream pools."""
        self.loop = loop
        timeout = self.settings.connect_timeout
        self.pools = {key: Pool(url, loop, timeout) for key, url in self.upstream_urls.items()
                      if url.startswith("http://")}
        if self.fixed_url:
            self.fixed = Pool(self.fixed_url, loop, timeout)

    def pool(self, key: str) -> Optional[Pool]:
        """The pool of the backend "ns/name:port" (None: no upstream for it)."""
        pool = self.pools.get(key)
        if pool is None and self.default_upstream is not None and self.loop is not None:
            pool = self.pools[key] = Pool(self.default_upstream(key), self.loop,
                                          self.settings.connect_timeout)
        return pool

    def follow(self, router) -> None:
        """Serve ``router`` (a Router that changed in place, or another): the view is selected
        again (LookupError: the served parent is gone, and the current views keep serving)."""
        views = {key: sel(router) for key, sel in self.selects.items()}
        self.router, self.views, self.generation = router, views, router.generation
        self.view = next(iter(views.values()))
        self._tls_cache = {}

    def protocol(self) -> ClientConnection:
        return ClientConnection(self)

    def view_of(self, key):
        """The view currently serving ``key`` (a Gateway port)."""
        return self.views[key]

    def address(self, backend: Optional[str]):
        """(host, port) of the upstream of a backend ("ns/name:port"), or None."""
        url = self.upstream_urls.get(backend) if backend is not None else None
        if url is None and backend is not None and self.default_upstream is not None:
            url = self.default_upstream(backend)
        if url is None:
            return None
        parts = urlsplit(url)
        try:
            return parts.hostname, parts.port or 80
        except ValueError:
            return None

    def backend_tls(self, decision):
        """The ``tls.BackendTLS`` for a decision's BackendTLSPolicy (built once per policy and
        configuration generation), or None when the backend has no policy."""
        policy = decision.backend_tls
        return None if policy is None else self._backend_tls(policy)

    def _backend_tls(self, policy):
        got = self._tls_cache.get(policy)
        if got is None:
            maps = {(c.namespace, c.name): c for c in self.router.config.config_maps}
            got = self._tls_cache[policy] = backend_tls(policy, maps)
        return got

    def close(self) -> None:
        for task in list(self._mirror_tasks):
            task.cancel()
        for pool in self.pools.values():
            pool.close()

    # --- reload --------------------------------------------------------------------------------

    def reload(self, source) -> None:
        """Load and compile ``source``; swap it in only when it is valid and still has the served
        Gateway (or Service). Raises ConfigError/LookupError otherwise (the old one keeps serving)."""
        config = load(source, strict=self.router.config.strict)
        old = self.router
        new = Router.with_options(config, old.options)
        # LookupError: the served Gateway (port) or Service is gone
        views = {key: sel(new) for key, sel in self.selects.items()}
        commit = self.prepare(new) if self.prepare is not None else None
        new.generation = self.generation + 1
        if commit is not None:
            commit()
        self.router, self.views, self.generation = new, views, new.generation
        self.view = next(iter(views.values()))
        self._tls_cache = {}

    def warn_upstreams(self) -> None:
        """Log each mismatch between ``--upstream`` keys and the backends the view sends to."""
        if self.fixed_url is None:
            selects = list(self.selects.values())
            views = lambda router: [sel(router) for sel in selects]  # noqa: E731
            for warning in upstream_warnings(self.router, views, self.upstream_urls):
                log.warning("%s", warning)

    # --- observers -----------------------------------------------------------------------------

    def finish(self, ex: Exchange, req: Request) -> None:
        ex.bytes_received = req.received
        ex.duration = time.perf_counter() - req.started
        self.finish_connection(ex)

    def finish_connection(self, ex) -> None:
        """Give a finished Exchange, or a stream.Connection record, to the observers."""
        for observer in self.observers:
            try:
                observer(ex)
            except Exception:
                if observer not in self._broken_observers:  # logged once per observer
                    self._broken_observers.add(observer)
                    log.exception("access observer %r failed", observer)

    # --- one request ---------------------------------------------------------------------------

    async def handle(self, conn: ClientConnection, req: Request) -> bool:
        """Answer ``req``; True when the connection may carry another request."""
        ex = conn.exchange(req)
        try:
            return await self._handle(conn, req, ex)
        finally:
            self.finish(ex, req)

    async def _handle(self, conn, req, ex) -> bool:
        headers, names = req.headers, req.names
        hosts = names.count(b"host")
        if hosts > 1 or (req.version == "1.1" and (
                not hosts or not headers[names.index(b"host")][1].strip())):
            return self._error(conn, req, ex, 400, "bad request: missing, empty or repeated Host")
        if req.failed:  # a pipelined request whose body already failed
            return self._client_failed(conn, req, ex)
        trusted = self.trusted(conn.peer) if self.trusted.networks else False
        scheme = "https" if conn.tls else "http"
        if trusted:
            ex.client = self._client_address(conn.peer, headers)
            for n, v in headers:
                if n.lower() == b"x-forwarded-proto" and v.strip().lower() in (b"http", b"https"):
                    scheme = v.strip().lower().decode()
        target = ex.target
        if self.fixed is not None:
            return await self._forward(conn, req, ex, None, self.fixed, trusted,
                                       req.target, scheme)
        decision = self.views[conn.key].route(req.method, target, headers, scheme=scheme,
                                              sni=conn.sni)
        ex.route, ex.rule = decision.route, decision.rule
        backend = decision.backend
        if backend is not None:
            ex.backend = str(backend)
        if decision.status is not None:
            return self._answer(conn, req, ex, decision.status, decision)
        pool = self.pool(ex.backend)
        if pool is None:
            return self._answer(conn, req, ex, 502, decision, f"no upstream for {backend}")
        tls = self.backend_tls(decision)
        if tls is not None and tls.error is not None:
            log.warning("backend %s: BackendTLSPolicy %s cannot be honoured (%s): request refused",
                        backend, tls.policy.policy, tls.error)
            return self._answer(conn, req, ex, 502, decision, f"upstream tls: {tls.error}")
        return await self._forward(conn, req, ex, decision, pool, trusted,
                                   pool.base + to_bytes(decision.upstream_path), scheme, tls)

    def _client_address(self, peer: str, headers) -> str:
        """The right-most address of the X-Forwarded-For chain (the peer last) that is not a
        trusted proxy; the left-most when all are."""
        chain = [a.strip().decode("latin-1") for n, v in headers
                 if n.lower() == b"x-forwarded-for" for a in v.split(b",") if a.strip()]
        chain.append(peer)
        for address in reversed(chain):
            if not self.trusted(address):
                return address
        return chain[0]

    # --- local answers -------------------------------------------------------------------------

    def _answer(self, conn, req, ex, status, decision, message=None) -> bool:
        """An answer of the proxy's own: 404/421/500/502, redirects, CORS preflights (gRPC
        clients: HTTP 200 with grpc-status, trailers-only)."""
        grpc = decision.grpc_status is not None or any(
            n.lower() == b"content-type" and v.startswith(_GRPC) for n, v in req.headers)
        code, headers, body, trailers = reply(status, decision, grpc, message)
        location = decision.location if decision.status == status else None
        if location is not None and location.split("://", 1)[-1].startswith("/"):
            return self._error(conn, req, ex, 400, "bad request: no Host to redirect to")
        if trailers is not None:
            headers = headers + trailers
        keep = req.keep_alive and req.complete
        out = [(to_bytes(n), to_bytes(v)) for n, v in headers]
        if not any(n.lower() == b"content-length" for n, _ in out):  # (gRPC trailers-only)
            out.append((b"content-length", b"%d" % len(body)))
        if not keep and req.version == "1.1":
            out.append((b"connection", b"close"))
        first = f"HTTP/1.1 {code} {REASONS.get(code, 'Unknown')}\r\n".encode("latin-1")
        head = head_block(first, out)
        if req.method == "HEAD":
            conn.write(head)
        else:
            conn.writelines((head, body))
            ex.bytes_sent = len(body)
        ex.status = code
        if message is not None:
            ex.error = message
        return keep

    def _error(self, conn, req, ex, status, error) -> bool:
        text = error.split(": ", 1)[-1]
        conn.write_simple(status, f"{text}\n", close=req.version == "1.1")
        ex.status, ex.error = status, error
        ex.bytes_sent = len(text) + 1
        return False

    def _client_failed(self, conn, req, ex) -> bool:
        """The request body did not arrive whole: 400 (bad framing) or 408 (body timeout) if the
        client is still there and nothing was sent, and the connection closes."""
        reason = req.failed
        ex.error = reason
        if conn.lost:
            return False
        status = 400 if reason.startswith("bad request") else 408
        conn.write_simple(status, f"{reason}\n", close=True)
        ex.status = status
        return False

# --- watching the configuration ------------------------------------------------------------------

def _mtimes(path: str) -> tuple:
    if os.path.isdir(path):
        out = []
        for root, _, files in os.walk(path):
            for f in sorted(files):
                if f.endswith((".yaml", ".yml", ".json")):
                    p = os.path.join(root, f)
                    try:
                        out.append((p, os.stat(p).st_mtime_ns))
                    except OSError:
                        pass
        return tuple(sorted(out))
    try:
        return ((path, os.stat(path).st_mtime_ns),)
    except OSError:
        return ()


async def watch(proxy: Proxy, path: str, interval: float = 0.5) -> None:
    """Reload ``proxy`` from ``path`` whenever its files change (once they stop changing). The
    new configuration is compiled in a thread and swapped in only when valid and still serving
    the selected Gateway/Service; a refused one is logged and the current one keeps serving."""
    loop = asyncio.get_running_loop()
    seen = _mtimes(path)
    while True:
        await asyncio.sleep(interval)
        now = _mtimes(path)
        if now == seen:
            continue
        while True:  # a writer may be half-way through
            await asyncio.sleep(interval / 2)
            settled = _mtimes(path)
            if settled == now:
                break
            now = settled
        seen = now
        error = None
        try:
            await loop.run_in_executor(None, proxy.reload, path)
        except (ValueError, LookupError) as exc:  # invalid (ConfigError, TLS), or the served parent is gone
            error = str(exc)
        except Exception as exc:  # unreadable files mid-write, etc.
            error = repr(exc)
        log_reload(error is None, proxy.generation, error, log)
        if error is None:
            proxy.warn_upstreams()
        if proxy.on_reload is not None:
            try:
                proxy.on_reload(error is None, proxy.generation, error)
            except Exception:
                log.exception("on_reload failed")


# --- running -------------------------------------------------------------------------------------

def new_loop():
    """A uvloop loop when uvloop is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def run(proxy: Proxy, host: str, port: int, *, watch_path: Optional[str] = None,
              on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
              stop: Optional[asyncio.Event] = None, ready: Optional[Callable] = None,
              bindings: Optional[Sequence] = None) -> None:
    """Serve until ``stop`` is set (or SIGTERM/SIGINT), then close gracefully. Without
    ``bindings`` (``frontend.Binding``s, one per listener port), HTTP on ``host``:``port``."""
    loop = asyncio.get_running_loop()
    proxy.start(loop)
    stop = stop or asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    for hook in on_startup:
        await hook()
    servers = []
    try:
        if bindings is None:
            servers.append(await loop.create_server(proxy.protocol, host, port, backlog=1024,
                                                    reuse_address=True))
        for b in bindings or ():
            servers.append(await bind(proxy, b, loop))
            if b.port == 0:  # "any free port": the one we got
                b.port = describe_port(servers[-1])
    except BaseException:
        for server in servers:
            server.close()
        proxy.close()
        raise
    if bindings:
        log.info("listening: %s", " ".join(describe(bindings, servers)))
    watcher = loop.create_task(watch(proxy, watch_path)) if watch_path else None
    if ready is not None:
        ready(servers[0])
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await drain(proxy, *servers)


async def drain(proxy: Proxy, *servers, grace: float = 10.0) -> None:
    """Stop listening, end the TCP/TLS splices, close idle connections, let requests in flight
    finish (up to ``grace`` seconds), then close the rest and the upstream pools."""
    loop = asyncio.get_running_loop()
    for server in servers:
        server.close()
    for splice in list(proxy.streams):
        splice.shutdown()
    await asyncio.sleep(0)  # let the cancelled upstream connects unwind
    for conn in list(proxy.connections):  # idle keep-alive connections go now
        if conn.active is None:
            conn.close()
    end = loop.time() + grace
    while any(c.active is not None for c in proxy.connections) and loop.time() < end:
        await asyncio.sleep(0.05)
    for conn in list(proxy.connections):
        conn.close()
    proxy.close()


def serve(router, select: Callable, upstreams: Dict[str, str], host: str, port: int, *,
          watch_path: Optional[str] = None, settings: Optional[Settings] = None,
          observers: Sequence[Callable[[Exchange], None]] = (log_access,),
          on_reload: Optional[Callable[[bool, int, Optional[str]], None]] = None,
          on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
          fixed_upstream: Optional[str] = None, source: str = "-",
          ready: Optional[Callable] = None, gateway=None) -> None:
    """Run the proxy until SIGTERM/SIGINT; ``ready(server)`` is called once it listens.
    ``gateway``: a ``frontend.Gateway`` whose listener ports are served (``select``, ``host``
    and ``port`` are then unused)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <pid>` prints every thread's stack to stderr
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    bindings = listeners = None
    if gateway is not None:
        bindings = gateway.bindings
        listeners = [f"{b.host}:{b.port}" if b.plan.channel == "http" else
                     f"{b.plan.channel}://{b.host}:{b.port}" for b in bindings]
    proxy = Proxy(router, select, upstreams, settings, observers=observers, on_reload=on_reload,
                  fixed_upstream=fixed_upstream,
                  selects=gateway.selects if gateway is not None else None,
                  prepare=gateway.prepare if gateway is not None else None)
    log.info("%s", startup_line(version=__version__, native=router.native,
                                listeners=listeners or [f"{host}:{port}"], upstreams=upstreams,
                                generation=proxy.generation, source=source))
    for warning in gateway.warnings if gateway is not None else ():
        log.warning("%s", warning)
    proxy.warn_upstreams()
    loop = new_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(run(proxy, host, port, watch_path=watch_path,
                                    on_startup=on_startup, ready=ready, bindings=bindings))
    finally:
        flush_logs()  # the access lines of the loop's last iteration
        loop.close()
