"""`routecore serve` on the listener kinds of issue 13, through a real subprocess over 127.0.0.1
with real TLS (certificates from a throw-away CA made in the test): HTTPS listeners terminating
with certificates chosen by SNI (from --tls-secret and from a Secret in the configuration), 421
for a Host of another listener; TLS passthrough, TCP, UDP and BackendTLSPolicy when the library
decides those kinds (``view.route_tls`` / ``view.route_stream`` / ``decision.backend_tls``)."""
from __future__ import annotations

import base64
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import routecore
from test_proxy_rig import Recorder, free_port, read_responses, wait_for_port
from tls_rig import Certs, HTTPSUpstream, TCPEcho, TLSEcho, UDPEcho, refused, tls_line


class Serve:
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

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text


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
