"""`routecore serve` beside nginx and HAProxy as reverse proxies, on the same static upstream
(nginx answering from memory when it is installed, else bench/test_bench_serve.py's Python
server), loaded by wrk: 1 thread, CONNECTIONS keep-alive connections, the same request. nginx runs
one worker, HAProxy one thread; each proxy pools its upstream connections. routecore runs twice:
as it runs by default (one access-log line per request) and with ``--log-level warning`` (no
access log, as the nginx here). A proxy or wrk that is not installed is skipped, and the skip says
so (Debian: ``apt-get install nginx haproxy wrk``).

    pytest bench/test_bench_proxies.py --benchmark-only -s

prints requests/s, p50 and p99 per proxy and routecore's throughput as a share of nginx's (the
issue's target: at least 20 %, p99 at most 10 ms). Under --benchmark-disable each runs 1 s.
It also prints the CPU time (user + system, the proxy's processes: nginx's worker included)
per request: on a machine shared with other work, throughput and latency follow the scheduler,
while the CPU a request costs is the proxy's own (``cpu share of nginx`` is nginx's CPU per
request over the proxy's: the throughput share a core of its own would give).

``ROUTECORE_BENCH_BASELINE=DIR`` adds ``routecore-baseline``: the `routecore serve` of another
checkout (DIR holds its importable ``routecore`` package, native extension built), measured in
the same run, for before/after figures, e.g.::

    git archive <commit> routecore | tar -x -C /tmp/base && cp routecore/_match_c*.so /tmp/base/routecore/
    ROUTECORE_BENCH_BASELINE=/tmp/base pytest bench/test_bench_proxies.py --benchmark-only -s
"""
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from test_bench_serve import CONFIG, UPSTREAM, _free_port, _Proc

CONNECTIONS = 16
SECONDS = 10
PATH = "/api/items/42?x=1"
HOST = "shop.example.com"

# one nginx worker, no access log, its temporary files in the test's directory
_NGINX_HTTP = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
"""

NGINX = _NGINX_HTTP + """
    upstream up {{ server 127.0.0.1:{up}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""

HAPROXY = """
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:{up}
"""


def _need(binary):
    path = shutil.which(binary) or shutil.which(f"/usr/sbin/{binary}")
    if path is None:
        pytest.skip(f"{binary} is not installed (apt-get install {binary}): not measured")
    return path


STATIC = _NGINX_HTTP + """
    keepalive_requests 10000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type text/plain; return 200 "hello, world\\n"; }}
    }}
}}
"""


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """The static upstream every proxy forwards to: nginx answering from memory (one worker) when
    nginx is installed, else test_bench_serve's Python server (the printout says which)."""
    port = _free_port()
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx:
        tmp = tmp_path_factory.mktemp("static")
        conf = tmp / "static.conf"
        conf.write_text(textwrap.dedent(STATIC.format(tmp=tmp, port=port)))
        proc = _Proc([nginx, "-p", str(tmp), "-c", str(conf)], port)
    else:
        proc = _Proc([sys.executable, "-c", UPSTREAM, str(port)], port)
    print(f"\nupstream: {'nginx (static)' if nginx else 'Python (uvloop), nginx is not installed'}")
    yield port
    proc.stop()


def _start(name, up, tmp):
    port = _free_port()
    if name == "nginx":
        conf = tmp / "nginx.conf"
        conf.write_text(textwrap.dedent(NGINX.format(tmp=tmp, up=up, port=port)))
        return _Proc([_need("nginx"), "-p", str(tmp), "-c", str(conf)], port)
    if name == "haproxy":
        conf = tmp / "haproxy.cfg"
        conf.write_text(HAPROXY.format(up=up, port=port))
        return _Proc([_need("haproxy"), "-f", str(conf), "-db"], port)
    config = tmp / "config.yaml"
    config.write_text(CONFIG)
    url = f"http://127.0.0.1:{up}"
    popen = {}
    if name == "routecore-baseline":  # run from DIR, so that DIR's routecore is imported
        base = os.path.abspath(BASELINE)
        popen = {"cwd": base, "env": {**os.environ, "PYTHONPATH": base}}
    quiet = ["--log-level", "warning"] if name == "routecore-no-access-log" else []
    return _Proc([sys.executable, "-m", "routecore", "serve", str(config), "--gateway", "infra/gw:80",
                  "--upstream", f"shop/v1:80={url}", "--upstream", f"shop/v2:80={url}",
                  "--listen", f"127.0.0.1:{port}", *quiet], port, **popen)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` and its live descendants (nginx's worker)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):  # gone meanwhile
            pass
    return total


def wrk(port, seconds):
    """(requests/s, p50 ms, p99 ms, non-2xx responses) of one wrk run."""
    out = subprocess.run([_need("wrk"), "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
                          "-H", f"Host: {HOST}", f"http://127.0.0.1:{port}{PATH}"],
                         capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: float(v) * _UNITS[u] for p, v, u in
           re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, lat["50"], lat["99"], int(bad.group(1)) if bad else 0


RESULTS = {}
CPU = {}  # proxy: CPU seconds per request


BASELINE = os.environ.get("ROUTECORE_BENCH_BASELINE")


@pytest.mark.parametrize("proxy", ["nginx", "haproxy", "routecore", "routecore-no-access-log"] + (
    ["routecore-baseline"] if BASELINE else []))
def test_proxy_throughput(benchmark, upstream, tmp_path, proxy):
    _need("wrk")
    proc = _start(proxy, upstream, tmp_path)
    try:
        seconds = 1 if benchmark.disabled else SECONDS
        wrk(proc.port, 1)  # warm up: connections, pools
        out = {}
        cpu = _cpu_seconds(proc.proc.pid)
        benchmark.pedantic(lambda: out.update(r=wrk(proc.port, seconds)), rounds=1, iterations=1)
        cpu = _cpu_seconds(proc.proc.pid) - cpu
    finally:
        proc.stop()
    rps, p50, p99, bad = out["r"]
    assert bad == 0, f"{proxy}: {bad} responses were not 2xx"
    RESULTS[proxy] = rps
    CPU[proxy] = cpu / (rps * seconds)
    benchmark.extra_info.update(proxy=proxy, requests_per_s=round(rps), p50_ms=p50, p99_ms=p99,
                                connections=CONNECTIONS, cpu_us_per_request=CPU[proxy] * 1e6)
    share = (f"  ({rps / RESULTS['nginx']:.1%} of nginx; cpu share of nginx "
             f"{CPU['nginx'] / CPU[proxy]:.1%})" if "nginx" in RESULTS else "")
    print(f"\n{proxy:>24}: {rps:9.0f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  "
          f"cpu {CPU[proxy] * 1e6:6.1f} us/request{share}")
