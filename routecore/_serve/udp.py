"""`routecore serve` for UDP listeners: datagrams relayed per client (UDPRoute).

A *flow* is the traffic of one client address (IP, port): its first datagram decides it
(``view.route_stream()``, so each new flow is one unit of weighting, as GEP-2645 says) and opens
one upstream socket of its own, connected to the backend; the backend's answers on that socket
go back to that client from the listener's address.

Invariants:
- at most ``max_udp_flows`` flows live at once; a datagram from a new client beyond that is
  dropped (and counted in the dropped flow's record), never evicting a live flow;
- a flow ends after ``udp_idle_timeout`` seconds without a datagram either way, or when its
  upstream socket fails; it gives exactly one ``Connection`` record to the observers then;
- datagrams are relayed whole and unchanged, each to its flow's upstream; while the upstream
  socket is being opened at most ``_QUEUE_MAX`` datagrams are held, later ones dropped;
- a flow whose decision forwards nowhere (no route, invalid backend, no upstream) drops its
  datagrams for its life (the client cannot be told: UDP has no refusal), and says so once.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Dict, Optional, Tuple

from .stream import Connection, decide

log = logging.getLogger("routecore.serve")

_QUEUE_MAX = 64


class _FlowUpstream(asyncio.DatagramProtocol):
    def __init__(self, flow: "Flow"):
        self.flow = flow

    def datagram_received(self, data, addr):
        self.flow.from_upstream(data)

    def error_received(self, exc):  # e.g. ICMP port unreachable: nobody listens there
        self.flow.record.status = 502
        self.flow.end(f"upstream error: {exc.strerror or exc}")

    def connection_lost(self, exc):
        self.flow.end(None)


class Flow:
    def __init__(self, listener: "UDPListener", client: Tuple):
        self.listener = listener
        self.client = client
        self.record = Connection("udp", listener.port, client[0])
        self.transport = None
        self.queue = []
        self.address = None
        self.done = False
        self.started = time.perf_counter()
        self.last = listener.loop.time()
        self.timer = None

    def start(self, decision) -> None:
        self.address = decide(self.record, decision, self.listener.frontend.address)
        if self.address is None:
            log.info("udp flow from %s on port %d dropped: %s", self.client[0],
                     self.listener.port, self.record.error)
        else:
            self.listener.loop.create_task(self._open())
        self._arm()

    async def _open(self):
        started = time.perf_counter()
        try:
            transport, _ = await self.listener.loop.create_datagram_endpoint(
                lambda: _FlowUpstream(self), remote_addr=self.address)
        except OSError as exc:
            self.record.status = 502
            self.end(f"upstream connect failed: {exc.strerror or exc}")
            return
        if self.done:
            transport.close()
            return
        self.transport = transport
        self.record.upstream_seconds = time.perf_counter() - started
        self.record.status = 200
        for data in self.queue:
            transport.sendto(data)
        self.queue = []

    def from_client(self, data: bytes) -> None:
        self.last = self.listener.loop.time()
        self.record.bytes_received += len(data)
        if self.transport is not None:
            self.transport.sendto(data)
        elif self.address is not None and len(self.queue) < _QUEUE_MAX:
            self.queue.append(data)

    def from_upstream(self, data: bytes) -> None:
        self.last = self.listener.loop.time()
        self.record.bytes_sent += len(data)
        self.listener.send(data, self.client)

    def _arm(self):
        idle = self.listener.frontend.settings.udp_idle_timeout
        wait = self.last + idle - self.listener.loop.time()
        if wait <= 0:
            self.end("idle timeout" if self.record.status != 200 else None)
            return
        self.timer = self.listener.loop.call_later(wait, self._arm)

    def end(self, error: Optional[str]) -> None:
        if self.done:
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        if error is not None and self.record.error is None:
            self.record.error = error
        if self.transport is not None:
            self.transport.close()
        self.listener.flows.pop(self.client, None)
        self.record.duration = time.perf_counter() - self.started
        self.listener.frontend.finish_connection(self.record)


class UDPListener(asyncio.DatagramProtocol):
    """The socket of a UDP listener port; ``frontend`` as for ``stream.StreamConnection``."""

    def __init__(self, frontend, key, port: int):
        self.frontend = frontend
        self.key = key
        self.port = port
        self.loop = frontend.loop
        self.transport = None
        self.flows: Dict[Tuple, Flow] = {}
        self.dropped = 0

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        flow = self.flows.get(addr)
        if flow is None:
            if len(self.flows) >= self.frontend.settings.max_udp_flows:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("udp port %d: %d flows live, datagrams of new clients dropped "
                                "(%d so far)", self.port, len(self.flows), self.dropped)
                return
            flow = self.flows[addr] = Flow(self, addr)
            flow.start(self.frontend.view_of(self.key).route_stream("UDP"))
        flow.from_client(data)

    def send(self, data: bytes, addr) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    def connection_lost(self, exc):
        for flow in list(self.flows.values()):
            flow.end(None)
