"""`routecore serve`, upstream side: a keep-alive HTTP/1.1 client connection pool per upstream.

Invariants:
- a request goes upstream as exactly the request line and header list the caller gives (nothing
  is added: no User-Agent, Accept, Date...), always as HTTP/1.1, with the body framing the caller
  chose (Content-Length bytes as they come, or chunks re-stated as chunked);
- a connection goes back to the pool only when its request was sent whole and its response read
  whole with keep-alive; every other connection is closed, and a request whose body did not
  arrive whole is ended with a TCP reset (``abort``), never with a well-framed end;
- response bodies are handed to the caller's sink as the bytes arrive (no copy, no buffering);
  backpressure runs both ways through ``pause_reading``/``resume_reading``.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
from collections import deque
from typing import Callable, Optional
from urllib.parse import urlsplit

import httptools

from .tls import failure

_LINGER_RST = struct.pack("ii", 1, 0)
log = logging.getLogger("routecore.serve")


def reset(transport) -> None:
    """Close ``transport`` with a TCP RST (SO_LINGER on, 0 s), so the peer sees an incomplete
    message, never a clean end."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        except OSError:
            pass
    transport.abort()


class UpstreamError(Exception):
    """The upstream failed: ``reason`` is the short text for the access log."""

    def __init__(self, reason: str, sent_nothing: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.sent_nothing = sent_nothing  # no response byte came back: safe to retry on a new connection


class Response:
    """A response head from upstream: status, raw header pairs, framing."""

    __slots__ = ("status", "reason", "headers", "names", "length", "chunked", "keep_alive")

    def __init__(self, status, reason, headers, names, length, chunked, keep_alive):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.names = names        # the header names in lower case, in the same order
        self.length = length      # Content-Length, or None
        self.chunked = chunked    # Transfer-Encoding chunked
        self.keep_alive = keep_alive


class Relay(asyncio.Protocol):
    """A protocol whose write-buffer pressure is passed on: ``on_pause``/``on_resume`` stop and
    restart reading on the other side of the proxy."""

    on_pause: Optional[Callable] = None
    on_resume: Optional[Callable] = None

    def pause_writing(self):
        if self.on_pause is not None:
            self.on_pause()

    def resume_writing(self):
        if self.on_resume is not None:
            self.on_resume()


class UpstreamConnection(Relay):
    """One keep-alive connection to an upstream, one exchange at a time."""

    def __init__(self, pool: "Pool"):
        self.pool = pool
        self.transport = None
        self.parser = None
        self.reused = False
        self.head: Optional[asyncio.Future] = None
        self.done: Optional[asyncio.Future] = None
        self.sink: Optional[Callable] = None    # body bytes -> client
        self.on_interim: Optional[Callable] = None
        self.on_pause: Optional[Callable] = None   # our write buffer is full: stop the client
        self.on_resume: Optional[Callable] = None
        self._status_text = b""
        self._headers = []
        self._response = None
        self._no_body = False
        self._got_bytes = False
        self._early = []
        self.head_request = False
        self.last_read = 0.0
        self._timer = None
        self._head_by = self._idle = 0.0
        self._deadline = None

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self._got_bytes = True
        self.last_read = self.pool.loop.time()
        if self.done is None:  # data while idle in the pool: the upstream is confused; drop it
            self.pool.discard(self)
            self.transport.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"upstream bad response: {exc}")
            self.transport.close()

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        self.pool.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        r = self._response
        if r is not None and r.length is None and not r.chunked and not self._no_body \
                and self.done is not None and not self.done.done():
            self.done.set_result(None)  # a close-delimited body ends with the connection
            return
        self._fail("upstream reset" if self._got_bytes or self.head is None or self.head.done()
                   else "upstream closed")

    # --- httptools callbacks -----------------------------------------------------------------

    # (no on_message_begin: ``start`` and an interim response make a message's lists afresh)

    def on_status(self, text):
        self._status_text += text

    def on_header(self, name, value):
        if self._response is None:  # trailers of a chunked response are dropped
            self._headers.append((name, value))

    def on_headers_complete(self):
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            if status != 100 and self.on_interim is not None:  # 100 Continue: ours to give
                self.on_interim(status, self._status_text, self._headers)
            self._headers = []
            self._status_text = b""
            return
        length, chunked = None, False
        headers = self._headers
        names = [name.lower() for name, _ in headers]
        if b"content-length" in names or b"transfer-encoding" in names:
            for low, (name, value) in zip(names, headers):
                if low == b"content-length":
                    length = int(value)
                elif low == b"transfer-encoding":
                    chunked = value.lower().rstrip().endswith(b"chunked")
        self._response = Response(status, self._status_text, headers, names, length, chunked,
                                  self.parser.should_keep_alive())
        self._no_body = self.head_request or status in (204, 304)
        if not self.head.done():
            self.head.set_result(self._response)
        if self.head_request:
            # llhttp does not know the request was HEAD: the response ends with its head
            self._finish()

    def on_body(self, body):
        if self.sink is not None:
            self.sink(body)
        else:  # arrived with the head, before the caller gave a sink
            self._early.append(body)

    def take_early(self) -> list:
        """The body bytes that came before a sink was given (and forget them)."""
        early, self._early = self._early, []
        return early

    def set_sink(self, sink: Callable) -> None:
        """Body bytes go to ``sink`` from now on (those that came with the head first)."""
        early, self._early = self._early, []
        for chunk in early:
            sink(chunk)
        self.sink = sink

    def on_message_complete(self):
        if self._response is not None:
            self._finish()

    def _finish(self):
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    def _fail(self, reason, closed=True):
        """Fail the exchange; ``closed``: the upstream ended the connection (not our watchdog),
        so a request it sent no byte for may have found a pooled connection already closing."""
        for fut in (self.head, self.done):
            if fut is not None and not fut.done():
                fut.set_exception(UpstreamError(reason, sent_nothing=closed and not self._got_bytes))
                fut.exception()  # whoever waits sees it; nobody waiting is no error to log

    # --- the watchdog: one deadline per exchange---------------------------------------------

    def watch(self, head_by: float, idle: float, deadline: Optional[float]) -> None:
        """Fail the exchange with "upstream timeout" (and reset the connection) when no response
        head by loop time ``head_by``, when no byte for ``idle`` seconds once the head came, or at
        loop time ``deadline`` (the route's request timeout) whatever the state."""
        self._head_by, self._idle, self._deadline = head_by, idle, deadline
        self._schedule()

    def _check(self):
        self._timer = None
        self._schedule()

    def _schedule(self):
        """Fail now when a limit passed, else make sure a TimerHandle fires by the nearest one
        (one armed earlier, for an earlier exchange on this connection, does: it checks again)."""
        if self.done is None or self.done.done():
            return
        loop = self.pool.loop
        now = loop.time()
        limit = self._head_by if self._response is None else self.last_read + self._idle
        if self._deadline is not None and self._deadline < limit:
            limit = self._deadline
        if now >= limit:
            self._fail("upstream timeout", closed=False)  # it may be working on it: never resent
            reset(self.transport)
            return
        timer = self._timer
        if limit != float("inf") and (timer is None or timer.when() > limit):
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(limit, self._check)

    # --- the exchange ------------------------------------------------------------------------

    def start(self, head: bytes, head_request: bool):
        """Write a request head; the body follows with ``write``/``end``."""
        loop = self.pool.loop
        if self.parser is None:  # a fresh connection, or one whose last request was HEAD
            self.parser = httptools.HttpResponseParser(self)
        self.head_request = head_request
        self.head = loop.create_future()
        self.done = loop.create_future()
        self._response = None
        self._headers = []
        self._status_text = b""
        self._early = []
        self._got_bytes = False
        self.last_read = loop.time()
        self.transport.write(head)

    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def abort(self):
        """The request cannot be completed: reset the connection (the upstream sees an
        incomplete message)."""
        reset(self.transport)


class Pool:
    """Keep-alive connections to one upstream URL (``http://host:port[/base]``)."""

    def __init__(self, url: str, loop, connect_timeout: float, max_idle: int = 256):
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream URL must be http://HOST[:PORT][/PATH], got {url!r}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 80
        self.authority = parts.netloc.encode("latin-1")
        self.base = parts.path.rstrip("/").encode("latin-1")
        self.loop = loop
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self.idle = deque()
        self.tls = None

    async def acquire(self, fresh: bool = False, tls=None) -> UpstreamConnection:
        """A connection (idle or new); over TLS as ``tls`` (a ``tls.BackendTLS``) says, verified;
        when ``tls`` changes (a reload), the idle connections made under the old one are closed."""
        conn = None if fresh else self.take(tls)
        if conn is not None:
            return conn
        if tls is not self.tls:
            self.close()
            self.tls = tls
        kwargs = {} if tls is None else {"ssl": tls.context, "server_hostname": tls.server_hostname}
        try:
            transport, conn = await asyncio.wait_for(
                self.loop.create_connection(lambda: UpstreamConnection(self), self.host, self.port,
                                            **kwargs),
                self.connect_timeout or None)
        except asyncio.TimeoutError:
            raise UpstreamError("upstream connect timeout", sent_nothing=True) from None
        except ssl.SSLError as exc:
            raise self._tls_refused(tls, failure(exc)) from None
        except OSError as exc:
            raise UpstreamError(f"upstream connect failed: {exc.strerror or exc}",
                                sent_nothing=True) from None
        if tls is not None:
            problem = tls.check(transport.get_extra_info("peercert"))
            if problem is not None:
                transport.abort()
                raise self._tls_refused(tls, problem)
        return conn

    def take(self, tls=None) -> Optional[UpstreamConnection]:
        """An idle connection made under ``tls``, or None (then ``acquire`` makes one)."""
        idle = self.idle
        if tls is not self.tls:
            return None
        while idle:
            conn = idle.pop()
            if not conn.closed():
                conn.reused = True
                return conn
        return None

    def _tls_refused(self, tls, why: str) -> UpstreamError:
        log.warning("upstream %s refused: its certificate fails BackendTLSPolicy %s (%s)",
                    self.url, tls.policy.policy, why)
        return UpstreamError(f"upstream tls: {why}", sent_nothing=True)

    def release(self, conn: UpstreamConnection) -> None:
        if conn.head_request:  # llhttp did not know that response had no body: a new parser
            conn.parser = None
        conn.sink = conn.on_interim = conn.on_pause = conn.on_resume = None
        conn.head = conn.done = None
        if conn.closed():
            return
        if len(self.idle) >= self.max_idle:
            conn.transport.close()
            return
        self.idle.append(conn)

    def discard(self, conn: UpstreamConnection) -> None:
        try:
            self.idle.remove(conn)
        except ValueError:
            pass

    def close(self) -> None:
        while self.idle:
            self.idle.pop().transport.close()
