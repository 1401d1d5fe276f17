"""Acceptance of `routecore serve --kubernetes` (issue 14): real subprocesses against the Kubernetes
API test server (tests/kubeapi), real backends and clients over 127.0.0.1.

Each test starts the API server with one Gateway (class ours) whose listener port is free, the
Services shop/v1 and shop/v2 (HTTP servers here that answer their own name) and the route shop/r0
to v1; replicas run with short Lease timings so that hand-over takes about 2 s. Every wait is
bounded, every process is stopped (killed if it does not stop) at the end of its test.
"""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kubeapi import KubeAPIServer
from kubeapi.objects import CONTROLLER, GW_API, gateway_class, namespace, route, service
from tls_rig import Certs, TCPEcho, UDPEcho, read_all



LEASE = ["--lease-duration", "2", "--renew-deadline", "1.5", "--retry-period", "0.2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, what="the condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, http.client.HTTPException, KeyError, ValueError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Backend(ThreadingHTTPServer):
    """Answers every GET with its name (after ``delay`` seconds)."""

    daemon_threads = True

    def __init__(self, name, delay=0.0):
        self.name, self.delay = name, delay
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                time.sleep(outer.delay)
                body = outer.name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self):
        self.shutdown()
        self.server_close()


def edge(port, *extra_listeners):
    listeners = [{"name": "web", "port": port, "protocol": "HTTP",
                  "allowedRoutes": {"namespaces": {"from": "All"}}}] + list(extra_listeners)
    return {"apiVersion": GW_API, "kind": "Gateway", "metadata": {"name": "edge", "namespace": "infra"},
            "spec": {"gatewayClassName": "routecore", "listeners": listeners}}


class Rig:
    def __init__(self, tmp_path):
        self.api = KubeAPIServer(bookmark_interval=0.3).start()
        self.kubeconfig = self.api.write_kubeconfig(str(tmp_path / "kubeconfig"))
        self.backends = {n: Backend(n, delay=1.5 if n == "slow" else 0.0) for n in ("v1", "v2", "slow")}
        self.port = free_port()
        self.procs = []
        self.api.apply(gateway_class())
        for ns in ("infra", "shop"):
            self.api.apply(namespace(ns))
        self.api.apply(edge(self.port))
        for name in self.backends:
            self.api.apply(service(name))
        self.api.apply(route("r0"))

    def start(self, *extra, identity="a", admin=None, host="127.0.0.1"):
        """A replica; replicas on one machine listen on different loopback addresses (as pods
        have their own)."""
        admin = admin or free_port()
        cmd = [sys.executable, "-m", "routecore", "serve", "--kubernetes",
               "--kubeconfig", self.kubeconfig, "--listen", host, "--admin",
               f"127.0.0.1:{admin}", "--identity", identity, "--debounce", "0.02",
               "--log-level", "warning", *LEASE]
        for name, b in self.backends.items():
            cmd += ["--upstream", f"shop/{name}:80={b.url}"]
        cmd += list(extra) or ["--gateway", "infra/edge"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        proc.admin = admin
        self.procs.append(proc)
        return proc

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            p.stderr.close()
        for b in self.backends.values():
            b.stop()
        self.api.stop()


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.close()


def get(port, path="/", host="h.example", timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def admin(proc, path):
    return get(proc.admin, path)


def metric(proc, name) -> float:
    for line in admin(proc, "/metrics")[1].splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


def ready(proc):
    wait_for(lambda: admin(proc, "/readyz")[0] == 200, 20, "readiness")


class Load:
    """Requests in a loop from a thread until stopped; counts the answers that are not 200."""

    def __init__(self, port, path="/"):
        self.port, self.path = port, path
        self.ok, self.failed, self.bodies = 0, [], set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                status, body = get(self.port, self.path)
                if status == 200:
                    self.ok += 1
                    self.bodies.add(body)
                else:
                    self.failed.append((status, body))
            except (OSError, http.client.HTTPException) as exc:
                self.failed.append(repr(exc))
            time.sleep(0.005)

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        return self


def our_parent(api, name):
    status = api.get("httproutes", "shop", name).get("status") or {}
    return next((p for p in status.get("parents", ()) if p["controllerName"] == CONTROLLER),
                {"conditions": []})


def conditions(entry):
    return {c["type"]: c for c in entry["conditions"]}


def test_ready_after_sync_then_a_change_is_live_under_load_and_status_is_written(rig):
    proc = rig.start()
    ready(proc)
    assert get(rig.port) == (200, "v1")
    load = Load(rig.port)
    time.sleep(0.3)
    changed = time.monotonic()
    rig.api.apply(route("r0", backend="v2"))
    wait_for(lambda: get(rig.port) == (200, "v2"), 3.0, "the change to be live")
    live_after = time.monotonic() - changed
    time.sleep(0.3)
    load.stop()
    assert live_after < 3.0
    assert load.failed == [] and load.ok > 5 and load.bodies == {"v1", "v2"}
    # status: our entry, conditions for the current generation
    generation = rig.api.get("httproutes", "shop", "r0")["metadata"]["generation"]
    wait_for(lambda: conditions(our_parent(rig.api, "r0"))["Accepted"]["observedGeneration"]
             == generation, 10, "the route's status")
    conds = conditions(our_parent(rig.api, "r0"))
    assert conds["Accepted"]["status"] == "True" and conds["ResolvedRefs"]["status"] == "True"
    assert all(c["observedGeneration"] == generation for c in conds.values())
    gw = rig.api.get("gateways", "infra", "edge")["status"]
    assert gw["listeners"][0]["attachedRoutes"] == 1
    assert {c["type"]: c["status"] for c in gw["conditions"]} == {"Accepted": "True", "Programmed": "True"}
    assert metric(proc, "routecore_kube_synced") == 1
    assert metric(proc, "routecore_kube_status_writes_total") >= 2
    assert metric(proc, 'routecore_kube_watch_connected{kind="HTTPRoute",namespace=""}') == 1
    assert metric(proc, "routecore_kube_sync_lag_seconds") < 3.0
    assert admin(proc, "/healthz")[0] == 200
    # all of it over TLS, the server verified against the kubeconfig's CA, a token sent
    assert rig.api.url.startswith("https://") and rig.api.seen_tokens.get("test-token", 0) > 10


def test_an_invalid_backend_is_resolved_refs_false_and_answers_500(rig):
    proc = rig.start()
    ready(proc)
    rig.api.apply(route("bad", backend="missing", path="/bad"))
    wait_for(lambda: conditions(our_parent(rig.api, "bad"))["ResolvedRefs"]["status"] == "False",
             10, "ResolvedRefs False")
    refs = conditions(our_parent(rig.api, "bad"))["ResolvedRefs"]
    assert refs["reason"] == "BackendNotFound"
    assert get(rig.port, "/bad")[0] == 500
    assert get(rig.port, "/")[1] == "v1"


def test_relist_after_410_reconnect_and_a_five_second_outage_lose_no_request(rig):
    proc = rig.start()
    ready(proc)
    load = Load(rig.port)
    # 410: history compacted while the watches are cut; the change made meanwhile is seen
    rig.api.compact()
    rig.api.cut_watches()
    rig.api.apply(route("r0", backend="v2"))
    rig.api.compact()
    wait_for(lambda: get(rig.port) == (200, "v2"), 15.0, "the change after the relist")
    # dropped watches: reconnect
    rig.api.cut_watches()
    rig.api.apply(route("r0", backend="v1"))
    wait_for(lambda: get(rig.port) == (200, "v1"), 15.0, "the change after the reconnect")
    # a 5 s outage: the last configuration keeps serving; later changes are applied
    rig.api.go_down(5.0)
    time.sleep(5.5)
    rig.api.apply(route("r0", backend="v2"))
    wait_for(lambda: get(rig.port) == (200, "v2"), 15.0, "the change after the outage")
    load.stop()
    assert load.failed == [] and load.ok > 50
    assert metric(proc, 'routecore_kube_watch_errors_total{kind="HTTPRoute",namespace=""}') >= 1


def test_listeners_added_and_removed_bind_and_close_ports(rig):
    proc = rig.start()
    ready(proc)
    extra = free_port()
    rig.api.apply(edge(rig.port, {"name": "more", "port": extra, "protocol": "HTTP",
                                  "allowedRoutes": {"namespaces": {"from": "All"}}}))
    wait_for(lambda: get(extra) == (200, "v1"), 5.0, "the new listener's port")
    rig.api.apply(edge(rig.port))
    wait_for(lambda: closed(extra), 5.0, "the removed listener's port to close")
    assert get(rig.port) == (200, "v1")


def closed(port):
    try:
        get(port, timeout=1.0)
    except ConnectionRefusedError:
        return True
    return False


def test_a_listenersets_listener_port_is_bound_routed_and_closed_with_it(rig):
    gw = edge(rig.port)
    gw["spec"]["allowedListeners"] = {"namespaces": {"from": "All"}}
    rig.api.apply(gw)
    port = free_port()
    listener_set = {"apiVersion": GW_API, "kind": "ListenerSet",
                    "metadata": {"name": "team", "namespace": "shop"},
                    "spec": {"parentRef": {"name": "edge", "namespace": "infra"},
                             "listeners": [{"name": "team-web", "port": port, "protocol": "HTTP"}]}}
    rig.api.apply(listener_set)
    team = route("team", backend="v2")
    team["spec"]["parentRefs"] = [{"kind": "ListenerSet", "name": "team"}]
    rig.api.apply(team)
    proc = rig.start()
    ready(proc)
    assert get(port) == (200, "v2")      # the ListenerSet's route, on its own port
    assert get(rig.port) == (200, "v1")  # the Gateway's own listener keeps its routes
    rig.api.remove("listenersets", "shop", "team")
    wait_for(lambda: closed(port), 5.0, "the ListenerSet's port to close")
    assert get(rig.port) == (200, "v1")


def tls_secret(ns, name, cert_path, key_path):
    enc = lambda p: base64.b64encode(p.read_bytes()).decode()  # noqa: E731
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "type": "kubernetes.io/tls", "data": {"tls.crt": enc(cert_path), "tls.key": enc(key_path)}}


def https_get(port, sni, ctx):
    """(status, body, the served certificate's DNS names) of GET / over TLS with ``sni``."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as tls:
            names = sorted(v for k, v in tls.getpeercert()["subjectAltName"] if k == "DNS")
            tls.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % sni.encode())
            head, _, body = read_all(tls).partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(), names


def test_https_listeners_serve_the_watched_secrets_by_sni_and_follow_their_changes(rig, tmp_path):
    certs = Certs(tmp_path)
    port = free_port()

    def https(name, host):
        return {"name": name, "port": port, "protocol": "HTTPS", "hostname": host,
                "tls": {"certificateRefs": [{"name": f"{name}-cert"}]},
                "allowedRoutes": {"namespaces": {"from": "All"}}}
    rig.api.apply(tls_secret("infra", "a-cert", *certs.issue("a", "a.example.com")))
    rig.api.apply(tls_secret("infra", "b-cert", *certs.issue("b", "b.example.com")))
    rig.api.apply(edge(rig.port, https("a", "a.example.com"), https("b", "b.example.com")))
    proc = rig.start()
    ready(proc)
    client = certs.client_context()  # verifies the chain and that the certificate is the SNI's
    assert https_get(port, "a.example.com", client) == (200, "v1", ["a.example.com"])
    assert https_get(port, "b.example.com", client) == (200, "v1", ["b.example.com"])
    # the Secret changes: new handshakes get the new certificate, on the same socket
    rig.api.apply(tls_secret("infra", "a-cert", *certs.issue("a2", "a.example.com", "new.example.com")))
    wait_for(lambda: https_get(port, "a.example.com", client)[2] == ["a.example.com", "new.example.com"],
             5.0, "the new certificate")
    assert https_get(port, "b.example.com", client) == (200, "v1", ["b.example.com"])
    # a listener on another port whose Secret comes later: bound once the Secret exists
    late = free_port()
    c = dict(https("c", "c.example.com"), port=late)
    rig.api.apply(edge(rig.port, https("a", "a.example.com"), https("b", "b.example.com"), c))
    time.sleep(0.5)
    assert closed(late)
    rig.api.apply(tls_secret("infra", "c-cert", *certs.issue("c", "c.example.com")))
    wait_for(lambda: https_get(late, "c.example.com", client) == (200, "v1", ["c.example.com"]),
             5.0, "the listener with its new Secret")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    stderr = proc.stderr.read().decode()
    assert "listener c (port %d): no usable certificate" % late in stderr
    assert "Traceback" not in stderr, stderr


def stream_route(kind, name, section, backend, port):
    return {"apiVersion": "gateway.networking.k8s.io/v1alpha2", "kind": kind,
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"parentRefs": [{"name": "edge", "namespace": "infra", "sectionName": section}],
                     "rules": [{"backendRefs": [{"name": backend, "port": port}]}]}}


def test_tcp_and_udp_listeners_on_one_port_reach_their_routes_backends(rig):
    echo, dns = TCPEcho(), UDPEcho("dns")
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        port = free_port()
        rig.api.apply(edge(rig.port, *({"name": p.lower(), "port": port, "protocol": p,
                                        "allowedRoutes": {"namespaces": {"from": "All"}}}
                                       for p in ("TCP", "UDP"))))
        rig.api.apply(service("echo", port=9000))
        rig.api.apply(service("dns", port=53))
        rig.api.apply(stream_route("TCPRoute", "echo", "tcp", "echo", 9000))
        rig.api.apply(stream_route("UDPRoute", "dns", "udp", "dns", 53))
        proc = rig.start("--gateway", "infra/edge", "--upstream", f"shop/echo:9000={echo.url}",
                         "--upstream", f"shop/dns:53={dns.url}")
        ready(proc)
        for n in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"tcp echo %d" % n)
                s.shutdown(socket.SHUT_WR)
                assert read_all(s) == b"tcp echo %d" % n
        udp.settimeout(5)
        udp.sendto(b"q", ("127.0.0.1", port))
        assert udp.recvfrom(100) == (b"dns q", ("127.0.0.1", port))
        assert get(rig.port) == (200, "v1")
    finally:
        udp.close()
        echo.close()
        dns.close()


def test_the_mesh_side_serves_one_services_routes(rig):
    mesh_route = route("m", backend="v2")
    mesh_route["spec"]["parentRefs"] = [{"group": "", "kind": "Service", "name": "v1", "port": 80}]
    rig.api.apply(mesh_route)
    port = free_port()
    proc = rig.start("--service", "shop/v1:80", "--client-namespace", "shop", "--listen",
                     f"127.0.0.1:{port}")
    ready(proc)
    assert get(port) == (200, "v2")  # the producer route of shop/v1 sends to v2
    rig.api.remove("httproutes", "shop", "m")
    wait_for(lambda: get(port) == (200, "v1"), 5.0, "requests to go to the Service itself")


def leader_of(procs):
    return [p for p in procs if metric(p, "routecore_kube_leader") == 1]


def test_two_replicas_only_the_leader_writes_and_the_other_takes_over(rig):
    a = rig.start(identity="a")
    ready(a)
    wait_for(lambda: leader_of([a]) == [a], 10, "a to lead")
    b = rig.start(identity="b", host="127.0.0.2")
    ready(b)
    for n in range(3):
        rig.api.apply(route(f"x{n}", path=f"/x{n}"))
    wait_for(lambda: all(conditions(our_parent(rig.api, f"x{n}"))["Accepted"]["status"] == "True"
                         for n in range(3)), 10, "status of the new routes")
    assert leader_of([a, b]) == [a]
    assert metric(a, "routecore_kube_status_writes_total") >= 3
    assert metric(b, "routecore_kube_status_writes_total") == 0
    a.kill()  # no release: b takes over when the Lease expires
    a.wait(10)
    stopped = time.monotonic()
    wait_for(lambda: leader_of([b]) == [b], 2.0 + 2.0, "b to take over")
    took = time.monotonic() - stopped
    assert took <= 2.0 + 1.0  # the Lease duration, plus a retry period and scrape slack
    rig.api.apply(route("x0", path="/x0", backend="v2"))
    generation = rig.api.get("httproutes", "shop", "x0")["metadata"]["generation"]
    wait_for(lambda: conditions(our_parent(rig.api, "x0"))["Accepted"]["observedGeneration"]
             == generation, 10, "b to write status")
    # (the server shows the write before the writer counts it)
    wait_for(lambda: metric(b, "routecore_kube_status_writes_total") >= 1, 5, "b's count")


def test_sigterm_drains_requests_in_flight_and_exits(rig):
    rig.api.apply(route("slow", backend="slow", path="/slow"))
    proc = rig.start()
    ready(proc)
    wait_for(lambda: get(rig.port, "/") == (200, "v1"), 5, "serving")
    result = {}

    def slow():
        result["answer"] = get(rig.port, "/slow", timeout=10)
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)  # the request is at the backend
    proc.send_signal(signal.SIGTERM)
    t.join(10)
    assert result.get("answer") == (200, "slow")
    assert proc.wait(15) == 0
    with pytest.raises(ConnectionRefusedError):
        get(rig.port, timeout=1.0)
    # the Lease was released on the way out (another replica takes over at once)
    lease = rig.api.get("leases", "default", "routecore-gateway-controller")
    assert lease["spec"]["holderIdentity"] == ""
    stderr = proc.stderr.read().decode()
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("argv, message", [
    (["cfg.yaml", "--gateway", "infra/edge"], "no CONFIG path"),
    (["--gateway", "infra/edge:80"], "--gateway takes NS/NAME"),
    (["--gateway", "infra/edge", "--listen", "127.0.0.1:8080"], "--listen takes a HOST only"),
    (["--service", "shop/v1"], "--service needs NS/NAME:PORT"),
    (["--gateway", "infra/edge", "--watch"], "do not go with --kubernetes"),
    (["--gateway", "infra/edge", "--tls-secret", "infra/a=c.pem,k.pem"],
     "--tls-secret does not go with --kubernetes"),
])
def test_command_line_mistakes_are_usage_errors(argv, message, capsys):
    from routecore._cli.main import main

    assert main(["serve", "--kubernetes", *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_unreadable_kubeconfig_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "routecore", "serve", "--kubernetes",
                           "--kubeconfig", str(tmp_path / "nope"), "--gateway", "infra/edge"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "routecore:" in done.stderr and "Traceback" not in done.stderr


def test_a_wrong_cluster_ca_keeps_serve_unready_says_why_and_sends_nothing(rig):
    from kubeapi.tls import ServerTLS
    doc = json.loads(open(rig.kubeconfig).read())
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(ServerTLS().ca_pem).decode()
    open(rig.kubeconfig, "w").write(json.dumps(doc))
    before = sum(rig.api.store.requests.values())
    proc = rig.start()
    wait_for(lambda: admin(proc, "/healthz")[0] == 200, 20, "the admin port")
    time.sleep(1.5)
    assert admin(proc, "/readyz")[0] != 200
    assert sum(rig.api.store.requests.values()) == before and rig.api.seen_tokens == {}
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    err = proc.stderr.read().decode()
    assert "CERTIFICATE_VERIFY_FAILED" in err and "Traceback" not in err


def test_a_kubeconfig_with_a_ca_and_insecure_skip_is_a_clear_error(tmp_path):
    api = KubeAPIServer()
    try:
        kc = api.write_kubeconfig(str(tmp_path / "kc"))
        doc = json.loads(open(kc).read())
        doc["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
        open(kc, "w").write(json.dumps(doc))
        done = subprocess.run([sys.executable, "-m", "routecore", "serve", "--kubernetes", "--kubeconfig", kc,
                               "--gateway", "infra/edge"], capture_output=True, text=True, timeout=30)
    finally:
        api.server_close()
    assert done.returncode == 1 and "insecure-skip-tls-verify together are not allowed" in done.stderr
    assert "Traceback" not in done.stderr
