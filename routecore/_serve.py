"""`routecore serve`: a reverse proxy on uvicorn and httpx that applies every routing decision.

Invariants:
- every request is decided by the table current when it arrives (``router.gateway(...)`` or
  ``router.service(...)`` per request), so ``Router.reload`` never affects a request in flight;
- a request body is streamed to the upstream unless it must be replayed (retries, mirrors), then
  it is buffered up to ``max_buffered_body`` bytes (beyond that: no retry, no mirror);
- mirrors are fire-and-forget tasks: their outcome never delays or changes the response.
"""
from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import random
import signal
import threading
import time
from typing import Callable, Dict, Optional

from ._errors import ConfigError
from ._respond import encode_headers
from .asgi import _answer_http

access_log = logging.getLogger("routecore.access")
log = logging.getLogger("routecore.serve")

# RFC 9110 section 7.6.1, plus the proxy-only ones: never forwarded in either direction
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"})


def _strip_hop_by_hop(pairs):
    listed = set()
    for name, value in pairs:
        if name.lower() == "connection":
            listed.update(v.strip().lower() for v in value.split(","))
    drop = HOP_BY_HOP | listed
    return [(n, v) for n, v in pairs if n.lower() not in drop]


class Proxy:
    """An ASGI app: routes each request with routecore and forwards it to its upstream.

    ``select(router)`` returns the view for a request (e.g. ``lambda r: r.gateway("gw")``);
    ``upstreams`` maps "namespace/name:port" of a backend (or mirror) to a base URL.
    """

    def __init__(self, router, select: Callable, upstreams: Dict[str, str], *,
                 max_buffered_body: int = 1 << 20, connect_timeout: float = 5.0):
        self.router = router
        self.select = select
        self.upstreams = {k: v.rstrip("/") for k, v in upstreams.items()}
        self.max_buffered_body = max_buffered_body
        self.connect_timeout = connect_timeout
        self.client = None
        self._mirror_tasks = set()

    async def _client(self):
        if self.client is None:
            import httpx

            self.client = httpx.AsyncClient(
                timeout=httpx.Timeout(None, connect=self.connect_timeout),
                limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
                follow_redirects=False)
        return self.client

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets are routed by the middleware, not proxied here
            await send({"type": "websocket.close", "code": 1003})
            return
        started = time.perf_counter()
        decision = self.select(self.router).route_asgi(scope)
        status = await self._handle(scope, receive, send, decision)
        backend = decision.backend
        access_log.info('%s "%s %s" %s route=%s rule=%s backend=%s %.1fms',
                        (scope.get("client") or ("-",))[0], scope["method"],
                        scope.get("raw_path", b"").decode("latin-1") or scope.get("path"),
                        status, decision.route or "-", "-" if decision.rule is None else decision.rule,
                        backend if backend is not None else "-",
                        (time.perf_counter() - started) * 1000)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._client()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in list(self._mirror_tasks):
                    task.cancel()
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope, receive, send, d) -> int:
        async def answer(status, message=None, decision=None):
            # the same local answers as the ASGI middleware (gRPC clients get grpc-status)
            await _answer_http(scope, send, decision, status, message)
            return status

        if d.status is not None:
            return await answer(d.status, decision=d)
        base = self.upstreams.get(str(d.backend))
        if base is None:
            return await answer(502, f"no upstream for {d.backend}")
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]]
        has_body = any(n.lower() in ("content-length", "transfer-encoding") and v not in ("", "0")
                       for n, v in headers)
        original_host = next((v for n, v in headers if n.lower() == "host"), None)
        headers = _strip_hop_by_hop(d.apply_request_headers(headers))
        headers = [(n, v) for n, v in headers if n.lower() not in ("host", "content-length")]
        if d.upstream_host:
            headers.append(("host", d.upstream_host))
        client = scope.get("client")
        if client:
            prior = next((v for n, v in headers if n.lower() == "x-forwarded-for"), None)
            headers = [(n, v) for n, v in headers if n.lower() != "x-forwarded-for"]
            headers.append(("x-forwarded-for", f"{prior}, {client[0]}" if prior else client[0]))
        headers.append(("x-forwarded-proto", scope.get("scheme", "http")))
        if original_host:
            headers.append(("x-forwarded-host", original_host))

        timeouts = d.timeouts
        total = timeouts.request if timeouts is not None and timeouts.request else None
        per_try = timeouts.backend_request if timeouts is not None and timeouts.backend_request else None
        deadline = None if total is None else time.monotonic() + total
        retry = d.retry
        replay = bool(d.mirrors) or (retry is not None and retry.attempts)
        body = await self._read_body(receive) if replay or not has_body else None
        if body is not None and len(body) > self.max_buffered_body:
            retry = None  # too large to replay: one attempt, no mirrors
        elif body is not None:
            self._mirror(d, scope["method"], headers, body)
        tries = 1 + (retry.attempts if retry is not None and retry.attempts else 0)
        url = base + d.upstream_path
        http = await self._client()
        response = None
        for attempt in range(tries):
            content = body if body is not None else self._stream_body(receive)
            request = http.build_request(scope["method"], url, headers=headers, content=content)
            limit = per_try
            if deadline is not None:
                left = deadline - time.monotonic()
                limit = left if limit is None else min(limit, left)
                if limit <= 0:
                    return await answer(504, "upstream request timeout")
            try:
                response = await asyncio.wait_for(http.send(request, stream=True), limit)
            except asyncio.TimeoutError:
                if attempt + 1 < tries and (deadline is None or time.monotonic() < deadline):
                    continue
                return await answer(504, "upstream request timeout")
            except Exception as exc:  # connection refused, reset...: a gateway error
                log.warning("upstream %s failed: %r", url, exc)
                if attempt + 1 < tries:
                    continue
                return await answer(502, "upstream connection failed")
            if retry is not None and response.status_code in retry.codes and attempt + 1 < tries:
                await response.aclose()
                if retry.backoff:
                    await asyncio.sleep(retry.backoff)
                continue
            break
        try:
            out = _strip_hop_by_hop([(k.decode("latin-1"), v.decode("latin-1"))
                                     for k, v in response.headers.raw])
            out = encode_headers(d.apply_response_headers(out))
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": out})
            chunks = response.aiter_raw()
            while True:
                wait = None if deadline is None else max(deadline - time.monotonic(), 0.001)
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), wait)
                except StopAsyncIteration:
                    break
                except asyncio.TimeoutError:  # headers are sent: all we can do is cut it short
                    log.warning("request timeout while streaming %s", url)
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()
        return response.status_code

    @staticmethod
    async def _read_body(receive) -> bytes:
        parts = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        return b"".join(parts)

    @staticmethod
    async def _stream_body(receive):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body"):
                return

    def _mirror(self, d, method, headers, body):
        for m in d.mirrors:
            base = self.upstreams.get(str(m.backend))
            if base is None or random.random() * 100.0 >= m.percent:
                continue
            task = asyncio.ensure_future(self._send_mirror(method, base + d.upstream_path,
                                                           headers, body))
            self._mirror_tasks.add(task)
            task.add_done_callback(self._mirror_tasks.discard)

    async def _send_mirror(self, method, url, headers, body):
        try:
            http = await self._client()
            response = await http.request(method, url, headers=headers, content=body)
            await response.aclose()
        except Exception as exc:  # a mirror's failure is only logged
            log.info("mirror %s failed: %r", url, exc)


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


def watch(router, path: str, interval: float = 0.5, stop: Optional[threading.Event] = None):
    """Reload ``router`` from ``path`` whenever its files change, in a daemon thread; an invalid
    configuration is refused with its problems logged, and the current one keeps serving."""
    stop = stop or threading.Event()

    def loop():
        seen = _mtimes(path)
        while not stop.wait(interval):
            now = _mtimes(path)
            if now == seen:
                continue
            # wait until the files stop changing (a writer may be half-way through)
            while not stop.wait(interval / 2):
                settled = _mtimes(path)
                if settled == now:
                    break
                now = settled
            seen = now
            try:
                router.reload(path)
                log.warning("configuration reloaded from %s (generation %d)", path, router.generation)
            except ConfigError as exc:
                log.error("configuration refused, still serving generation %d:\n%s",
                          router.generation, exc)
            except Exception as exc:  # unreadable files mid-write, etc.
                log.error("configuration reload failed, still serving generation %d: %r",
                          router.generation, exc)

    thread = threading.Thread(target=loop, name="routecore-watch", daemon=True)
    thread.start()
    return stop


def serve(router, select: Callable, upstreams: Dict[str, str], host: str, port: int,
          *, watch_path: Optional[str] = None) -> None:
    """Run the proxy on uvicorn until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <pid>` prints every thread's stack to stderr
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one access line per request is ours
    stop = watch(router, watch_path) if watch_path else None
    config = uvicorn.Config(Proxy(router, select, upstreams), host=host, port=port,
                            log_level="warning", lifespan="on", access_log=False)
    try:
        uvicorn.Server(config).run()
    finally:
        if stop is not None:
            stop.set()
