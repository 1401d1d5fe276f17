"""The transport pieces of `routecore serve` for TLS, TCP and UDP listeners, in process: the real
proxy engine (``proxy.run`` with ``frontend`` bindings) over 127.0.0.1 with real TLS, real echo
servers and real clients.

HTTPS termination is decided by the real library view (HTTP routes, 421 from the SNI). The TLS
passthrough, TCP and UDP channels take their decisions from ``Table`` below, a stand-in for the
library's ``view.route_tls(sni)`` / ``view.route_stream()`` (the kinds branch): what is tested
here is what the transport does with a decision, not the decision."""
from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time

import attrs
import pytest

from routecore import Backend, Router
from routecore._serve.frontend import Binding
from routecore._serve.ports import PortPlan
from routecore._serve.proxy import Proxy, Settings, run
from routecore._serve.tls import BackendTLS, CertificateStore, server_context
from tls_rig import Certs, HTTPSUpstream, TCPEcho, TLSEcho, UDPEcho, read_all, refused, tls_line

HTTPS_CONFIG = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: routecore
  listeners:
  - {name: a, port: 443, protocol: HTTPS, hostname: a.example.com, allowedRoutes: {namespaces: {from: All}}}
  - {name: b, port: 443, protocol: HTTPS, hostname: b.example.com, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: shop}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules: [{backendRefs: [{name: v1, port: 80}]}]
"""


@attrs.frozen
class Decision:
    """The fields of a routecore Decision the stream channels read."""

    status: object = None
    backend: object = None
    route: object = None
    listener: object = None
    backend_tls: object = None


NO_ROUTE = Decision(status=404)


class Table:
    """Stand-in for a TLS/TCP/UDP listener's view (``route_tls``, ``route_stream``)."""

    def __init__(self, by_sni=None, stream=NO_ROUTE):
        self.by_sni = by_sni or {}
        self.stream = stream

    def route_tls(self, sni):
        return self.by_sni.get(sni, NO_ROUTE)

    def route_stream(self, protocol=None):
        return self.stream


def to(name, route="ns/r", tls=None):
    return Decision(backend=Backend("ns", name, 1), route=route, listener="l", backend_tls=tls)


class Running:
    """``proxy.run`` in a thread of its own; ``ports[key]``: where each binding listens."""

    def __init__(self, proxy, bindings):
        self.proxy = proxy
        self.bindings = bindings
        self.records = []
        proxy.observers = (self.records.append,)
        self.loop = asyncio.new_event_loop()
        self.stop = None
        ready = threading.Event()

        def main():
            asyncio.set_event_loop(self.loop)
            self.stop = asyncio.Event()
            self.loop.run_until_complete(run(proxy, "127.0.0.1", 0, stop=self.stop,
                                             bindings=bindings, ready=lambda s: ready.set()))
        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        assert ready.wait(10)
        self.ports = {(b.plan.port, b.plan.channel): b.port for b in bindings}

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)
        assert not self.thread.is_alive()
        self.loop.close()

    def wait_records(self, n, timeout=10.0):
        end = time.monotonic() + timeout
        while len(self.records) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.records


def stream_proxy(views, upstreams, settings=None):
    router = Router.from_source(HTTPS_CONFIG)
    selects = {key: (lambda r, v=view: v) for key, view in views.items()}
    return Proxy(router, selects[next(iter(selects))], upstreams, settings, observers=(),
                 selects=selects)


@pytest.fixture
def certs(tmp_path):
    return Certs(tmp_path)


def test_tls_passthrough_by_sni_to_two_backends(certs):
    one = TLSEcho("one", certs.server_context("one", "one.example.com"))
    two = TLSEcho("two", certs.server_context("two", "two.example.com"))
    table = Table({"one.example.com": to("one"), "two.example.com": to("two")})
    proxy = stream_proxy({8443: table}, {"ns/one:1": one.url, "ns/two:1": two.url})
    running = Running(proxy, [Binding(PortPlan(8443, "tls-passthrough", ()), "127.0.0.1", 0)])
    try:
        port = running.ports[(8443, "tls-passthrough")]
        client = certs.client_context()  # verifies the backend's own certificate: untouched TLS
        assert tls_line(port, "one.example.com", client, b"hi") == b"one one.example.com hi\n"
        assert tls_line(port, "two.example.com", client, b"yo") == b"two two.example.com yo\n"
        assert refused(port, "three.example.com", client)          # no route: closed
        # a client that sends no TLS at all: closed without an answer
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(100) == b""
        records = running.wait_records(4)
    finally:
        running.close()
        one.close()
        two.close()
    by_sni = {r.sni: r for r in records}
    assert by_sni["one.example.com"].status == 200 and by_sni["one.example.com"].backend == "ns/one:1"
    assert by_sni["two.example.com"].status == 200
    assert by_sni["three.example.com"].status == 404
    assert by_sni[None].status == 400 and "ClientHello" in by_sni[None].error
    assert all(r.channel == "tls-passthrough" for r in records)
    assert by_sni["one.example.com"].bytes_received > 200  # the hello went upstream too


def test_tcp_splice_echo_with_half_close_and_refusals(certs):
    echo = TCPEcho()
    table = Table(stream=to("echo"))
    proxy = stream_proxy({9000: table, 9001: Table(stream=Decision(status=500))},
                         {"ns/echo:1": echo.url})
    running = Running(proxy, [Binding(PortPlan(9000, "tcp", ()), "127.0.0.1", 0),
                              Binding(PortPlan(9001, "tcp", ()), "127.0.0.1", 0)])
    try:
        port = running.ports[(9000, "tcp")]
        payload = bytes(range(256)) * 4096  # 1 MiB: backpressure both ways
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            got = bytearray()
            sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
            sender.start()
            while True:
                data = s.recv(65536)
                if not data:
                    break
                got += data
            sender.join(10)
        assert bytes(got) == payload  # every byte, in order, and the half-close came back
        with socket.create_connection(("127.0.0.1", running.ports[(9001, "tcp")]), timeout=10) as s:
            assert s.recv(10) == b""   # an invalid backend: closed
        records = running.wait_records(2)
    finally:
        running.close()
        echo.close()
    ok = [r for r in records if r.port == 9000][0]
    assert (ok.status, ok.bytes_received, ok.bytes_sent, ok.channel) == (200, len(payload), len(payload), "tcp")
    bad = [r for r in records if r.port == 9001][0]
    assert bad.status == 500 and bad.error == "invalid backend"


def test_udp_flows_per_client_and_the_flow_limit():
    one, two = UDPEcho("one"), UDPEcho("two")

    class Alternate(Table):  # each new flow is one decision: alternate the backends
        n = 0

        def route_stream(self, protocol=None):
            self.n += 1
            return to("one" if self.n % 2 else "two")
    proxy = stream_proxy({5353: Alternate()}, {"ns/one:1": one.url, "ns/two:1": two.url},
                         Settings(udp_idle_timeout=0.5, max_udp_flows=2))
    running = Running(proxy, [Binding(PortPlan(5353, "udp", ()), "127.0.0.1", 0)])
    port = running.ports[(5353, "udp")]
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    try:
        for c in clients:
            c.settimeout(2)
        answers = []
        for i, c in enumerate(clients[:2]):
            for j in range(3):
                c.sendto(b"q%d-%d" % (i, j), ("127.0.0.1", port))
                answers.append(c.recvfrom(100))
        # a flow keeps its backend: client 0 -> one, client 1 -> two; answers from the listener
        assert [a for a, _ in answers] == [b"one q0-0", b"one q0-1", b"one q0-2",
                                          b"two q1-0", b"two q1-1", b"two q1-2"]
        assert all(addr == ("127.0.0.1", port) for _, addr in answers)
        assert len(set(one.seen)) == 1 and len(set(two.seen)) == 1  # one upstream socket per flow
        clients[2].sendto(b"third", ("127.0.0.1", port))          # a third client: over the limit
        with pytest.raises(socket.timeout):
            clients[2].recvfrom(100)
        records = running.wait_records(2, timeout=5)              # both flows end when idle
        assert len(records) == 2
        clients[2].sendto(b"again", ("127.0.0.1", port))          # room again: a new flow
        assert clients[2].recvfrom(100)[0] == b"one again"
    finally:
        running.close()
        for c in clients:
            c.close()
        one.close()
        two.close()
    assert sorted((r.status, r.bytes_received, r.bytes_sent) for r in records[:2]) == [
        (200, 12, 24), (200, 12, 24)]


def test_https_certificate_by_sni_and_421_for_another_listeners_host(certs):
    router = Router.from_source(HTTPS_CONFIG)
    upstream = HTTPSUpstream("v1", certs.server_context("up", "v1.internal"))
    upstream_plain = TCPEcho()  # never reached
    store = CertificateStore([
        ("a.example.com", server_context(*[p.read_bytes() for p in certs.issue("a", "a.example.com")], "a")),
        ("b.example.com", server_context(*[p.read_bytes() for p in certs.issue("b", "b.example.com")], "b")),
    ], alpn=("http/1.1",))
    proxy = Proxy(router, lambda r: r.gateway("gw", "infra", 443), {},
                  selects={443: lambda r: r.gateway("gw", "infra", 443)})
    running = Running(proxy, [Binding(PortPlan(443, "https", ()), "127.0.0.1", 0, store)])
    port = running.ports[(443, "https")]
    client = certs.client_context()   # check_hostname: the certificate must be the SNI's
    try:
        for sni in ("a.example.com", "b.example.com"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with client.wrap_socket(raw, server_hostname=sni) as tls:
                    names = [v for k, v in tls.getpeercert()["subjectAltName"]]
                    assert names == [sni]
                    other = "b.example.com" if sni == "a.example.com" else "a.example.com"
                    tls.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                                % other.encode())
                    reply = read_all(tls)
                    assert reply.startswith(b"HTTP/1.1 421 Misdirected Request\r\n"), reply
        records = running.wait_records(2)
    finally:
        running.close()
        upstream.close()
        upstream_plain.close()
    assert [r.status for r in records] == [421, 421]


def test_backend_tls_policy_on_a_tcp_listener_verifies_the_backend(certs, tmp_path):
    backend = TLSEcho("secure", certs.server_context("secure", "secure.internal"))
    (tmp_path / "other").mkdir()
    other_ca = Certs(tmp_path / "other")

    @attrs.frozen
    class Policy:  # the shape of decision.backend_tls
        policy: str = "ns/p"
        hostname: str = "secure.internal"
        ca_certificate_refs: tuple = ()
        well_known_ca_certificates: object = None
        subject_alt_names: tuple = ()

    good = BackendTLS(Policy(), certs.ca.cert_pem.bytes().decode())
    wrong_ca = BackendTLS(Policy(), other_ca.ca.cert_pem.bytes().decode())
    wrong_name = BackendTLS(Policy(hostname="other.internal"), certs.ca.cert_pem.bytes().decode())
    san_ok = BackendTLS(Policy(hostname="x.internal", subject_alt_names=(("Hostname", "secure.internal"),)),
                        certs.ca.cert_pem.bytes().decode())
    san_bad = BackendTLS(Policy(subject_alt_names=(("URI", "spiffe://x/y"),)),
                         certs.ca.cert_pem.bytes().decode())
    tables = {p: Table(stream=to("secure")) for p in range(7000, 7005)}
    policies = dict(zip(range(7000, 7005), (good, wrong_ca, wrong_name, san_ok, san_bad)))
    proxy = stream_proxy(tables, {"ns/secure:1": backend.url})
    bindings = [Binding(PortPlan(p, "tcp", ()), "127.0.0.1", 0) for p in tables]
    running = Running(proxy, bindings)
    try:
        results = {}
        for p in tables:
            proxy.backend_tls = lambda decision, tls=policies[p]: tls
            with socket.create_connection(("127.0.0.1", running.ports[(p, "tcp")]), timeout=10) as s:
                s.sendall(b"ping\n")
                results[p] = s.recv(100)
        records = running.wait_records(5)
    finally:
        running.close()
        backend.close()
    assert results[7000] == b"secure secure.internal ping\n"    # SNI = the policy's hostname
    assert results[7003] == b"secure x.internal ping\n"         # SAN authenticates; hostname is SNI
    for p in (7001, 7002, 7004):
        assert results[p] == b""                                # refused: closed
    errors = {r.port: r.error for r in records}
    assert errors[7000] is None and errors[7003] is None
    assert errors[7001] == "upstream tls: unable to get local issuer certificate"
    assert errors[7002].startswith("upstream tls: Hostname mismatch")
    assert errors[7004].startswith("upstream tls: certificate subjectAltNames DNS:secure.internal")
    assert errors[7004].endswith("match none of the policy's")


def test_backend_tls_policy_for_http_proxying_through_the_pool(certs, tmp_path):
    """An HTTP request whose backend has a policy goes over TLS verified as the policy says (the
    pool's connections); a CA that does not match gives 502 and the upstream never sees it."""
    upstream = HTTPSUpstream("v1", certs.server_context("v1", "v1.internal"))
    (tmp_path / "other").mkdir()
    other = Certs(tmp_path / "other")

    @attrs.frozen
    class Policy:
        policy: str = "shop/p"
        hostname: str = "v1.internal"
        ca_certificate_refs: tuple = ()
        well_known_ca_certificates: object = None
        subject_alt_names: tuple = ()

    router = Router.from_source(HTTPS_CONFIG)
    select = lambda r: r.gateway("gw", "infra", 443)  # noqa: E731
    proxy = Proxy(router, select, {"shop/v1:80": upstream.url}, selects={443: select})
    running = Running(proxy, [Binding(PortPlan(443, "http", ()), "127.0.0.1", 0)])
    port = running.ports[(443, "http")]
    replies = []
    try:
        for ca in (certs, other):
            tls = BackendTLS(Policy(), ca.ca.cert_pem.bytes().decode())
            proxy.backend_tls = lambda decision, tls=tls: tls
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n")
                replies.append(read_all(s))
        records = running.wait_records(2)
    finally:
        running.close()
        upstream.close()
    assert replies[0].startswith(b"HTTP/1.1 200 OK\r\n") and replies[0].endswith(b"v1 sni=v1.internal")
    assert replies[1].startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert upstream.seen == ["v1.internal"]   # the refused handshake never completed upstream
    assert records[1].error == "upstream tls: unable to get local issuer certificate"


def test_stream_connections_get_an_access_line_and_metrics():
    import logging

    from routecore._serve.admin import Metrics
    from routecore._serve.ops import AccessLog
    from routecore._serve.stream import Connection

    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())
    logger = logging.getLogger("test.stream.access")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    metrics = Metrics(generation=0, version="t", native=False)
    echo = TCPEcho()
    proxy = stream_proxy({9000: Table(stream=to("echo", route="ns/tcp"))}, {"ns/echo:1": echo.url})
    running = Running(proxy, [Binding(PortPlan(9000, "tcp", ()), "127.0.0.1", 0)])
    proxy.observers = (AccessLog("text", logger), AccessLog("json", logger), metrics.observe,
                       running.records.append)
    try:
        with socket.create_connection(("127.0.0.1", running.ports[(9000, "tcp")]), timeout=10) as s:
            s.sendall(b"abc\"\n")
            assert s.recv(10) == b"abc\"\n"
        running.wait_records(1)
    finally:
        running.close()
        echo.close()
    text, js = lines
    assert text.startswith('127.0.0.1 "TCP port=9000 sni=-" 200 listener=l route=ns/tcp '
                           'backend=ns/echo:1 bytes_in=5 bytes_out=5 upstream_ms=')
    import json
    record = json.loads(js)
    assert (record["channel"], record["port"], record["status"], record["bytes_received"]) == (
        "tcp", 9000, 200, 5)
    from routecore._cli.diff import parse_line
    assert parse_line(text) is None and parse_line(js) is None  # not requests for `routecore diff`
    body, _ = metrics.render()
    assert b'routecore_connections_total{backend="ns/echo:1",channel="tcp",code="200",route="ns/tcp"} 1.0' in body
    assert b'routecore_connection_bytes_total{channel="tcp",direction="in"} 5.0' in body
    refused_record = Connection("tls-passthrough", 443, "127.0.0.1")
    refused_record.status, refused_record.error = 502, "upstream tls: Hostname mismatch"
    metrics.observe(refused_record)
    body, _ = metrics.render()
    assert b'routecore_request_errors_total{reason="upstream_tls"} 1.0' in body


def test_hello_timeout_idle_timeout_and_an_oversized_hello():
    echo = TCPEcho()
    proxy = stream_proxy({1: Table(), 2: Table(stream=to("echo"))}, {"ns/echo:1": echo.url},
                         Settings(header_timeout=0.3, stream_idle_timeout=0.3))
    running = Running(proxy, [Binding(PortPlan(1, "tls-passthrough", ()), "127.0.0.1", 0),
                              Binding(PortPlan(2, "tcp", ()), "127.0.0.1", 0)])
    try:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", running.ports[(1, "tls-passthrough")]),
                                      timeout=10) as s:
            s.sendall(b"\x16\x03\x01\x00\x04\x01\x00")     # a hello that never completes
            assert s.recv(10) == b""
        with socket.create_connection(("127.0.0.1", running.ports[(1, "tls-passthrough")]),
                                      timeout=10) as s:
            s.sendall(b"\x16\x03\x01\x00\x04\x01\x01\x00\x01")  # announces 65,537 bytes
            assert s.recv(10) == b""
        with socket.create_connection(("127.0.0.1", running.ports[(1, "tls-passthrough")]),
                                      timeout=10) as s:
            s.sendall(b"\x16\x03\x01\x00\x04\x01")     # half a hello, then EOF: closed at once
            s.shutdown(socket.SHUT_WR)
            assert s.recv(10) == b""
        with socket.create_connection(("127.0.0.1", running.ports[(2, "tcp")]), timeout=10) as s:
            s.sendall(b"x")
            assert s.recv(10) == b"x"
            assert s.recv(10) == b""                        # then nothing moves: closed
        assert time.monotonic() - started < 5
        records = running.wait_records(4)
    finally:
        running.close()
        echo.close()
    assert sorted((r.status, r.error) for r in records) == [
        (200, "idle timeout"), (400, "bad request: invalid ClientHello (ClientHello larger than "
                                     "65536 bytes)"),
        (400, "bad request: the client closed before its ClientHello was whole"),
        (408, "client hello timeout")]


def _client_hello(name: bytes, extensions: bytes = b"") -> bytes:
    """A TLS 1.3 ClientHello handshake message for SNI ``name``, with ``extensions`` after the
    server_name one (no record framing)."""
    import struct

    sni = b"\x00\x00" + struct.pack("!H", len(name) + 5) + struct.pack("!H", len(name) + 3) \
        + b"\x00" + struct.pack("!H", len(name)) + name
    exts = sni + extensions
    body = (b"\x03\x03" + b"\x07" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
            + struct.pack("!H", len(exts)) + exts)
    return b"\x01" + struct.pack("!I", len(body))[1:] + body


def test_passthrough_forwards_a_large_fragmented_hello_byte_for_byte():
    """A ClientHello just under the 64 KiB limit (a padding extension) in 100-byte records
    (more than 64 KiB on the wire, the read-ahead limit of a decided connection), and bytes
    after it: the
    backend (an echo) gets exactly what the client sent, so the client reads it all back."""
    import struct

    padding = b"\x00\x15" + struct.pack("!H", 65400) + b"\x00" * 65400
    message = _client_hello(b"big.example.com", padding)
    wire = b"".join(b"\x16\x03\x01" + struct.pack("!H", len(message[i:i + 100]))
                    + message[i:i + 100] for i in range(0, len(message), 100))
    assert len(wire) > 65536 and len(message) - 4 <= 65536
    wire += b"\x17\x03\x03\x00\x05after"
    echo = TCPEcho()
    proxy = stream_proxy({443: Table({"big.example.com": to("echo")})}, {"ns/echo:1": echo.url})
    running = Running(proxy, [Binding(PortPlan(443, "tls-passthrough", ()), "127.0.0.1", 0)])
    try:
        with socket.create_connection(("127.0.0.1", running.ports[(443, "tls-passthrough")]),
                                      timeout=10) as s:
            for i in range(0, len(wire), 1000):  # in small writes, read one by one
                s.sendall(wire[i:i + 1000])
                time.sleep(0.003)
            s.shutdown(socket.SHUT_WR)
            assert read_all(s) == wire
        records = running.wait_records(1)
    finally:
        running.close()
        echo.close()
    assert (records[0].sni, records[0].status, records[0].bytes_received) == (
        "big.example.com", 200, len(wire))


def test_bytes_and_a_half_close_arriving_while_the_upstream_connects_keep_their_order(monkeypatch):
    """The upstream's transport exists (its protocol's connection_made) one loop step before the
    splice is linked. Bytes and a half-close the client sends in that step are passed on after
    what came before them, not ahead of it (they used to be written at once, and the half-close
    before the held ClientHello, which was then lost). The step is made to carry them by
    delivering them from connection_made itself; the sockets, proxy and echo are real."""
    import struct

    from routecore._serve import stream

    message = _client_hello(b"late.example.com")
    hello = b"\x16\x03\x01" + struct.pack("!H", len(message)) + message
    made = stream._Upstream.connection_made

    def connection_made(self, transport):
        made(self, transport)
        self.splice.data_received(b"late bytes")   # as if they arrived in that loop step
        self.splice.eof_received()

    monkeypatch.setattr(stream._Upstream, "connection_made", connection_made)
    echo = TCPEcho()
    proxy = stream_proxy({443: Table({"late.example.com": to("echo")})}, {"ns/echo:1": echo.url})
    running = Running(proxy, [Binding(PortPlan(443, "tls-passthrough", ()), "127.0.0.1", 0)])
    try:
        with socket.create_connection(("127.0.0.1", running.ports[(443, "tls-passthrough")]),
                                      timeout=10) as s:
            s.sendall(hello)
            assert read_all(s) == hello + b"late bytes"  # in order, and the half-close came back
        records = running.wait_records(1)
    finally:
        running.close()
        echo.close()
    assert (records[0].status, records[0].error, records[0].bytes_sent) == (
        200, None, len(hello) + len(b"late bytes"))
