"""Per-call cost of ``view.route_tls(sni)`` and ``view.route_stream()``, both twins: one TLS
passthrough listener with N TLSRoutes (exact and wildcard hostnames), 256 SNIs (hits on exact
names, on wildcards, ~10% misses) per benchmark call."""
import pytest

import routecore

SIZES = (10, 1000)


def _objects(n):
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "b"},
          "spec": {"gatewayClassName": "x", "listeners": [
              {"name": "tls", "port": 443, "protocol": "TLS", "tls": {"mode": "Passthrough"}},
              {"name": "tcp", "port": 9000, "protocol": "TCP"}]}}
    objs = [gw]
    for i in range(n):
        host = f"h{i}.example.com" if i % 2 == 0 else f"*.w{i}.example.com"
        objs.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "TLSRoute",
                     "metadata": {"name": f"r{i}", "namespace": "b"},
                     "spec": {"parentRefs": [{"name": "gw"}], "hostnames": [host],
                              "rules": [{"backendRefs": [{"name": f"s{i}", "port": 443}]}]}})
    objs.append({"apiVersion": "gateway.networking.k8s.io/v1alpha2", "kind": "TCPRoute",
                 "metadata": {"name": "t", "namespace": "b"},
                 "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "t", "port": 1}]}]}})
    snis = []
    for k in range(256):
        i = (k * 7919) % n
        if k % 10 == 9:
            snis.append(f"miss{k}.example.org")
        elif i % 2 == 0:
            snis.append(f"h{i}.example.com")
        else:
            snis.append(f"a.b.w{i}.example.com")
    return objs, snis


CASES = [(twin, n) for twin in ("native", "python") for n in SIZES]


@pytest.mark.parametrize("twin,n", CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_route_tls(benchmark, twin, n):
    objs, snis = _objects(n)
    if twin == "native" and not routecore.NATIVE:
        pytest.skip("native core not built")
    view = routecore.Router(routecore.load(objs), seed=1, native=twin == "native").gateway("gw", "b", 443)
    assert view.route_tls(snis[0]).matched

    def run():
        for sni in snis:
            view.route_tls(sni)

    benchmark(run)


@pytest.mark.parametrize("twin", ["native", "python"])
def test_route_stream(benchmark, twin):
    objs, _ = _objects(10)
    if twin == "native" and not routecore.NATIVE:
        pytest.skip("native core not built")
    view = routecore.Router(routecore.load(objs), seed=1, native=twin == "native").gateway("gw", "b", 9000)
    assert view.route_stream().matched

    def run():
        for _ in range(256):
            view.route_stream()

    benchmark(run)
