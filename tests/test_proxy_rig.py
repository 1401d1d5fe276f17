"""The rig of the proxy tests (no tests here): a recording upstream (a raw socket server that keeps
the exact bytes it received and how each connection ended), a `routecore serve` subprocess, and
raw-socket clients."""
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httptools

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
  rules:
  - matches: [{path: {type: PathPrefix, value: /retry}}]
    retry: {codes: [503], attempts: 2}
    backendRefs: [{name: v1, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /mirror}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m1, port: 80}}}]
    backendRefs: [{name: v1, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /routed}}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-routed, value: public}], remove: [x-drop]}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-resp, value: "yes"}], remove: [x-internal]}}
    backendRefs: [{name: v1, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /rewrite}}]
    filters: [{type: URLRewrite, urlRewrite: {hostname: api.internal}}]
    backendRefs: [{name: v1, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: v1, port: 80}]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc=None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def wait_until(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Message:
    """One request as the upstream parsed it."""

    def __init__(self):
        self.method = None
        self.target = b""
        self.headers = []   # raw (name, value) pairs as received
        self.body = b""
        self.complete = False
        self.raw = b""      # the bytes of this connection up to the end of this message

    def header(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def on_url(self, url):
        self.target += url

    def on_header(self, name, value):
        self.headers.append((name, value))

    def on_body(self, body):
        self.body += body


def ok(msg, status=200, extra=b""):
    body = b"ok %s" % msg.target
    return (b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n%s\r\n" % (status, len(body), extra)) + body


class Recorder:
    """A raw HTTP/1.1 upstream on 127.0.0.1: records every message (complete or not) with the
    exact bytes received, and how each connection ended ("eof" or "reset").
    ``respond(message) -> bytes | None`` gives the raw response (None: never answer)."""

    def __init__(self, respond=ok):
        self.respond = respond
        self.messages = []
        self.connections = []  # {"raw": bytes, "end": "eof"|"reset"|None}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def complete(self, path_prefix=b"/"):
        return [m for m in self.messages if m.complete and m.target.startswith(path_prefix)]

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        record = {"raw": b"", "end": None}
        self.connections.append(record)
        state = {"msg": None}
        rig = self

        class Callbacks:
            def on_message_begin(self):
                state["msg"] = Message()
                rig.messages.append(state["msg"])

            def on_url(self, url):
                state["msg"].on_url(url)

            def on_header(self, n, v):
                state["msg"].on_header(n, v)

            def on_body(self, b):
                state["msg"].on_body(b)

            def on_message_complete(self):
                msg = state["msg"]
                msg.complete = True
                msg.raw = record["raw"]
                msg.method = parser.get_method()
                answer = rig.respond(msg)
                if answer is not None:
                    conn.sendall(answer)

        parser = httptools.HttpRequestParser(Callbacks())
        conn.settimeout(60)
        try:
            while True:
                data = conn.recv(262144)
                if not data:
                    record["end"] = "eof"
                    return
                record["raw"] += data if len(record["raw"]) < 1 << 20 else b""
                parser.feed_data(data)
        except ConnectionResetError:
            record["end"] = "reset"
        except Exception as exc:  # parse errors, timeouts: recorded
            record["end"] = repr(exc)
        finally:
            conn.close()

    def close(self):
        self.stopped = True
        self.sock.close()


class Serve:
    """`routecore serve` as a subprocess with the given upstreams and flags."""

    def __init__(self, config_path, upstreams, *flags):
        self.port = free_port()
        self.log = tempfile.TemporaryFile(mode="w+")
        args = [sys.executable, "-m", "routecore", "serve", str(config_path), "--gateway",
                "infra/gw:80", "--listen", f"127.0.0.1:{self.port}", "--seed", "3"]
        for key, url in upstreams.items():
            args += ["--upstream", f"{key}={url}"]
        self.proc = subprocess.Popen(args + list(flags), stdout=self.log, stderr=subprocess.STDOUT,
                                     text=True)
        wait_for_port(self.port, proc=self.proc)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def access_lines(self):
        """The access lines, without the logging prefix (timestamp, level, logger)."""
        prefix = " INFO routecore.access "
        return [line.split(prefix, 1)[1] for line in self.output().splitlines() if prefix in line]

    def rss_peak_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        text = self.output()
        self.log.close()
        return text


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def exchange(port, upstream, raw):
    """Send one raw request to the proxy at ``port``: (the first reply it gives, the last request
    ``upstream`` (a Recorder) received whole for the request line's target)."""
    s = connect(port)
    s.sendall(raw)
    reply = read_responses(s)[0]
    return reply, upstream.complete(raw.split(b" ", 2)[1])[-1]


class Reply:
    def __init__(self):
        self.status = None
        self.headers = []
        self.body = b""
        self.complete = False
        self.interim = []

    def header(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]


def read_responses(sock, count=1, head_request=False, timeout=10.0):
    """Read ``count`` responses (interim 1xx kept apart); stops early at EOF."""
    out = []
    state = {"r": Reply()}

    class Callbacks:
        def on_header(self, n, v):
            state["r"].headers.append((n, v))

        def on_headers_complete(self):
            r = state["r"]
            r.status = parser.get_status_code()
            if head_request and r.status >= 200:
                r.complete = True
                out.append(r)
                state["r"] = Reply()

        def on_body(self, b):
            state["r"].body += b

        def on_message_complete(self):
            r = state["r"]
            if r.status is not None and 100 <= r.status < 200:
                state["r"] = Reply()
                state["r"].interim = r.interim + [r]
                return
            if not r.complete:
                r.complete = True
                out.append(r)
            state["r"] = Reply()

    parser = httptools.HttpResponseParser(Callbacks())
    sock.settimeout(timeout)
    raw = b""
    while len(out) < count:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not data:
            r = state["r"]
            if r.status is not None and not r.complete and not r.header(b"content-length") \
                    and not r.header(b"transfer-encoding"):
                r.complete = True  # close-delimited
                out.append(r)
            break
        raw += data
        try:
            parser.feed_data(data)
        except httptools.HttpParserError:
            break
    return out


def closed_by_peer(sock, timeout=5.0) -> bool:
    """True when the peer closed (EOF or reset) within ``timeout``, reading whatever remains."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def write_config(tmp_path, text=CONFIG):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path
