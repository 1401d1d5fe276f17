"""What one proxied request costs `routecore serve` itself, without sockets or a shared machine's
scheduling: the real ClientConnection, Proxy and UpstreamConnection code on a uvloop loop, with
in-memory transports. 16 client connections each send the request of bench/test_bench_proxies.py
again as soon as its response is written; the upstream answers what the static nginx upstream
answers, in the loop's next iteration.

    python bench/proxy_cost.py                  # CPU microseconds per request (best round)
    python bench/proxy_cost.py --quiet          # the same without the access log
    python bench/proxy_cost.py --callgrind      # instructions per request under callgrind
                                                # (two runs, 200 and 2,200 requests: the slope)

``PYTHONPATH=DIR`` measures the checkout in DIR (its native extension built), for before/after.
Under callgrind the access log's once-a-second timestamp formatting is spread over far fewer
lines than in real time: compare checkouts with each other, not with the CPU figures.
"""
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time

import uvloop

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_bench_serve import CONFIG  # noqa: E402

from routecore._config.load import load  # noqa: E402
from routecore._router import Router  # noqa: E402
from routecore._serve.ops import configure_logging  # noqa: E402
from routecore._serve.proxy import Proxy  # noqa: E402
from routecore._serve.upstream import UpstreamConnection  # noqa: E402

CONNECTIONS = 16
REQUEST = b"GET /api/items/42?x=1 HTTP/1.1\r\nHost: shop.example.com\r\n\r\n"  # as wrk sends it
RESPONSE = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 30 Nov 2026 23:50:00 GMT\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n"
            b"hello, world\n")


class _Transport:
    """The part of an asyncio transport the proxy uses; writes go to ``on_write(parts)``."""

    def __init__(self, on_write):
        self.on_write = on_write
        self.closing = False

    def write(self, data):
        self.on_write((data,))

    def writelines(self, parts):
        self.on_write(tuple(parts))

    def is_closing(self):
        return self.closing

    def close(self):
        self.closing = True

    abort = close

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def pause_reading(self):
        pass

    resume_reading = pause_reading


async def run(count, rounds, per_round):
    """``count`` requests, or (count None) ``rounds`` rounds of ``per_round``: the best round's
    CPU seconds per request."""
    loop = asyncio.get_running_loop()
    path = os.path.join(tempfile.mkdtemp(), "config.yaml")
    with open(path, "w") as f:
        f.write(CONFIG)
    proxy = Proxy(Router(load(path)), lambda r: r.gateway("gw", namespace="infra", port=80),
                  {"shop/v1:80": "http://127.0.0.1:9", "shop/v2:80": "http://127.0.0.1:9"})
    proxy.start(loop)
    answered = [0]
    pool = proxy.pools["shop/v1:80"]
    clients = []
    for _ in range(CONNECTIONS):
        client = proxy.protocol()

        def written(parts, client=client):
            if parts[-1].endswith(b"hello, world\n"):
                answered[0] += 1
                loop.call_soon(client.data_received, REQUEST)  # the next request, as wrk does

        client.connection_made(_Transport(written))
        clients.append(client)
        up = UpstreamConnection(pool)
        up.connection_made(_Transport(lambda parts, up=up: loop.call_soon(up.data_received, RESPONSE)))
        pool.idle.append(up)
    for client in clients:
        client.data_received(REQUEST)
    if count is not None:
        while answered[0] < count:
            await asyncio.sleep(0)
        return None
    best = float("inf")
    for _ in range(rounds):
        start, cpu = answered[0], time.process_time()
        while answered[0] - start < per_round:
            await asyncio.sleep(0)
        best = min(best, (time.process_time() - cpu) / (answered[0] - start))
    return best


def callgrind(quiet):
    """Instructions per request: the slope between 200 and 2,200 requests."""
    ir = []
    for count in (200, 2200):
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                              sys.executable, __file__, "--count", str(count)]
                             + (["--quiet"] if quiet else []),
                             capture_output=True, text=True, check=True).stderr
        ir.append(int(re.search(r"Collected : (\d+)", out).group(1)))
    return (ir[1] - ir[0]) / 2000


def main(argv):
    quiet = "--quiet" in argv
    if "--callgrind" in argv:
        print(f"{'no access log' if quiet else 'access log'}: {callgrind(quiet):,.0f} "
              f"instructions per request")
        return
    configure_logging("warning" if quiet else "info", "text", stream=open(os.devnull, "w"))
    count = int(argv[argv.index("--count") + 1]) if "--count" in argv else None
    best = uvloop.run(run(count, rounds=8, per_round=20000))
    if best is not None:
        print(f"{'no access log' if quiet else 'access log'}: {best * 1e6:.1f} us CPU per request "
              f"(best of 8 rounds of 20,000)")


if __name__ == "__main__":
    main(sys.argv[1:])
