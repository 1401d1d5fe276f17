"""`routecore serve --admin`: Prometheus metrics and the admin listener (/healthz, /readyz, /metrics).

Invariants:
- every ``Metrics`` has its own ``CollectorRegistry`` (never the process-global one), so several
  can coexist; label values are bounded: route and backend come from the configuration (``-``
  for none), status codes are ints, error reasons one of ``ERROR_REASONS``;
- the admin listener reads at most ``MAX_HEAD`` bytes of request line and headers, within
  ``header_timeout`` seconds (also the idle time allowed between keep-alive requests), never
  reads a body (a request announcing one is answered, then the connection closed), and closes the
  connection after any malformed request.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Callable, Optional, Tuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

log = logging.getLogger("routecore.admin")

# upstream latency, seconds: from a loopback hop (1 ms) to a slow report (60 s)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                   30.0, 60.0)

# reason classes of failed requests, and the ``Exchange.error`` texts of routecore serve that
# belong to each (an error starting with a class name itself, followed by ":", a space or
# nothing, counts under it too); any other error is classed by status.
ERROR_PHRASES = {
    "client_abort": ("client aborted", "client closed"),      # the client went away
    "client_timeout": ("client body timeout", "header timeout"),  # too slow sending
    "bad_request": ("bad request",),                             # malformed request
    "no_upstream": ("no upstream",),                             # the backend has no --upstream
    "upstream_connect": ("upstream connect",),                   # could not be reached
    "upstream_reset": ("upstream reset", "upstream closed"),     # closed mid-exchange
    "upstream_timeout": ("upstream timeout",),                   # no (complete) answer in time
    "upstream_protocol": ("upstream bad response",),             # not valid HTTP
    "upstream_tls": ("upstream tls",),            # the backend fails its BackendTLSPolicy
    "no_route": ("no route", "invalid backend"),  # TCP/TLS/UDP: nothing to forward to
    "idle_timeout": ("idle timeout", "client hello timeout"),  # TCP/TLS/UDP: nothing moved
    "internal": (),                                              # a routecore fault
    "other": (),
}
ERROR_REASONS = frozenset(ERROR_PHRASES)
_LEADING_WORD = re.compile(r"[a-z_]+")


def error_reason(error: str, status: int) -> str:
    for reason, phrases in ERROR_PHRASES.items():
        if error.startswith(phrases):
            return reason
    m = _LEADING_WORD.match(error)
    if m and m.group() in ERROR_REASONS and error[m.end():m.end() + 1] in ("", ":", " "):
        return m.group()
    if status == 0:
        return "client_abort"
    if status == 504:
        return "upstream_timeout"
    if status in (502, 503):
        return "upstream_connect"
    if 400 <= status < 500:
        return "bad_request"
    if status >= 500:
        return "internal"
    return "other"


def _label(value) -> str:
    return "-" if value is None else str(value)


class Metrics:
    """The proxy's Prometheus metrics, on a registry of its own (``self.registry``).

    ``generation``: the configuration generation serving at start (a success at construction).
    """

    def __init__(self, *, generation: int = 0, version: Optional[str] = None,
                 native: Optional[bool] = None):
        if version is None or native is None:
            from .. import NATIVE, __version__
            version = __version__ if version is None else version
            native = NATIVE if native is None else native
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "routecore_requests", "Requests answered, by route, backend and HTTP status code "
            "(0: the client got no status)", ("route", "backend", "code"), registry=r)
        self.upstream_latency = Histogram(
            "routecore_upstream_duration_seconds", "Time spent on the upstream per forwarded "
            "request, as the proxy measures it, by route and backend", ("route", "backend"),
            buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter(
            "routecore_request_errors", "Requests that failed, by reason class", ("reason",),
            registry=r)
        self.connections = Counter(
            "routecore_connections", "TCP, TLS and UDP connections (UDP: flows) ended, by channel, "
            "route, backend and outcome code (200 forwarded, 400 bad ClientHello, 404 no route, "
            "408 no ClientHello in time, 500 invalid backend, 502 upstream failed)",
            ("channel", "route", "backend", "code"), registry=r)
        self.stream_bytes = Counter(
            "routecore_connection_bytes", "Bytes relayed on TCP, TLS and UDP connections, by "
            "channel and direction (in: from clients, out: to clients)", ("channel", "direction"),
            registry=r)
        self.reloads = Counter(
            "routecore_config_reloads", "Configuration reload attempts, by outcome "
            "(success, failure)", ("outcome",), registry=r)
        self.generation = Gauge(
            "routecore_config_generation", "Generation of the configuration serving "
            "(0 at start, +1 per successful reload)", registry=r)
        self.last_success = Gauge(
            "routecore_config_last_reload_success_timestamp_seconds", "Unix time of the last "
            "successful configuration load", registry=r)
        self.last_ok = Gauge(
            "routecore_config_last_reload_successful", "1 when the last configuration load "
            "succeeded, 0 when it was refused", registry=r)
        Gauge("routecore_build_info", "routecore's version and matching core (always 1)",
              ("version", "core"), registry=r).labels(version, "native" if native else "pure").set(1)
        for outcome in ("success", "failure"):
            self.reloads.labels(outcome)  # present from the start, at 0
        self.generation.set(generation)
        self.last_success.set(time.time())
        self.last_ok.set(1)
        # (route, backend, status) -> (requests child, upstream latency child): labels() per
        # request would format and look up the label values again each time
        self._children: dict = {}

    def observe(self, exchange) -> None:
        """An observer: count one finished exchange."""
        route, backend = _label(exchange.route), _label(exchange.backend)
        channel = getattr(exchange, "channel", None)
        if channel is not None:  # a TCP/TLS/UDP connection (stream.Connection)
            self.connections.labels(channel, route, backend, str(int(exchange.status))).inc()
            self.stream_bytes.labels(channel, "in").inc(exchange.bytes_received)
            self.stream_bytes.labels(channel, "out").inc(exchange.bytes_sent)
        else:
            key = (route, backend, exchange.status)
            children = self._children.get(key)
            if children is None:
                if len(self._children) >= 4096:  # reloads with other routes: start again
                    self._children.clear()
                children = self._children[key] = [
                    self.requests.labels(route, backend, str(int(exchange.status))), None]
            children[0].inc()
            if exchange.upstream_seconds is not None:
                if children[1] is None:  # made on first use: no upstream time, no series
                    children[1] = self.upstream_latency.labels(route, backend)
                children[1].observe(exchange.upstream_seconds)
        if exchange.error is not None:
            self.errors.labels(error_reason(exchange.error, int(exchange.status))).inc()

    __call__ = observe

    def reloaded(self, ok: bool, generation: int, error: Optional[str] = None) -> None:
        """An ``on_reload`` observer."""
        self.reloads.labels("success" if ok else "failure").inc()
        self.generation.set(generation)
        self.last_ok.set(1 if ok else 0)
        if ok:
            self.last_success.set(time.time())

    def render(self, accept: Optional[str] = None) -> Tuple[bytes, str]:
        """(exposition, its content type): the Prometheus text format 0.0.4, unless ``accept``
        (a scrape's Accept header) asks for another that prometheus_client writes (OpenMetrics)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


# --- the admin listener --------------------------------------------------------------------------

MAX_HEAD = 8192
_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP/(1\.[01])")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x20-\x7e\x80-\xff\t]*?)[ \t]*")
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            431: "Request Header Fields Too Large",
            503: "Service Unavailable"}
TEXT = "text/plain; charset=utf-8"


def _parse_head(head: bytes):
    """(method, path, version, {lower name: [values]}) or None when malformed."""
    lines = head[:-4].split(b"\r\n")
    m = _REQUEST_LINE.fullmatch(lines[0])
    if m is None:
        return None
    headers = {}
    for line in lines[1:]:
        h = _HEADER.fullmatch(line)
        if h is None:  # includes obs-fold continuation lines and bare LF
            return None
        headers.setdefault(h.group(1).decode("ascii").lower(), []).append(h.group(2))
    method, target, version = m.groups()
    return method.decode("ascii"), target.split(b"?", 1)[0], version.decode("ascii"), headers


def _answer(method: str, path: bytes, headers: dict, metrics, ready) -> Tuple[int, str, bytes, list]:
    """(status, content type, body, extra headers) for one admin request."""
    if path not in (b"/healthz", b"/readyz", b"/metrics"):
        return 404, TEXT, b"not found\n", []
    if method not in ("GET", "HEAD"):
        return 405, TEXT, b"method not allowed\n", [("Allow", "GET, HEAD")]
    if path == b"/healthz":
        return 200, TEXT, b"ok\n", []
    if path == b"/readyz":
        try:
            is_ready = bool(ready())
        except Exception:  # a failing readiness probe is "not ready", and worth a log line
            log.exception("readiness check failed")
            is_ready = False
        return (200, TEXT, b"ready\n", []) if is_ready else (503, TEXT, b"not ready\n", [])
    body, content_type = metrics.render(b",".join(headers.get("accept", ())).decode("latin-1"))
    return 200, content_type, body, []


async def _respond(writer, status, content_type, body, extra, head_only, keep_alive):
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Type: {content_type}",
             f"Content-Length: {len(body)}", "Cache-Control: no-store",
             f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    lines += [f"{n}: {v}" for n, v in extra]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body))
    await writer.drain()


async def start_admin(host: str, port: int, *, metrics: Metrics, ready: Callable[[], bool],
                      header_timeout: float = 10.0) -> asyncio.AbstractServer:
    """Serve /healthz (200 while the process runs), /readyz (200 when ``ready()``, else 503)
    and /metrics (``metrics.render(accept)``) over HTTP/1.1 on ``host:port``; GET and HEAD only (405
    otherwise), 404 for other paths. Returns the started server (``close()`` it to stop)."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), header_timeout)
                except asyncio.LimitOverrunError:
                    await _respond(writer, 431, TEXT, b"request head too large\n", [], False, False)
                    return
                except (asyncio.TimeoutError, asyncio.IncompleteReadError):
                    return  # too slow (or idle too long), or the client closed: hang up
                parsed = _parse_head(head)
                if parsed is None:
                    await _respond(writer, 400, TEXT, b"bad request\n", [], False, False)
                    return
                method, path, version, headers = parsed
                tokens = {t.strip().lower() for v in headers.get("connection", ())
                          for t in v.split(b",")}
                has_body = "transfer-encoding" in headers or any(
                    v.strip() not in (b"", b"0") for v in headers.get("content-length", ()))
                keep_alive = version == "1.1" and b"close" not in tokens and not has_body
                status, content_type, body, extra = _answer(method, path, headers, metrics, ready)
                await _respond(writer, status, content_type, body, extra, method == "HEAD",
                               keep_alive)
                if not keep_alive:
                    return
        except ConnectionError:  # the client reset the connection
            return
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port, limit=MAX_HEAD)
