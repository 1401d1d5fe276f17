"""`routecore serve` on the listener kinds of issue 13, through a real subprocess over 127.0.0.1
with real TLS (certificates from a throw-away CA made in the test): HTTPS listeners terminating
with certificates chosen by SNI (from --tls-secret and from a Secret in the configuration), 421
for a Host of another listener; TLS passthrough by SNI, TLS terminate, TCP, UDP, a backend
reached over TLS verified by a BackendTLSPolicy (and refused when the CA does not match),
ListenerSet listeners, HTTPS and TLS listeners sharing a port, certificate reloads."""
from __future__ import annotations

import base64
import ssl
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import test_proxy_rig as rig
from test_proxy_rig import Recorder, free_port, read_responses, wait_for_port
from tls_rig import Certs, HTTPSUpstream, TCPEcho, TLSEcho, UDPEcho, read_all, refused, tls_line


class Serve(rig.Serve):
    """`routecore serve CONFIG --gateway infra/gw --listen 127.0.0.1` (every listener port)."""

    def __init__(self, config_path, wait_port, *flags):
        self.log = tempfile.TemporaryFile(mode="w+")
        args = [sys.executable, "-m", "routecore", "serve", str(config_path), "--gateway",
                "infra/gw", "--listen", "127.0.0.1", "--seed", "3", *flags]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for_port(wait_port, proc=self.proc)
        except RuntimeError:
            raise RuntimeError(self.stop()) from None


def secret_yaml(ns, name, cert_path, key_path) -> str:
    enc = lambda p: base64.b64encode(p.read_bytes()).decode()  # noqa: E731
    return f"""---
apiVersion: v1
kind: Secret
metadata: {{name: {name}, namespace: {ns}}}
type: kubernetes.io/tls
data: {{tls.crt: {enc(cert_path)}, tls.key: {enc(key_path)}}}
"""


def https_request(port, sni, host, ctx):
    """(status, body, the certificate's DNS names) of one GET over TLS with ``sni``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as tls:
            names = [v for k, v in tls.getpeercert()["subjectAltName"] if k == "DNS"]
            tls.sendall(b"GET /where HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
            reply = read_responses(tls)[0]
    return reply.status, reply.body, names


def test_https_listeners_certificates_by_sni_and_421(tmp_path):
    certs = Certs(tmp_path)
    a_cert, a_key = certs.issue("a", "a.example.com")
    b_cert, b_key = certs.issue("b", "b.example.com")
    upstream = Recorder()
    port = free_port()
    config = tmp_path / "gw.yaml"
    config.write_text(f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: routecore
  listeners:
  - {{name: a, port: {port}, protocol: HTTPS, hostname: a.example.com, tls: {{certificateRefs: [{{name: a-cert}}]}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: b, port: {port}, protocol: HTTPS, hostname: b.example.com, tls: {{certificateRefs: [{{name: b-cert, namespace: certs}}]}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {{name: gw-certs, namespace: certs}}
spec:
  from: [{{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}}]
  to: [{{group: "", kind: Secret}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  rules: [{{backendRefs: [{{name: v1, port: 80}}]}}]
""" + secret_yaml("certs", "b-cert", b_cert, b_key))
    serve = Serve(config, port, "--tls-secret", f"infra/a-cert={a_cert},{a_key}",
                  "--upstream", f"shop/v1:80={upstream.url}")
    try:
        # plaintext HTTP, or a TLS client that gives up, on the HTTPS port: closed, no traceback
        for junk in (b"GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
                     b"\x16\x03\x01\x00\x10" + b"\x01" * 8):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                try:
                    while s.recv(100):  # an alert at most, then the close
                        pass
                except ConnectionResetError:
                    pass
        client = certs.client_context()  # verifies the chain and that the certificate is the SNI's
        assert https_request(port, "a.example.com", "a.example.com", client)[::2] == (200, ["a.example.com"])
        assert https_request(port, "b.example.com", "b.example.com", client)[::2] == (200, ["b.example.com"])
        # the TLS connection belongs to listener a; a Host of listener b is misdirected
        status, body, names = https_request(port, "a.example.com", "b.example.com", client)
        assert (status, names) == (421, ["a.example.com"])
        status, _, names = https_request(port, "b.example.com", "a.example.com:443", client)
        assert (status, names) == (421, ["b.example.com"])
        got = upstream.complete(b"/where")
        assert len(got) == 2
        for rec in got:  # the proxy says the client came over https
            assert b"\r\nx-forwarded-proto: https\r\n" in rec.raw.lower()
    finally:
        out = serve.stop()
        upstream.close()
    assert "https://127.0.0.1:%d" % port in out          # the start-up line names the channel
    assert "Traceback" not in out, out
    lines = [l for l in out.splitlines() if " routecore.access " in l]
    assert [l.split('" ', 1)[1].split()[0] for l in lines] == ["200", "200", "421", "421"]


def test_a_listener_without_a_usable_certificate_is_refused_at_start(tmp_path):
    port = free_port()
    config = tmp_path / "gw.yaml"
    config.write_text(f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: routecore
  listeners:
  - {{name: a, port: {port}, protocol: HTTPS, tls: {{certificateRefs: [{{name: missing}}]}}}}
""")
    r = subprocess.run([sys.executable, "-m", "routecore", "serve", str(config), "--gateway",
                        "infra/gw", "--listen", "127.0.0.1"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert f"port {port}: no listener has a usable certificate" in r.stderr


def test_tls_secret_flag_errors_are_usage_errors(tmp_path):
    for value, message in (("infra/a-cert", "expects NS/NAME=CERT_FILE,KEY_FILE"),
                           (f"infra/a={tmp_path}/nope.crt,{tmp_path}/nope.key", "No such file")):
        r = subprocess.run([sys.executable, "-m", "routecore", "serve", "x.yaml", "--gateway",
                            "infra/gw", "--tls-secret", value], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2 and message in r.stderr, r.stderr


def _kinds_config(certs, ports, other_ca_pem):
    p = ports
    ca = "\n".join("    " + line for line in certs.ca.cert_pem.bytes().decode().splitlines())
    bad = "\n".join("    " + line for line in other_ca_pem.splitlines())
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: routecore
  listeners:
  - {{name: tls, port: {p['tls']}, protocol: TLS, tls: {{mode: Passthrough}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: tcp, port: {p['tcp']}, protocol: TCP, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: udp, port: {p['udp']}, protocol: UDP, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: web, port: {p['http']}, protocol: HTTP, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: term, port: {p['term']}, protocol: TLS, hostname: term.example.com, tls: {{mode: Terminate, certificateRefs: [{{name: term-cert}}]}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {{name: term, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra, sectionName: term}}]
  hostnames: [term.example.com]
  rules: [{{backendRefs: [{{name: echo, port: 9000}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {{name: one, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  hostnames: [one.example.com]
  rules: [{{backendRefs: [{{name: one, port: 443}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {{name: two, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  hostnames: [two.example.com]
  rules: [{{backendRefs: [{{name: two, port: 443}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {{name: echo, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  rules: [{{backendRefs: [{{name: echo, port: 9000}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: {{name: dns, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  rules: [{{backendRefs: [{{name: dns, port: 53}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: web, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /bad}}}}]
    backendRefs: [{{name: badca, port: 443}}]
  - matches: [{{path: {{type: PathPrefix, value: /mirror}}}}]
    filters: [{{type: RequestMirror, requestMirror: {{backendRef: {{name: secure, port: 443}}}}}}]
    backendRefs: [{{name: plain, port: 80}}]
  - backendRefs: [{{name: secure, port: 443}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {{name: secure, namespace: shop}}
spec:
  targetRefs: [{{group: "", kind: Service, name: secure}}]
  validation: {{hostname: secure.internal, caCertificateRefs: [{{group: "", kind: ConfigMap, name: ca}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {{name: badca, namespace: shop}}
spec:
  targetRefs: [{{group: "", kind: Service, name: badca}}]
  validation: {{hostname: secure.internal, caCertificateRefs: [{{group: "", kind: ConfigMap, name: other-ca}}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: ca, namespace: shop}}
data:
  ca.crt: |
{ca}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: other-ca, namespace: shop}}
data:
  ca.crt: |
{bad}
"""


def test_passthrough_tcp_udp_and_backend_tls_policy(tmp_path):
    certs = Certs(tmp_path)
    (tmp_path / "other").mkdir()
    other = Certs(tmp_path / "other")
    ports = {k: free_port() for k in ("tls", "tcp", "udp", "http", "term")}
    text = _kinds_config(certs, ports, other.ca.cert_pem.bytes().decode())
    config = tmp_path / "gw.yaml"
    config.write_text(text)
    one = TLSEcho("one", certs.server_context("one", "one.example.com"))
    two = TLSEcho("two", certs.server_context("two", "two.example.com"))
    echo, dns = TCPEcho(), UDPEcho("dns")
    secure = HTTPSUpstream("secure", certs.server_context("secure", "secure.internal"))
    badca = HTTPSUpstream("badca", certs.server_context("badca", "secure.internal"))
    plain = Recorder()
    servers = (one, two, echo, dns, secure, badca, plain)
    ups = {"shop/one:443": one.url, "shop/two:443": two.url, "shop/echo:9000": echo.url,
           "shop/dns:53": dns.url, "shop/secure:443": secure.url, "shop/badca:443": badca.url,
           "shop/plain:80": plain.url}
    flags = [f for k, u in ups.items() for f in ("--upstream", f"{k}={u}")]
    term_cert, term_key = certs.issue("term", "term.example.com")
    flags += ["--tls-secret", f"infra/term-cert={term_cert},{term_key}"]
    serve = Serve(config, ports["tcp"], *flags)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        client = certs.client_context()
        # passthrough by SNI: the client verifies each backend's own certificate
        assert tls_line(ports["tls"], "one.example.com", client, b"hi") == b"one one.example.com hi\n"
        assert tls_line(ports["tls"], "two.example.com", client, b"yo") == b"two two.example.com yo\n"
        assert refused(ports["tls"], "three.example.com", client)
        # TCP echo
        with socket.create_connection(("127.0.0.1", ports["tcp"]), timeout=10) as s:
            s.sendall(b"tcp echo")
            s.shutdown(socket.SHUT_WR)
            assert read_all(s) == b"tcp echo"
        # TLS Terminate: the listener's certificate, then plaintext to the TCP echo backend
        with socket.create_connection(("127.0.0.1", ports["term"]), timeout=10) as raw:
            with client.wrap_socket(raw, server_hostname="term.example.com") as tls:
                tls.sendall(b"terminated")
                assert tls.recv(100) == b"terminated"
        # UDP echo
        udp.settimeout(5)
        for i in range(3):
            udp.sendto(b"q%d" % i, ("127.0.0.1", ports["udp"]))
            assert udp.recvfrom(100) == (b"dns q%d" % i, ("127.0.0.1", ports["udp"]))
        # BackendTLSPolicy: verified with the ConfigMap's CA, SNI = the policy's hostname
        with socket.create_connection(("127.0.0.1", ports["http"]), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = read_responses(s)[0]
        assert (reply.status, reply.body) == (200, b"secure sni=secure.internal")
        with socket.create_connection(("127.0.0.1", ports["http"]), timeout=10) as s:
            s.sendall(b"GET /bad HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_responses(s)[0].status == 502   # the CA does not match: refused
        assert badca.seen == []
        # a mirror to a backend under a policy gets its copy over verified TLS too
        with socket.create_connection(("127.0.0.1", ports["http"]), timeout=10) as s:
            s.sendall(b"GET /mirror HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_responses(s)[0].status == 200
        end = time.monotonic() + 10
        while len(secure.seen) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert secure.seen == ["secure.internal", "secure.internal"]
        assert len(plain.complete(b"/mirror")) == 1
    finally:
        udp.close()
        out = serve.stop()
        for server in servers:
            server.close()
    assert 'error="upstream tls: unable to get local issuer certificate"' in out
    assert "TLS-PASSTHROUGH port=%d sni=one.example.com\" 200" % ports["tls"] in out
    assert "TCP port=%d sni=-\" 200" % ports["tcp"] in out


def test_reload_swaps_certificates_and_refuses_a_listener_change(tmp_path):
    certs = Certs(tmp_path)
    port = free_port()
    gateway = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: routecore
  listeners:
  - {{name: a, port: {port}, protocol: PROTO, hostname: a.example.com, tls: {{certificateRefs: [{{name: a-cert}}]}}}}
"""
    config = tmp_path / "gw.yaml"

    def write(text):
        tmp = tmp_path / "next.yaml"
        tmp.write_text(text)
        tmp.replace(config)

    def serial():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with certs.client_context().wrap_socket(raw, server_hostname="a.example.com") as tls:
                return tls.getpeercert()["serialNumber"]

    first = certs.issue("first", "a.example.com")
    second = certs.issue("second", "a.example.com")
    write(gateway.replace("PROTO", "HTTPS") + secret_yaml("infra", "a-cert", *first))
    serve = Serve(config, port, "--watch")
    try:
        before = serial()
        time.sleep(0.6)
        write(gateway.replace("PROTO", "HTTPS") + secret_yaml("infra", "a-cert", *second))
        end = time.monotonic() + 20
        while serial() == before and time.monotonic() < end:
            time.sleep(0.2)
        after = serial()
        assert after != before                           # new handshakes: the new certificate
        time.sleep(0.6)
        write(gateway.replace("PROTO", "TLS").replace("tls: {", "tls: {mode: Passthrough, ")
              + secret_yaml("infra", "a-cert", *first))
        time.sleep(3)
        assert serial() == after                         # refused: still serving HTTPS
    finally:
        out = serve.stop()
    assert "configuration reloaded: generation=1" in out
    assert "configuration refused, still serving generation=1" in out
    assert "restart routecore serve to change them" in out


def test_listenerset_listeners_are_served_and_ungranted_certificates_are_not(tmp_path):
    certs = Certs(tmp_path)
    own = certs.issue("own", "a.example.com")
    stolen = certs.issue("stolen", "x.example.com")
    team = certs.issue("team", "team.example.com")
    upstream = Recorder()
    p1, p2 = free_port(), free_port()
    config = tmp_path / "gw.yaml"
    config.write_text(f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: routecore
  allowedListeners: {{namespaces: {{from: All}}}}
  listeners:
  - {{name: a, port: {p1}, protocol: HTTPS, hostname: a.example.com, tls: {{certificateRefs: [{{name: own}}]}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: x, port: {p1}, protocol: HTTPS, hostname: x.example.com, tls: {{certificateRefs: [{{name: stolen, namespace: certs}}]}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {{name: ls, namespace: team}}
spec:
  parentRef: {{name: gw, namespace: infra}}
  listeners:
  - {{name: t, port: {p2}, protocol: HTTPS, hostname: team.example.com, tls: {{certificateRefs: [{{name: team-cert}}]}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: team}}
spec:
  parentRefs: [{{kind: ListenerSet, name: ls}}]
  rules: [{{backendRefs: [{{name: v1, port: 80}}]}}]
""" + secret_yaml("infra", "own", *own) + secret_yaml("certs", "stolen", *stolen)
      + secret_yaml("team", "team-cert", *team))
    serve = Serve(config, p2, "--upstream", f"team/v1:80={upstream.url}")
    try:
        client = certs.client_context()
        # the ListenerSet's listener: its own port, its certificate, its route
        assert https_request(p2, "team.example.com", "team.example.com", client)[::2] == (
            200, ["team.example.com"])
        # x's certificate is in another namespace with no ReferenceGrant: never served
        with socket.create_connection(("127.0.0.1", p1), timeout=10) as raw:
            with pytest.raises(ssl.SSLCertVerificationError):
                client.wrap_socket(raw, server_hostname="x.example.com")
    finally:
        out = serve.stop()
        upstream.close()
    assert "listener x (port %d): certificateRef certs/stolen: no ReferenceGrant" % p1 in out


def test_https_tls_passthrough_and_terminate_on_one_port(tmp_path):
    """One port, three TLS listeners told apart by the ClientHello's SNI (tls-mixed)."""
    certs = Certs(tmp_path)
    port = free_port()
    a_cert, a_key = certs.issue("a", "a.example.com")
    t_cert, t_key = certs.issue("t", "t.example.com")
    web, echo = Recorder(), TCPEcho()
    pt = TLSEcho("pt", certs.server_context("pt", "p.example.com"))
    config = tmp_path / "gw.yaml"
    config.write_text(f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: routecore
  listeners:
  - {{name: a, port: {port}, protocol: HTTPS, hostname: a.example.com, tls: {{certificateRefs: [{{name: a-cert}}]}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: p, port: {port}, protocol: TLS, hostname: p.example.com, tls: {{mode: Passthrough}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
  - {{name: t, port: {port}, protocol: TLS, hostname: t.example.com, tls: {{mode: Terminate, certificateRefs: [{{name: t-cert}}]}}, allowedRoutes: {{namespaces: {{from: All}}}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: web, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra, sectionName: a}}]
  rules: [{{backendRefs: [{{name: web, port: 80}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {{name: p, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra, sectionName: p}}]
  hostnames: [p.example.com]
  rules: [{{backendRefs: [{{name: pt, port: 443}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {{name: t, namespace: shop}}
spec:
  parentRefs: [{{name: gw, namespace: infra, sectionName: t}}]
  hostnames: [t.example.com]
  rules: [{{backendRefs: [{{name: echo, port: 7}}]}}]
""")
    serve = Serve(config, port, "--tls-secret", f"infra/a-cert={a_cert},{a_key}",
                  "--tls-secret", f"infra/t-cert={t_cert},{t_key}",
                  "--upstream", f"shop/web:80={web.url}", "--upstream", f"shop/pt:443={pt.url}",
                  "--upstream", f"shop/echo:7={echo.url}")
    try:
        client = certs.client_context()
        assert https_request(port, "a.example.com", "a.example.com", client)[::2] == (
            200, ["a.example.com"])
        assert tls_line(port, "p.example.com", client, b"hi") == b"pt p.example.com hi\n"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with client.wrap_socket(raw, server_hostname="t.example.com") as tls:
                tls.sendall(b"terminated\n")
                assert tls.recv(100) == b"terminated\n"
        assert refused(port, "nobody.example.com", client)
    finally:
        out = serve.stop()
        for server in (web, echo, pt):
            server.close()
    assert "tls-mixed://127.0.0.1:%d" % port in out
    access = [l.split(" routecore.access ", 1)[1] for l in out.splitlines() if " routecore.access " in l]
    assert any(l.startswith('127.0.0.1 "GET /where HTTP/1.1" 200') for l in access), access
    assert any(l.startswith('127.0.0.1 "TLS-MIXED port=%d sni=p.example.com" 200' % port) for l in access)
    assert any(l.startswith('127.0.0.1 "TLS-TERMINATE port=%d sni=t.example.com" 200' % port) for l in access)
    assert "Traceback" not in out
