"""`routecore serve` over loopback: throughput and p50/p99 latency against a direct connection to
the same upstream, and against the same proxy with routing bypassed (``--bypass-routing``: every
request goes to one fixed upstream without calling route()), so the cost of routing inside the
proxy is a measured figure.

The upstream is a raw asyncio (uvloop when installed) HTTP/1.1 server in its own process that
answers every request with a fixed 200; the load is CONNECTIONS concurrent keep-alive raw-socket
clients in this process, each sending its share of the requests one after the other. Under
``--benchmark-disable`` (CI smoke) a few hundred requests run; ``--benchmark-only`` runs
REQUESTS and prints requests/s, p50 and p99 (run with ``-s`` to see the table).

    pytest bench/test_bench_serve.py --benchmark-only -s
"""
import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

CONNECTIONS = 16
REQUESTS = 20000
SMOKE_REQUESTS = 400

UPSTREAM = r"""
import asyncio, sys
try:
    import uvloop; loop = uvloop.new_event_loop()
except ImportError:
    loop = asyncio.new_event_loop()
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n"

class P(asyncio.Protocol):
    def connection_made(self, t):
        self.t = t
        self.buf = b""
    def data_received(self, data):
        self.buf += data
        n = self.buf.count(b"\r\n\r\n")  # bodiless requests only
        if n:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4:]
            self.t.write(RESPONSE * n)

server = loop.run_until_complete(loop.create_server(P, "127.0.0.1", int(sys.argv[1]), backlog=1024))
loop.run_forever()
"""

CONFIG = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: routecore
  listeners: [{name: web, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: shop}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-canary, value: "on"}]}]
    backendRefs: [{name: v2, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: v1, port: 80}]
  - matches: [{path: {type: Exact, value: /}}]
    backendRefs: [{name: v1, port: 80}]
"""

REQUEST = (b"GET /api/items/42?x=1 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: bench\r\n"
           b"Accept: */*\r\n\r\n")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port, proc):
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(port)


class _Proc:
    def __init__(self, args, port, **popen):
        self.port = port
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     **popen)
        _wait(port, self.proc)

    def cpu_seconds(self):
        """User + system CPU time of the process so far (robust to a loaded machine)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    up_port = _free_port()
    upstream = _Proc([sys.executable, "-c", UPSTREAM, str(up_port)], up_port)
    config = tmp_path_factory.mktemp("bench-serve") / "config.yaml"
    config.write_text(CONFIG)
    url = f"http://127.0.0.1:{up_port}"
    common = [sys.executable, "-m", "routecore", "serve", str(config), "--gateway", "infra/gw:80",
              "--upstream", f"shop/v1:80={url}", "--upstream", f"shop/v2:80={url}"]
    routed_port, bypass_port = _free_port(), _free_port()
    routed = _Proc(common + ["--listen", f"127.0.0.1:{routed_port}"], routed_port)
    bypass = _Proc(common + ["--listen", f"127.0.0.1:{bypass_port}", "--bypass-routing", url],
                   bypass_port)
    # the access log goes to /dev/null above; it is still formatted per request (as in production)
    yield {"direct": (up_port, None), "proxy-bypass": (bypass_port, bypass),
           "proxy": (routed_port, routed)}
    for p in (routed, bypass, upstream):
        p.stop()


async def _client(port, count, latencies):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(count):
        t0 = time.perf_counter()
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        i = head.find(b"Content-Length: ")
        length = int(head[i + 16:head.index(b"\r\n", i)])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - t0)
    writer.close()


def load(port, total):
    """(requests/s, p50 ms, p99 ms) of ``total`` requests over CONNECTIONS connections."""
    latencies = []

    async def main():
        per = total // CONNECTIONS
        await asyncio.gather(*(_client(port, per, latencies) for _ in range(CONNECTIONS)))

    t0 = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    return n / elapsed, latencies[n // 2] * 1000, latencies[min(n - 1, int(n * 0.99))] * 1000


RESULTS = {}


@pytest.mark.parametrize("target", ["direct", "proxy-bypass", "proxy"])
def test_serve_throughput(benchmark, targets, target):
    total = SMOKE_REQUESTS if benchmark.disabled else REQUESTS
    port, proc = targets[target]
    load(port, CONNECTIONS * 20)  # warm up: connections and pools
    out = {}

    def run():
        cpu = proc.cpu_seconds() if proc else 0.0
        out["r"] = load(port, total)
        out["cpu"] = (proc.cpu_seconds() - cpu) if proc else None

    benchmark.pedantic(run, rounds=1, iterations=1)
    rps, p50, p99 = out["r"]
    assert rps > 0
    cpu_us = None if out["cpu"] is None else out["cpu"] / total * 1e6
    benchmark.extra_info.update({"requests": total, "connections": CONNECTIONS,
                                 "requests_per_s": round(rps), "p50_ms": round(p50, 3),
                                 "p99_ms": round(p99, 3), "proxy_cpu_us_per_request": cpu_us})
    RESULTS[target] = (rps, p50, p99, cpu_us)
    cpu_text = "" if cpu_us is None else f"  proxy CPU {cpu_us:6.1f} us/request"
    print(f"\n{target:>13}: {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms{cpu_text} "
          f"({total} requests, {CONNECTIONS} connections, {os.cpu_count()} cpus)")
    if target == "proxy" and "proxy-bypass" in RESULTS:
        b = RESULTS["proxy-bypass"]
        print(f"  routing inside the proxy: {cpu_us - b[3]:+.1f} us of proxy CPU per request; "
              f"p50 {p50 - b[1]:+.3f} ms, throughput {rps / b[0] - 1:+.1%}")
