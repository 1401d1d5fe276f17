"""`routecore serve` for TCP and TLS listeners: each client connection is decided once and its
bytes are spliced to the chosen backend, both ways.

Channels: ``tcp`` (TCPRoute: ``view.route_stream()`` on connect), ``tls-passthrough`` (TLSRoute:
the SNI of the ClientHello, read by ``sni.HelloReader`` without terminating, picks the route with
``view.route_tls(sni)``; every byte read, the hello included, goes to the backend untouched) and
``tls-terminate`` (TLSRoute on a Terminate listener: the handshake completes here with the
listener's certificate, the SNI picks the route, the plaintext is spliced).

Invariants:
- a connection is decided by the table current when its decision is taken and keeps that
  backend for its life; no route, an invalid backend's share, no upstream address, a hello we
  cannot read (malformed, too large, or not whole within ``header_timeout``) or a failed
  upstream connection closes the client connection without a byte from us (TLS: no alert);
- the bytes are relayed as they come, in order, with nothing added or removed; a half-close
  (EOF) is passed on where the transport can (plain TCP), and the splice ends when both
  directions ended, either side failed, or nothing moved for ``stream_idle_timeout`` seconds;
- nothing crosses before the splice is linked (``_connect`` finished: the upstream connected and,
  with backend TLS, verified): bytes and a half-close from either side that arrive while the
  upstream connection is being made are held and passed on, in order, when it is linked (the
  upstream's transport exists before ``_connect`` resumes: it is not the sign);
- read-ahead is bounded both ways: a side whose write buffer is full stops the other side's
  reading; before the upstream is connected at most ``_EARLY_MAX`` bytes are held, or the
  ClientHello (``sni.MAX_HELLO`` plus its record headers), and reading pauses beyond that;
- each connection gives exactly one ``Connection`` record to the observers, when it ends.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from typing import Optional

from .ports import channel_of
from .server import ClientConnection
from .sni import Bad, HelloReader
from .tls import best_listener, failure, sni_of
from .upstream import reset

log = logging.getLogger("routecore.serve")

_EARLY_MAX = 64 * 1024


class Connection:
    """One TCP/TLS/UDP connection (flow) as the observers see it, once it ended."""

    __slots__ = ("time", "client", "channel", "port", "sni", "status", "route", "listener",
                 "backend", "bytes_received", "bytes_sent", "upstream_seconds", "duration",
                 "error")

    def __init__(self, channel: str, port: int, client: str):
        self.time = time.time()
        self.client = client
        self.channel = channel
        self.port = port
        self.sni = None
        self.status = 0   # 200 forwarded; 404 no route; 500 invalid backend; 502 upstream failed;
        self.route = None  # 400 bad ClientHello; 408 no ClientHello in time
        self.listener = None
        self.backend = None
        self.bytes_received = 0
        self.bytes_sent = 0
        self.upstream_seconds = None
        self.duration = 0.0
        self.error = None


def decide(record: Connection, decision, addresses) -> Optional[tuple]:
    """Fill ``record`` from ``decision``; the upstream (host, port) to connect to, or None
    (``record.status``/``error`` say why)."""
    record.route, record.listener = decision.route, decision.listener
    backend = decision.backend
    if backend is not None:
        record.backend = str(backend)
    if decision.status is not None:
        record.status = decision.status
        record.error = "no route" if decision.status == 404 else "invalid backend"
        return None
    address = addresses(record.backend)
    if address is None:
        record.status = 502
        record.error = f"no upstream for {record.backend}"
        return None
    return address


class _Upstream(asyncio.Protocol):
    """The backend side of a splice."""

    def __init__(self, splice: "StreamConnection"):
        self.splice = splice
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.splice.from_upstream(data)

    def eof_received(self):
        return self.splice.eof("upstream")

    def connection_lost(self, exc):
        self.splice.lost("upstream", exc)

    def pause_writing(self):
        self.splice.pause_client()

    def resume_writing(self):
        self.splice.resume_client()


class StreamConnection(asyncio.Protocol):
    """One client connection on a TCP or TLS listener (see the module's invariants).

    ``frontend`` gives: ``view_of(key)`` (the current view of the port), ``settings``,
    ``address(backend_key)`` ((host, port) or None), ``backend_tls(decision)`` (a
    ``tls.BackendTLS`` or None) and ``finish_connection(record)`` (the observers)."""

    def __init__(self, frontend, key, channel: str, port: int, binding=None,
                 peer: Optional[str] = None):
        self.frontend = frontend
        self.binding = binding  # tls-mixed: its listeners and certificates
        self.peer = peer        # the client's address, when the socket is not the client's
        self.handed_off = False  # tls-mixed: terminated by an inner connection, which logs it
        self.key = key
        self.channel = channel
        self.port = port
        self.loop = frontend.loop
        self.transport = None
        self.upstream: Optional[_Upstream] = None
        self.record: Optional[Connection] = None
        self.hello = HelloReader() if channel in ("tls-passthrough", "tls-mixed") else None
        self.early = []
        self.early_size = 0
        self.ended = set()      # directions that saw EOF: "client", "upstream"
        self.closed = False
        self.started = time.perf_counter()
        self.last = self.loop.time()
        self._timer = None
        self._task = None          # connecting to the upstream
        self.linked = False        # _connect finished: bytes cross both ways
        self.held = []             # the upstream's bytes before that
        self._paused_client = False

    # --- client side ---------------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.record = Connection(self.channel, self.port,
                                 self.peer or (peer[0] if peer else "-"))
        self.frontend.streams.add(self)
        settings = self.frontend.settings
        if self.hello is not None:
            self._arm(settings.header_timeout, "hello")
        else:
            self._arm(settings.stream_idle_timeout, "idle")
            self._start(sni_of(transport) if self.channel == "tls-terminate" else None)

    def data_received(self, data):
        self.last = self.loop.time()
        self.record.bytes_received += len(data)
        if self.linked:
            self.upstream.transport.write(data)
            return
        self.early.append(data)
        self.early_size += len(data)
        if self.hello is not None and self.record.status == 0 and self.upstream is None:
            got = self.hello.feed(data)
            if isinstance(got, Bad):
                self._refuse(400, f"bad request: invalid ClientHello ({got.reason})")
                return
            if got is not None:
                self._arm(self.frontend.settings.stream_idle_timeout, "idle")
                self._start(got.sni)
                return
        if self.early_size > _EARLY_MAX and (self.hello is None or self.hello.result is not None):
            self.pause_client()  # (a hello being read is bounded by its reader)

    def eof_received(self):
        return self.eof("client")

    def connection_lost(self, exc):
        self.lost("client", exc)

    def pause_writing(self):
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.pause_reading()

    def resume_writing(self):
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.resume_reading()

    def pause_client(self):
        if not self._paused_client and not self.closed:
            self._paused_client = True
            self.transport.pause_reading()

    def resume_client(self):
        if self._paused_client and not self.closed:
            self._paused_client = False
            self.transport.resume_reading()

    # --- deciding and connecting ---------------------------------------------------------------

    def _start(self, sni: Optional[str]):
        record = self.record
        record.sni = sni
        view = self.frontend.view_of(self.key)
        if self.channel == "tls-mixed":
            listeners = [(lis.hostname, lis) for lis in self.binding.plan.listeners]
            chosen = best_listener(listeners, sni)
            if chosen is not None and channel_of(chosen) != "tls-passthrough":
                self._hand_off(channel_of(chosen))
                return
        if self.channel == "tcp":
            decision = view.route_stream("TCP")
        else:  # no SNI: the library says which listener and route (if any) take it
            decision = view.route_tls(sni)
        address = decide(record, decision, self.frontend.address)
        if address is None:
            self._refuse(record.status, record.error)
            return
        passthrough = self.channel in ("tls-passthrough", "tls-mixed")
        tls = None if passthrough else self.frontend.backend_tls(decision)
        if tls is not None and tls.error is not None:
            self._refuse(502, f"upstream tls: {tls.error}")
            return
        self.upstream = _Upstream(self)
        self._task = self.loop.create_task(self._connect(address, tls))

    def _hand_off(self, channel: str):
        """tls-mixed: the SNI chose a terminating listener. The bytes read so far and the rest go
        through a socket pair to an inner TLS connection of that listener's kind (it terminates
        with the port's certificates and gives the access record)."""
        outer, inner = socket.socketpair()
        frontend, key, client, port = self.frontend, self.key, self.record.client, self.port
        if channel == "https":
            def factory():
                return ClientConnection(frontend, key, True, peer=client)
        else:
            def factory():
                return StreamConnection(frontend, key, "tls-terminate", port, peer=client)
        self.handed_off = True
        self.loop.create_task(self._serve_inner(factory, inner))
        self.upstream = _Upstream(self)
        self._task = self.loop.create_task(self._connect(None, None, outer))

    async def _serve_inner(self, factory, sock):
        try:
            await self.loop.connect_accepted_socket(
                factory, sock, ssl=self.binding.store.context,
                ssl_handshake_timeout=self.frontend.settings.header_timeout or None)
        except (OSError, asyncio.TimeoutError) as exc:  # a failed handshake: the client's fault
            log.debug("tls-mixed: handshake failed: %s", exc)
            sock.close()

    async def _connect(self, address, tls, sock=None):
        started = time.perf_counter()
        kwargs = {}
        if tls is not None:
            kwargs = {"ssl": tls.context, "server_hostname": tls.server_hostname}
        where = {"sock": sock} if sock is not None else {"host": address[0], "port": address[1]}
        try:
            transport, _ = await asyncio.wait_for(
                self.loop.create_connection(lambda: self.upstream, **where, **kwargs),
                self.frontend.settings.connect_timeout or None)
        except asyncio.TimeoutError:
            self._refuse(502, "upstream connect timeout")
            return
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: verification failed
            what = "upstream tls" if isinstance(exc, ssl.SSLError) else "upstream connect failed"
            self._refuse(502, f"{what}: {failure(exc)}")
            return
        if tls is not None:
            problem = tls.check(transport.get_extra_info("peercert"))
            if problem is not None:
                transport.abort()
                self._refuse(502, f"upstream tls: {problem}")
                return
        self.record.upstream_seconds = time.perf_counter() - started
        if self.closed:
            transport.close()
            return
        self.record.status = 200
        self.linked = True
        early, self.early, self.early_size = self.early, [], 0
        if early:
            transport.writelines(early)
        held, self.held = self.held, []
        for data in held:
            self.from_upstream(data)
        for side in ("client", "upstream"):  # a half-close that came while connecting
            if side in self.ended and not self.closed:
                self.ended.discard(side)
                self.eof(side)
        self.resume_client()

    def _refuse(self, status: int, error: str):
        if self.closed:
            return
        record = self.record
        record.status, record.error = status, error
        log.info("%s connection on port %d closed: %s", self.channel, self.port, error)
        self._close()

    # --- relaying ------------------------------------------------------------------------------

    def from_upstream(self, data):
        self.last = self.loop.time()
        if not self.linked:
            self.held.append(data)
            return
        self.record.bytes_sent += len(data)
        if not self.closed:
            self.transport.write(data)

    def eof(self, side: str) -> bool:
        """A half-close from ``side``: passed on; True keeps the transport open for the other
        direction."""
        self.ended.add(side)
        if side == "client" and self.upstream is None and self.hello is not None:
            self.loop.call_soon(self._refuse, 400, "bad request: the client closed before its "
                                "ClientHello was whole")
            return False
        if not self.linked:
            return True  # passed on once linked (_connect)
        other = self.upstream.transport if side == "client" else self.transport
        if len(self.ended) == 2 or not self._write_eof(other):
            self.loop.call_soon(self._close)
            return False
        return True

    @staticmethod
    def _write_eof(transport) -> bool:
        if transport.is_closing() or not transport.can_write_eof():
            return False
        transport.write_eof()
        return True

    def shutdown(self):
        """The server stops: end this connection now."""
        if self.record.error is None and self.record.status != 200:
            self.record.error = "server shutting down"
        self._close()

    def lost(self, side: str, exc):
        if side == "upstream" and exc is not None and self.record.error is None:
            self.record.error = "upstream reset"
        elif side == "client" and self.record.error is None and (
                exc is not None or self.record.status != 200):
            self.record.error = "client closed connection"
        self._close(reset_other=exc is not None)

    def _close(self, reset_other: bool = False):
        if self.closed:
            return
        self.closed = True
        self._disarm()
        if self._task is not None and not self._task.done():
            self._task.cancel()  # the client went first: no upstream connection to finish
        up = self.upstream.transport if self.upstream is not None else None
        for t in (self.transport, up):
            if t is not None and not t.is_closing():
                reset(t) if reset_other else t.close()
        self.frontend.streams.discard(self)
        record = self.record
        record.duration = time.perf_counter() - self.started
        if not self.handed_off:
            self.frontend.finish_connection(record)

    # --- the one timer -------------------------------------------------------------------------

    def _arm(self, seconds: float, kind: str):
        self._disarm()
        if seconds:
            self._timer = self.loop.call_later(seconds, self._fire, seconds, kind)

    def _disarm(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self, seconds: float, kind: str):
        self._timer = None
        if self.closed:
            return
        if kind == "hello":
            self._refuse(408, "client hello timeout")
            return
        idle = self.loop.time() - self.last
        if idle < seconds:
            self._timer = self.loop.call_later(seconds - idle, self._fire, seconds, kind)
            return
        self.record.error = "idle timeout"
        self._close()
