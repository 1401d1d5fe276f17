"""`routecore serve`, client side: an HTTP/1.1 server connection (asyncio.Protocol + httptools).

Invariants:
- requests are parsed by llhttp in strict mode: Content-Length with Transfer-Encoding, duplicate or
  invalid Content-Length, obs-fold, whitespace before the colon, a bad chunk line or size, an
  over-long request-target (414) or header block (431) get an error answer and the connection
  closes; nothing after a bad request on the connection is ever processed;
- pipelined requests are handled one at a time, in order; the body of the request being handled
  reaches its consumer exactly as it arrives, and ``Request.failed`` is set (never ``complete``)
  when it did not arrive whole (client gone, bad framing, body timeout);
- every request that began produces one ``Exchange`` for the observers, whatever happened;
- reading pauses while a consumer cannot keep up (read-ahead is bounded) and the connection has
  at most one timer armed: header read, body read idle, or keep-alive idle.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from typing import Optional, Tuple

import attrs
import httptools

from .tls import sni_of
from .upstream import Relay

log = logging.getLogger("routecore.serve")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_READ_AHEAD = 64 * 1024   # body bytes held for a consumer that has not asked yet
_MAX_PIPELINE = 16        # queued pipelined requests before reading pauses

REASONS = {100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request",
           404: "Not Found", 408: "Request Timeout", 413: "Content Too Large",
           414: "URI Too Long", 421: "Misdirected Request", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout",
           505: "HTTP Version Not Supported"}


@attrs.frozen(kw_only=True)
class Settings:
    """Timeouts (seconds; 0 = none) and limits of the proxy; the CLI flags set them."""

    header_timeout: float = 10.0
    keepalive_timeout: float = 60.0
    body_timeout: float = 60.0
    connect_timeout: float = 5.0
    upstream_timeout: float = 60.0
    max_buffered_body: int = 1 << 20
    max_url: int = 16384
    max_header_bytes: int = 65536
    max_headers: int = 100
    stream_idle_timeout: float = 3600.0   # TCP/TLS splices: nothing moved either way
    udp_idle_timeout: float = 60.0        # a UDP flow: no datagram either way
    max_udp_flows: int = 4096             # live UDP flows per port
    trusted_proxies: Tuple[str, ...] = attrs.field(default=(), converter=tuple)


class Exchange:
    """One request as the observers see it, once its response is finished or it failed."""

    __slots__ = ("time", "client", "method", "target", "version", "host", "status", "route",
                 "rule", "backend", "bytes_received", "bytes_sent", "upstream_seconds",
                 "duration", "error")

    def __init__(self, time_, client, method, target, version, host):
        self.time = time_
        self.client = client
        self.method = method
        self.target = target
        self.version = version
        self.host = host
        self.status = 0
        self.route = None
        self.rule = None
        self.backend = None
        self.bytes_received = 0
        self.bytes_sent = 0
        self.upstream_seconds = None
        self.duration = 0.0
        self.error = None


class _Reject(Exception):
    """A limit was exceeded while parsing: answer ``status`` and close."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status = status
        self.why = why


class Request:
    """A parsed request head and its body as it arrives."""

    __slots__ = ("conn", "method", "target", "version", "headers", "names", "header_bytes",
                 "keep_alive",
                 "has_body", "chunked", "length", "expect_continue", "complete", "failed",
                 "pending", "pending_size", "limit", "sink", "sink_end", "sink_fail", "waiter",
                 "received", "wall", "started", "head_done", "continued")

    def __init__(self, conn):
        self.conn = conn
        self.method = ""
        self.target = b""
        self.version = "1.1"
        self.headers = []
        self.names = []   # the header names in lower case, in the same order
        self.header_bytes = 0
        self.keep_alive = True
        self.has_body = False
        self.chunked = False
        self.length = None
        self.expect_continue = False
        self.complete = False
        self.failed = None
        self.pending = []
        self.pending_size = 0
        self.limit = _READ_AHEAD
        self.sink = self.sink_end = self.sink_fail = None
        self.waiter = None
        self.received = 0
        self.wall = time.time()
        self.started = time.perf_counter()
        self.head_done = False
        self.continued = False

    # --- fed by the connection ---------------------------------------------------------------

    def feed(self, data):
        self.received += len(data)
        if self.sink is not None:
            self.sink(data)
            return
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size > self.limit:
            self.conn.pause("body")
            self._wake()

    def end(self):
        self.complete = True
        if self.sink_end is not None:
            self.sink_end()
        self._wake()

    def fail(self, reason):
        if self.complete or self.failed:
            return
        self.failed = reason
        if self.sink_fail is not None:
            self.sink_fail(reason)
        self._wake()

    def _wake(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    # --- for the consumer --------------------------------------------------------------------

    def _go(self):
        if self.expect_continue and not self.continued and not self.complete:
            self.continued = True
            self.conn.write(_CONTINUE)

    async def buffer(self, limit: int) -> None:
        """Read the body until it is complete, failed, or more than ``limit`` bytes are held."""
        self.limit = limit
        self._go()
        self.conn.resume("body")
        while not (self.complete or self.failed or self.pending_size > limit):
            self.waiter = self.conn.loop.create_future()
            await self.waiter
        self.waiter = None

    def take(self) -> list:
        """The body bytes held so far (and forget them)."""
        out, self.pending, self.pending_size = self.pending, [], 0
        return out

    def stream(self, write, end, fail) -> None:
        """From now on body bytes go to ``write`` as they arrive; ``end()`` when the body is
        complete, ``fail(reason)`` when it will not be."""
        self._go()
        for chunk in self.take():
            write(chunk)
        self.sink, self.sink_end, self.sink_fail = write, end, fail
        if self.failed:
            fail(self.failed)
        elif self.complete:
            end()
        self.conn.resume("body")


class ClientConnection(Relay):
    """One client connection; ``handler(conn, request)`` is awaited per request, in order;
    ``on_error(conn, request_or_None, status, why)`` answers a request that could not be parsed."""

    def __init__(self, server, key=None, tls: bool = False, peer: Optional[str] = None):
        self.server = server
        self.peer_given = peer  # the client's address, when the socket is not the client's
        self.key = key    # which of the server's views serves this connection
        self.tls = tls    # TLS terminated by us (HTTPS listener): scheme https
        self.sni = None   # the SNI of that TLS connection
        self.settings: Settings = server.settings
        self.loop = server.loop
        self.transport = None
        self.peer = "-"
        self.parser = httptools.HttpRequestParser(self)
        self.current: Optional[Request] = None   # being parsed
        self.active: Optional[Request] = None    # being handled
        self.queue = deque()
        self.error = None          # (request, status, why): a bad request waiting its turn
        self.done_reading = False  # no further request on this connection will be read
        self.lost = False
        self.head_size = 0
        self._paused = set()
        self._timer = None         # a TimerHandle due at or before self._due
        self._timer_kind = None
        self._due = None
        self.last_body = 0.0
        self.on_lost = None        # set by a handler streaming a response
        self.on_pause = None       # our write buffer is full (set by a handler)
        self.on_resume = None

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = self.peer_given or (peer[0] if peer else "-")
        if self.tls:
            self.sni = sni_of(transport)
        self.server.connections.add(self)
        self._arm("header", self.settings.header_timeout)

    def connection_lost(self, exc):
        self.lost = True
        self.server.connections.discard(self)
        self._disarm()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for req in (self.active, self.current, *self.queue):
            if req is not None and req.head_done:
                req.fail("client aborted body")
        if self.on_lost is not None:
            self.on_lost()

    def data_received(self, data):
        if self.done_reading or self.error is not None:
            return
        cur = self.current
        if cur is None or not cur.head_done:
            self.head_size += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:  # a callback raised: _Reject or a bug
            ctx = exc.__context__
            if isinstance(ctx, _Reject):
                self._bad(ctx.status, ctx.why)
            else:
                raise
        except httptools.HttpParserUpgrade:
            # Upgrade (and CONNECT) are not proxied: the request is handled without its
            # Upgrade header and the connection closes after it
            self.done_reading = True
        except httptools.HttpParserError as exc:
            self._bad(400, str(exc) or type(exc).__name__)
        else:
            cur = self.current
            if cur is not None and not cur.head_done:
                limit = self.settings.max_url + self.settings.max_header_bytes + 1024
                if self.head_size > limit:
                    self._bad(431, "request head too large")

    # --- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self):
        self.current = Request(self)
        if self._timer_kind == "idle":
            self._arm("header", self.settings.header_timeout)

    def on_url(self, url):
        req = self.current
        req.target += url
        if len(req.target) > self.settings.max_url:
            raise _Reject(414, "request-target too long")

    def on_header(self, name, value):
        req = self.current
        if req.head_done:
            return  # trailers of a chunked body are dropped
        req.headers.append((name, value))
        req.names.append(name.lower())
        req.header_bytes += len(name) + len(value) + 4
        if req.header_bytes > self.settings.max_header_bytes:
            raise _Reject(431, "header block too large")
        if len(req.headers) > self.settings.max_headers:
            raise _Reject(431, "too many header fields")

    def on_headers_complete(self):
        req = self.current
        parser = self.parser
        req.head_done = True
        req.method = parser.get_method().decode("latin-1")
        req.version = parser.get_http_version()
        req.keep_alive = parser.should_keep_alive() and req.version == "1.1"
        names = req.names
        if b"content-length" in names:  # (llhttp refuses a repeated one)
            req.length = int(req.headers[names.index(b"content-length")][1])
        if b"transfer-encoding" in names:
            req.chunked = True  # llhttp accepts only codings ending in chunked
        if b"expect" in names:
            req.expect_continue = any(low == b"expect" and value.lower() == b"100-continue"
                                      for low, (_, value) in zip(names, req.headers))
        req.has_body = req.chunked or bool(req.length)
        self.head_size = 0
        if req.version not in ("1.0", "1.1"):
            raise _Reject(505, f"HTTP/{req.version} is not served")
        if self.active is None and self.error is None:
            self._start(req)
        else:
            self.queue.append(req)
            if len(self.queue) >= _MAX_PIPELINE:
                self.pause("pipeline")
        if req.has_body:
            self.last_body = self.loop.time()
            self._arm("body", self.settings.body_timeout)
        else:
            self._disarm()

    def on_body(self, body):
        self.last_body = self.loop.time()
        self.current.feed(body)

    def on_message_complete(self):
        req = self.current
        self.current = None
        if self._timer_kind == "body":
            self._disarm()
        if not req.keep_alive:
            self.done_reading = True
        req.end()

    # --- requests ----------------------------------------------------------------------------

    def _start(self, req: Request):
        self.active = req
        self.loop.create_task(self._run(req))

    async def _run(self, req: Request):
        keep = False
        try:
            keep = await self.server.handle(self, req)
        except Exception:  # a bug of ours: logged once, the connection closes
            log.exception("request handling failed")
        self.active = None
        self.on_lost = self.on_pause = self.on_resume = None
        if self.lost:
            return
        if not keep or not req.complete:
            self.transport.close()
            return
        if self._paused:
            self.resume("pipeline")
            self.resume("body")
        if self.queue:
            self._start(self.queue.popleft())
        elif self.error is not None:  # a bad request pipelined behind this one: its turn
            self._answer_error(*self.error)
        elif self.done_reading:
            self.transport.close()
        elif self.current is None:
            self._arm("idle", self.settings.keepalive_timeout)
        else:  # the next request's head is arriving
            self._arm("header", self.settings.header_timeout)

    def _bad(self, status, why):
        """A request that cannot be parsed: nothing more is read; it is answered in its turn."""
        self.done_reading = True
        req = self.current
        if req is not None and req.head_done:
            req.fail(f"bad request: {why}")  # its consumer resets the upstream; we close after
            if req is self.active or req in self.queue:
                return
        if req is None:
            req = Request(self)
        elif not req.method and req.target:  # the request line was read: name the method
            try:
                req.method = self.parser.get_method().decode("latin-1")
            except httptools.HttpParserError:
                pass
        self.error = (req, status, why)
        if self.active is None:
            self._answer_error(req, status, why)

    def _answer_error(self, req, status, why):
        self.error = None
        self._disarm()
        ex = self.exchange(req)
        ex.status = status
        ex.error = f"bad request: {why}" if status != 408 else why
        self.write_simple(status, f"{REASONS.get(status, 'Error')}: {why}\n", close=True)
        ex.bytes_sent = len(why) + len(REASONS.get(status, "Error")) + 3
        self.transport.close()
        self.server.finish(ex, req)

    def exchange(self, req: Request) -> Exchange:
        names = req.names
        host = req.headers[names.index(b"host")][1].decode("latin-1") if b"host" in names \
            else None
        return Exchange(req.wall, self.peer, req.method or "-",
                        req.target.decode("latin-1") or "-", req.version, host)

    # --- writing -----------------------------------------------------------------------------

    def write(self, data):
        if not self.lost and not self.transport.is_closing():
            self.transport.write(data)

    def writelines(self, parts):
        if not self.lost and not self.transport.is_closing():
            self.transport.writelines(parts)

    def write_simple(self, status, text, headers=(), close=False):
        body = text.encode("utf-8")
        head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n".encode("latin-1")]
        for name, value in headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n" % len(body))
        if close:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        head.append(body)
        self.writelines(head)

    def close(self):
        if not self.lost:
            self.transport.close()

    # --- flow control and timers -------------------------------------------------------------

    def pause(self, reason):
        if not self._paused and not self.lost:
            self.transport.pause_reading()
        self._paused.add(reason)

    def resume(self, reason):
        if reason in self._paused:
            self._paused.discard(reason)
            if not self._paused and not self.lost and not self.transport.is_closing():
                self.transport.resume_reading()

    def _arm(self, kind, seconds):
        """The connection's one deadline: ``kind`` is due ``seconds`` from now (0: never). The
        armed TimerHandle stays when it fires no later (it then re-arms for the rest), so
        keep-alive traffic moves a deadline per request, not a timer."""
        self._timer_kind = kind
        if not seconds:
            self._due = None
            return
        self._due = due = self.loop.time() + seconds
        timer = self._timer
        if timer is not None:
            if timer.when() <= due:
                return
            timer.cancel()
        self._timer = self.loop.call_at(due, self._fire)

    def _disarm(self):
        self._timer_kind = self._due = None  # an armed TimerHandle fires to nothing

    def _fire(self):
        self._timer = None
        kind, due = self._timer_kind, self._due
        if kind is None or due is None or self.lost:
            return
        if self.loop.time() < due:  # moved on since this TimerHandle was armed
            self._timer = self.loop.call_at(due, self._fire)
            return
        self._timer_kind = self._due = None
        if kind == "idle":
            self.transport.close()
        elif kind == "header":
            if self.active is not None:  # the next head waits for the request being handled
                self._arm("header", self.settings.header_timeout)
                return
            self.done_reading = True
            if self.current is None:  # nothing of a request arrived: just close
                self.transport.close()
            else:
                self._answer_error(self.current, 408, "header timeout")
        elif kind == "body":
            req = self.current
            if req is None or req.complete:
                return
            idle = self.loop.time() - self.last_body
            if self._paused or idle < self.settings.body_timeout:  # a slow consumer is not the client's fault
                self._arm("body", max(self.settings.body_timeout - idle, 0.05))
                return
            self.done_reading = True
            req.fail("client body timeout")
