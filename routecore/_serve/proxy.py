"""`routecore serve`: an HTTP/1.1 reverse proxy that applies every routing decision.

The server side is ``_proxy_server`` (parsing, limits, timeouts), the upstream side ``_upstream``
(keep-alive pools); this module decides and forwards.

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
import random
import signal
import time
from typing import Awaitable, Callable, Dict, Optional, Sequence
from urllib.parse import urlsplit

from .._config.load import load
from .server import ClientConnection, Exchange, Request, Settings
from .._respond import REASONS, reply, to_bytes
from .ops import AccessLog, log_reload, startup_line, upstream_warnings
from .._router import Router
from .._version import __version__
from .frontend import bind, describe, describe_port
from .tls import backend_tls
from .upstream import Pool, UpstreamError, reset

__all__ = ["Exchange", "Proxy", "Settings", "serve"]

log = logging.getLogger("routecore.serve")

# RFC 9110 section 7.6.1 (and Proxy-Connection): never forwarded in either direction.
# Transfer-Encoding is hop-by-hop too, but we forward the body with the framing it came with,
# so it is re-stated as received (as is Content-Length).
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
                        b"upgrade"})
FRAMING = frozenset({b"content-length", b"transfer-encoding"})
# a client's Connection header cannot nominate these (removing them would change the framing or
# the routing of what the upstream sees)
UNNOMINABLE = FRAMING | {b"host"}
FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
                       b"forwarded"})
_GRPC = b"application/grpc"


def _connection_tokens(headers) -> set:
    tokens = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    return tokens


def _strip_hop_by_hop(headers, keep_chunked=True) -> list:
    """``headers`` (bytes pairs) without hop-by-hop headers and those ``Connection`` lists."""
    drop = HOP_BY_HOP | (_connection_tokens(headers) - UNNOMINABLE)
    if not keep_chunked:
        drop = drop | {b"transfer-encoding"}
    return [(n, v) for n, v in headers if n.lower() not in drop]


def _apply(apply, headers) -> list:
    """A route's header filters applied to bytes pairs; the framing headers stay as they were."""
    before = [p for p in headers if p[0].lower() in FRAMING]
    out = [(to_bytes(n), to_bytes(v)) for n, v in apply(headers)]
    if [p for p in out if p[0].lower() in FRAMING] != before:
        out = [p for p in out if p[0].lower() not in FRAMING] + before
    return out


def _head(first: bytes, headers) -> bytes:
    parts = [first]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


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


class Proxy:
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
        headers = req.headers
        hosts = [v for n, v in headers if n.lower() == b"host"]
        if len(hosts) > 1 or (req.version == "1.1" and (not hosts or not hosts[0].strip())):
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
        head = _head(first, out)
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

    # --- forwarding ----------------------------------------------------------------------------

    def _upstream_headers(self, conn, req, decision, trusted, pool) -> list:
        """The header list that goes upstream (see the module's invariants)."""
        headers = req.headers
        drop = HOP_BY_HOP | (_connection_tokens(headers) - UNNOMINABLE)
        xff, xfp, xfh, host = [], None, None, None
        out = []
        for pair in headers:
            low = pair[0].lower()
            if low in drop:
                continue
            if low in FORWARDED:
                if trusted:
                    if low == b"x-forwarded-for":
                        xff.append(pair[1])
                    elif low == b"x-forwarded-proto":
                        xfp = pair[1]
                    elif low == b"x-forwarded-host":
                        xfh = pair[1]
                    else:
                        out.append(pair)  # Forwarded from a trusted proxy is kept as it is
                continue
            if low == b"expect" and pair[1].lower() == b"100-continue":
                continue  # answered by the proxy (see README)
            if low == b"host":
                host = pair[1]
            out.append(pair)
        if decision is not None:
            if decision.changes.request_headers:
                out = _apply(decision.apply_request_headers, out)
            upstream_host = decision.upstream_host
            if upstream_host is not None:
                value = to_bytes(upstream_host)
                if value != host:
                    for i, pair in enumerate(out):
                        if pair[0].lower() == b"host":
                            out[i] = (pair[0], value)
                            break
                    else:
                        out.append((b"host", value))
        if host is None and not any(n.lower() == b"host" for n, _ in out):
            out.append((b"host", pool.authority))  # an HTTP/1.0 client sent none
        peer = to_bytes(conn.peer)
        out.append((b"x-forwarded-for", b", ".join(xff) + b", " + peer if xff else peer))
        out.append((b"x-forwarded-proto", xfp if xfp is not None else
                    b"https" if conn.tls else b"http"))
        if xfh is not None or host is not None:
            out.append((b"x-forwarded-host", xfh if xfh is not None else host))
        return out

    async def _forward(self, conn, req, ex, decision, pool, trusted, path, scheme,
                       tls=None) -> bool:
        loop = self.loop
        settings = self.settings
        headers = self._upstream_headers(conn, req, decision, trusted, pool)
        head = _head(req.method.encode("latin-1") + b" " + path + b" HTTP/1.1\r\n", headers)
        retry = timeouts = None
        mirrors = ()
        if decision is not None:
            retry, timeouts = decision.retry, decision.timeouts
            if decision.mirrors:
                mirrors = [m for m in decision.mirrors
                           if self.pool(str(m.backend)) is not None and random.random() * 100.0 < m.percent]
        attempts = retry.attempts if retry is not None and retry.attempts else 0

        # the body: buffered (complete) when it must be replayed and fits, else streamed
        body = [] if not req.has_body else None
        if req.has_body and (attempts or mirrors):
            cap = settings.max_buffered_body
            if req.length is None or req.length <= cap:
                await req.buffer(cap)
                if req.failed:
                    return self._client_failed(conn, req, ex)
                if req.complete and req.pending_size <= cap:
                    body = req.take()
            if body is None:  # too large to replay: one attempt, no mirror
                attempts, mirrors = 0, ()
        if mirrors:
            upstream_path = to_bytes(decision.upstream_path)
            for m in mirrors:
                self._mirror(self.pool(str(m.backend)), req, headers, body, upstream_path,
                             m.backend)

        total = timeouts.request if timeouts is not None and timeouts.request else None
        per_try = timeouts.backend_request if timeouts is not None and timeouts.backend_request else None
        deadline = None if total is None else loop.time() + total
        head_request = req.method == "HEAD"
        stale_retry = True
        fresh = False
        attempt = 0
        while True:
            try:
                up = await pool.acquire(fresh, tls)
            except UpstreamError as exc:
                if attempt < attempts and body is not None:
                    attempt += 1
                    continue
                ex.error = exc.reason
                return self._bad_gateway(conn, req, ex, 504 if "timeout" in exc.reason else 502)
            sent = loop.time()
            sent_clock = time.perf_counter()
            up.start(head, head_request)
            limit = sent + (per_try or settings.upstream_timeout or float("inf"))
            if deadline is not None and deadline < limit:
                limit = deadline
            up.watch(limit, settings.upstream_timeout or float("inf"), deadline)
            if body is not None:
                self._send_body(up, req, body)
            else:
                self._stream_body(conn, up, req)
            up.on_interim = (lambda status, text, hs: self._interim(conn, req, status, text, hs))
            try:
                response = await up.head
            except UpstreamError as exc:
                if req.failed:
                    return self._client_failed(conn, req, ex)
                if exc.sent_nothing and up.reused and body is not None and stale_retry:
                    stale_retry = False  # the pooled connection was closed by the upstream
                    fresh = True
                    continue
                if attempt < attempts and body is not None and (
                        deadline is None or loop.time() < deadline):
                    attempt += 1
                    continue
                ex.error = exc.reason
                return self._bad_gateway(conn, req, ex, 504 if exc.reason == "upstream timeout" else 502)
            if retry is not None and response.status in retry.codes and attempt < attempts:
                up.transport.close()
                attempt += 1
                if retry.backoff:
                    await asyncio.sleep(retry.backoff)
                continue
            break
        ex.upstream_seconds = time.perf_counter() - sent_clock
        return await self._respond(conn, req, ex, decision, pool, up, response,
                                   body is not None or req.complete)

    def _bad_gateway(self, conn, req, ex, status) -> bool:
        if conn.lost:
            return False
        text = "upstream request timeout" if status == 504 else "upstream connection failed"
        conn.write_simple(status, text + "\n", close=not req.complete)
        ex.status, ex.bytes_sent = status, len(text) + 1
        return req.keep_alive and req.complete

    @staticmethod
    def _send_body(up, req, body) -> None:
        transport = up.transport
        if req.chunked:
            parts = []
            for chunk in body:
                parts += (b"%x\r\n" % len(chunk), chunk, b"\r\n")
            parts.append(b"0\r\n\r\n")
            transport.writelines(parts)
        elif body:
            transport.writelines(body)

    def _stream_body(self, conn, up, req) -> None:
        transport = up.transport
        up.on_pause = lambda: conn.pause("upstream")
        up.on_resume = lambda: conn.resume("upstream")
        if req.chunked:
            def write(data):
                if not transport.is_closing():
                    transport.writelines((b"%x\r\n" % len(data), data, b"\r\n"))

            def end():
                if not transport.is_closing():
                    transport.write(b"0\r\n\r\n")
        else:
            def write(data):
                if not transport.is_closing():
                    transport.write(data)

            def end():
                pass

        def fail(reason):
            log.info("request body did not arrive whole (%s): upstream connection reset", reason)
            up.abort()

        req.stream(write, end, fail)

    def _interim(self, conn, req, status, text, headers) -> None:
        """1xx responses other than 100 (103 Early Hints...) go to HTTP/1.1 clients."""
        if req.version == "1.1":
            conn.write(_head(b"HTTP/1.1 %d %s\r\n" % (status, text), _strip_hop_by_hop(headers)))

    async def _respond(self, conn, req, ex, decision, pool, up, response, request_whole) -> bool:
        status = response.status
        ex.status = status
        client_chunked = req.version == "1.1"
        out = _strip_hop_by_hop(response.headers, keep_chunked=client_chunked)
        if decision is not None and decision.changes.response_headers:
            out = _apply(decision.apply_response_headers, out)
        no_body = req.method == "HEAD" or status in (204, 304)
        chunked = response.chunked and not no_body
        delimited = not no_body and response.length is None and not response.chunked
        keep = (req.keep_alive and req.complete and not delimited
                and not (chunked and not client_chunked))
        if not keep and req.version == "1.1":
            out.append((b"connection", b"close"))
        reason = response.reason or REASONS.get(status, "Unknown").encode()
        # the head and the body bytes that came with it leave in one write
        pending = [_head(b"HTTP/1.1 %d %s\r\n" % (status, reason), out)]
        sent = 0
        chunk_out = chunked and client_chunked

        def sink(data):
            nonlocal sent
            sent += len(data)
            piece = (b"%x\r\n" % len(data), data, b"\r\n") if chunk_out else (data,)
            if pending is not None:
                pending.extend(piece)
            else:
                conn.writelines(piece)

        up.set_sink(sink)
        finished = up.done.done() and up.done.exception() is None
        if finished and chunk_out:
            pending.append(b"0\r\n\r\n")
        conn.writelines(pending)
        pending = None
        conn.on_pause = up.transport.pause_reading
        conn.on_resume = up.transport.resume_reading
        conn.on_lost = up.abort
        try:
            await up.done
        except UpstreamError as exc:
            ex.bytes_sent = sent
            ex.error = "client closed connection" if conn.lost else (
                "client aborted body" if req.failed else exc.reason)
            reset(conn.transport)  # the client must see the response cut short
            return False
        finally:
            conn.on_lost = conn.on_pause = conn.on_resume = None
        ex.bytes_sent = sent
        if chunk_out and not finished:
            conn.write(b"0\r\n\r\n")
        if response.keep_alive and request_whole and not req.failed and not delimited:
            pool.release(up)
        else:
            up.transport.close()
        if req.failed:
            ex.error = req.failed
            return False
        return keep

    # --- mirrors -------------------------------------------------------------------------------

    def _mirror(self, pool, req, headers, body, path, backend) -> None:
        """Send a copy (whole body only) to ``pool``; its outcome never touches the response.
        A mirror backend under a BackendTLSPolicy gets its copy over TLS as verified as the
        primary's, or none when the policy cannot be honoured (never in plaintext)."""
        policy = self.router.attachments.policies.for_backend(backend)
        tls = None
        if policy is not None:
            tls = self._backend_tls(policy)
            if tls.error is not None:
                log.info("mirror to %s dropped: BackendTLSPolicy %s cannot be honoured (%s)",
                         backend, policy.policy or "-", tls.error)
                return
        task = self.loop.create_task(self._send_mirror(pool, req, headers, body, pool.base + path,
                                                       tls))
        self._mirror_tasks.add(task)
        task.add_done_callback(self._mirror_tasks.discard)

    async def _send_mirror(self, pool, req, headers, body, path, tls):
        try:
            up = await pool.acquire(False, tls)
            up.start(_head(req.method.encode("latin-1") + b" " + path + b" HTTP/1.1\r\n", headers),
                     req.method == "HEAD")
            loop = self.loop
            idle = self.settings.upstream_timeout or float("inf")
            up.watch(loop.time() + idle, idle, None)
            self._send_body(up, req, body)
            response = await up.head
            await up.done
            if response.keep_alive:
                pool.release(up)
            else:
                up.transport.close()
        except UpstreamError as exc:
            log.info("mirror to %s failed: %s", pool.url, exc.reason)


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
        loop.close()
