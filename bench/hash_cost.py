"""Instructions per byte of the native core's target and Host passes (issue 15, item 3: "the
target and host passes cost <= 3 instructions per byte, with the boundary hashes the prefix maps
need"), counted under callgrind inside ``route()`` (the ``rc_route`` entry point) alone.

    python bench/hash_cost.py

One Gateway listener with a wildcard hostname and a route whose rules are PathPrefix ``/`` plus
an Exact path and a few PathPrefix paths (so the path maps and the wildcard host map are probed
as in real tables), and a route whose exact hostnames have the lengths of the measured Hosts
(so every request hashes its whole Host for the exact map, and misses, before the wildcard). Each shape routes the same request 512 times at a short and at a long
length (hosts: 64 and 240, targets: 64 and 1,024), and the slope (instructions of the long minus the short, over the bytes added) is the
cost per byte of that pass, every boundary hash included:

- target, one segment: ``/`` + letters (no boundary inside);
- target, 8-byte segments: ``/abcdefg`` repeated (a prefix-map boundary every 8 bytes);
- host, 8-byte labels: ``abcdefg.`` repeated before ``example.com`` (a wildcard-map boundary
  every 8 bytes).
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CALLS = 512
LENGTHS = {"target": (64, 1024), "host": (64, 240)}  # (a Host name is at most 253 characters)


def request(shape, length):
    """(path, host) of ``shape`` with the measured part ``length`` bytes long."""
    if shape == "target-segment":
        return "/" + "a" * (length - 1), "www.example.com"
    if shape == "target-8":
        return ("/abcdefg" * (length // 8))[:length], "www.example.com"
    if shape == "host-8":
        return "/index.html", ("abcdefg." * (length // 8))[:length] + "example.com"
    raise SystemExit(f"unknown shape {shape}")


CONFIG = [
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
     "metadata": {"name": "gw", "namespace": "infra"},
     "spec": {"gatewayClassName": "routecore", "listeners": [
         {"name": "web", "port": 80, "protocol": "HTTP",
          "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
     "metadata": {"name": "r", "namespace": "infra"},
     "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["*.example.com"],
              "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": p}}],
                         "backendRefs": [{"name": "svc", "port": 80}]}
                        for p in ("/", "/api", "/abcdefg/abcdefg", "/static/assets")]
              + [{"matches": [{"path": {"type": "Exact", "value": "/healthz"}}],
                  "backendRefs": [{"name": "svc", "port": 80}]}]}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
     "metadata": {"name": "exact", "namespace": "infra"},
     "spec": {"parentRefs": [{"name": "gw"}],
              "hostnames": ["api.example.com"] + ["x" + request("host-8", n)[1][1:]
                                                  for n in LENGTHS["host"]],
              "rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "infra"},
     "spec": {"ports": [{"port": 80}]}},
]


SHAPES = ("target-segment", "target-8", "host-8")


def _drive(shape, length):
    """Under callgrind: route the request CALLS times (collection toggled on rc_route)."""
    import routecore
    view = routecore.Router(routecore.load(CONFIG)).gateway("gw", "infra", 80)
    path, host = request(shape, length)
    d = view.route("GET", path, (), host=host)
    assert d.matched and d.route == "infra/r", (shape, length, d.route)
    route = view.route
    for _ in range(CALLS):
        route("GET", path, (), host=host)


def instructions(shape, length):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        "--collect-atstart=no", "--toggle-collect=rc_route",
                        sys.executable, __file__, "--drive", shape, str(length)],
                       check=True, env=dict(os.environ, PYTHONHASHSEED="0"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = out.read_text(errors="replace")
    total = int(re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M).group(1))
    return total / (CALLS + 1)


def main():
    if sys.argv[1:2] == ["--drive"]:
        _drive(sys.argv[2], int(sys.argv[3]))
        return 0
    print(f"{'shape':16} {'bytes':>10} {'Ir':>16} {'Ir/byte':>8}")
    for shape in SHAPES:
        lo, hi = LENGTHS[shape.split("-")[0]]
        short, long = instructions(shape, lo), instructions(shape, hi)
        print(f"{shape:16} {lo:>4} -> {hi:<4} {short:6,.0f} -> {long:<7,.0f} "
              f"{(long - short) / (hi - lo):8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
