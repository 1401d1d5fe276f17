"""A Kubernetes API test server: the parts of the API conventions routecore.kube relies on.

It is a test double of kube-apiserver, so it follows the API conventions closely enough that the
real ``kubectl`` works against it (tests/test_kubeapi.py proves that), and it adds controls a real
cluster does not have (cut every watch, go down for a while, compact the history).

Invariants:
- One global resourceVersion counter (as etcd's revision): every write bumps it, and the object
  written and its watch event carry the new value. Lists carry the current value.
- The event history is bounded (``history`` events, oldest dropped) and can be compacted; a watch
  from a resourceVersion older than the oldest retained one gets one ``ERROR`` event with a 410
  Status (HTTP 200), as the real server answers.
- ``metadata.generation`` (Gateway API kinds) is bumped only when something other than
  ``metadata`` and ``status`` changes. Writes to the main resource keep the stored status; writes
  to ``/status`` change the status only.
- List items of built-in (core/coordination) kinds carry no ``kind``/``apiVersion``; custom
  resources' items do (the API server's behaviour).
- Served over HTTPS (HTTP/1.1; plain HTTP with ``tls=False``) on 127.0.0.1 only, with a
  certificate of its own CA (tls.py); every request needs a bearer token of ``tokens`` or a
  client certificate of that CA, else 401. Watches are chunked JSON lines.
- What is served (kinds, versions, discovery) is one API layout of kinds.LAYOUTS, switchable while
  running; the objects stay.
"""
from __future__ import annotations

import base64
import copy
import json
import os
import queue
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Optional
from urllib.parse import parse_qs, urlsplit

from . import kinds as _kinds
from . import tls as _tls
from .kinds import DEFAULT_LAYOUT, LAYOUTS, Kind
from .store import ApiError, Store, merge_patch

KINDS = LAYOUTS[DEFAULT_LAYOUT]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class _Cut(Exception):
    """A watch stream ended by the test controls."""


class KubeAPIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # many watches connect at once; a short backlog drops SYNs (1 s retry)

    def __init__(self, host="127.0.0.1", port=0, history=1000, bookmark_interval=1.0, *,
                 tls: bool = True, layout: str = DEFAULT_LAYOUT, tokens=("test-token",)):
        self.store = Store(history)
        self.bookmark_interval = bookmark_interval
        self.down_until = 0.0
        self.down_mode = "refuse"
        self.cut_generation = 0  # bumped by cut_watches(); streams of older generations end
        self._thread = None
        self.kinds = LAYOUTS[layout]
        # authentication: a bearer token of ``tokens`` or a client certificate of the cluster CA
        self.tokens = set(tokens)
        self.seen_tokens: Dict[str, int] = {}  # bearer token -> requests that presented it
        self.tls = _tls.ServerTLS() if tls else None
        super().__init__((host, port), _Handler)

    def serve_layout(self, layout: str):
        """Serve another API layout from now on (as when other Gateway API CRDs are installed);
        the stored objects stay."""
        self.kinds = LAYOUTS[layout]

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls is not None:  # the handshake happens in the handler thread, on first read
            sock = self.tls.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        import sys
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):  # a client's bad handshake is its problem
            super().handle_error(request, client_address)

    # --- controls for tests ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.server_address[0]}:{self.server_address[1]}"

    def http_client(self, **kw):
        """An httpx.Client for this server: its CA trusted, a valid token sent."""
        import httpx
        verify = self.tls.client_context() if self.tls is not None else True
        headers = {"Authorization": f"Bearer {sorted(self.tokens)[0]}"} if self.tokens else {}
        return httpx.Client(base_url=self.url, verify=verify, headers=headers, **kw)

    def start(self) -> "KubeAPIServer":
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="kubeapi")
        self._thread.start()
        return self

    def stop(self):
        self.cut_watches()
        self.shutdown()
        self.server_close()

    def cut_watches(self):
        """End every open watch stream (the connection closes without a final chunk)."""
        with self.store.lock:
            self.cut_generation += 1
            for w in self.store.watches:
                w.events.put(None)

    def go_down(self, seconds: float, mode: str = "refuse"):
        """Refuse every connection (``refuse``) or answer 503 (``503``) for ``seconds``; cut the
        watches now."""
        self.down_mode = mode
        self.down_until = time.monotonic() + seconds
        self.cut_watches()

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until

    def compact(self):
        self.store.compact()

    def write_kubeconfig(self, path: str, context: str = "kubeapi-test", namespace: str = "default",
                         auth: str = "token") -> str:
        """A kubeconfig for this server: the cluster CA as ``certificate-authority-data`` and a
        bearer token (``auth="token"``) or a client certificate and key (``auth="cert"``)."""
        cluster = {"server": self.url}
        if self.tls is not None:
            cluster["certificate-authority-data"] = _b64(self.tls.ca_pem)
        if auth == "cert":
            cert, key = self.tls.client_cert("tester")
            user = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
        else:
            user = {"token": sorted(self.tokens)[0]}
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "kubeapi", "cluster": cluster}],
            "users": [{"name": "tester", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": "kubeapi", "user": "tester",
                                                        "namespace": namespace}}],
        }
        with open(path, "w") as fh:
            json.dump(config, fh)
        return path

    def authenticated(self, handler) -> bool:
        auth = handler.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):].strip()
            with self.store.lock:
                self.seen_tokens[token] = self.seen_tokens.get(token, 0) + 1
            return token in self.tokens
        return self.tls is not None and bool(handler.connection.getpeercert())

    def verify_request(self, request, client_address):
        if self.is_down() and self.down_mode == "refuse":
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            return False  # closed at once: the client sees a reset / disconnect
        return True

    # convenience for tests: direct writes without HTTP (of any kind, served now or not)
    def kind(self, plural: str) -> Kind:
        return next(k for k in _kinds.ALL_KINDS if k.plural == plural)

    def apply(self, obj: dict) -> dict:
        """Create or update ``obj`` directly (no HTTP): tests set up the cluster state with it."""
        group, _, version = obj["apiVersion"].rpartition("/")
        kind = next(k for k in _kinds.ALL_KINDS if k.kind == obj["kind"] and k.group == group)
        ns = obj["metadata"].get("namespace", "default") if kind.namespaced else None
        obj = copy.deepcopy(obj)
        try:
            current = self.store.get(kind, ns, obj["metadata"]["name"])
        except ApiError:
            return self.store.create(kind, ns, obj)
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        out = self.store.update(kind, ns, obj["metadata"]["name"], obj)
        if "status" in obj and kind.status:
            obj["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
            out = self.store.update(kind, ns, obj["metadata"]["name"], obj, subresource="status")
        return out

    def get(self, plural: str, namespace: Optional[str], name: str) -> dict:
        return self.store.get(self.kind(plural), namespace, name)

    def remove(self, plural: str, namespace: Optional[str], name: str) -> dict:
        return self.store.delete(self.kind(plural), namespace, name)

    def count(self, verb: str, plural: str, subresource: str = "") -> int:
        """Requests made with this API verb (``update``, ``list``...) on ``plural[/subresource]``."""
        return self.store.requests.get((verb, plural, subresource), 0)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: KubeAPIServer

    def log_message(self, fmt, *args):  # quiet
        pass

    # --- plumbing -----------------------------------------------------------------------------

    def _send_json(self, code: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, err: ApiError):
        self._send_json(err.code, err.status())

    def _body(self) -> dict:
        raw = self._raw
        if "protobuf" in (self.headers.get("Content-Type") or ""):
            # the real server speaks protobuf for built-in kinds; this one only JSON (clients
            # such as kubectl then send JSON)
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                        "accepted media types include: application/json, application/yaml")
        if not raw:
            raise ApiError(400, "BadRequest", "the request body is empty")
        try:
            body = json.loads(raw)
        except ValueError:
            try:
                import yaml
                body = yaml.safe_load(raw)
            except Exception:  # noqa: BLE001 - any parse failure is a 400
                raise ApiError(400, "BadRequest", "the request body is neither JSON nor YAML") from None
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        return body

    def _read_body(self) -> bytes:
        """The request body, by Content-Length or chunked (kubectl --raw streams its file)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after the chunk
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _dispatch(self, verb: str):
        self._raw = self._read_body()  # always read: the connection is kept alive
        if self.server.is_down():
            # refused connections are closed in verify_request; this is the 503 mode (or a
            # keep-alive connection opened before the outage)
            self.close_connection = True
            self._error(ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request"))
            return
        if not self.server.authenticated(self):
            self.close_connection = True
            self._error(ApiError(401, "Unauthorized", "Unauthorized"))
            return
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        parts = [p for p in url.path.split("/") if p]
        try:
            if verb == "GET" and self._discovery(parts):
                return
            self._resource(verb, parts, query)
        except ApiError as err:
            self._error(err)
        except (BrokenPipeError, ConnectionResetError, _Cut):
            self.close_connection = True

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- discovery ----------------------------------------------------------------------------

    def _discovery(self, parts) -> bool:
        host = f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        kinds = self.server.kinds
        if parts == ["version"]:
            doc = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-kubeapi-test", "platform": "linux/amd64"}
        elif parts == ["openapi", "v3"]:
            doc = _kinds.openapi_root(kinds)
        elif parts[:3] == ["openapi", "v3", "apis"] and len(parts) == 5:
            doc = _kinds.openapi_gv(kinds, parts[3], parts[4])
        elif parts[:3] == ["openapi", "v3", "api"] and len(parts) == 4:
            doc = _kinds.openapi_gv(kinds, "", parts[3])
        elif parts == ["api"]:
            doc = {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}
        elif parts == ["api", "v1"]:
            doc = _kinds.resource_list(kinds, "", "v1")
        elif parts == ["apis"]:
            doc = _kinds.api_group_list(kinds)
        elif len(parts) == 2 and parts[0] == "apis":
            doc = _kinds.api_group(kinds, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = _kinds.resource_list(kinds, parts[1], parts[2])
        else:
            return False
        if doc is None:
            return False  # not served: the resource path answers 404
        self._send_json(200, doc)
        return True

    # --- resources ----------------------------------------------------------------------------

    def _locate(self, parts):
        """(kind, version, namespace, name, subresource) from the URL path."""
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        kind = _kinds.served(self.server.kinds, group, version, rest[0])
        if kind is None or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if namespace is not None and not kind.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and (sub != "status" or not kind.status):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if kind.namespaced and name is not None and namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return kind, version, namespace, name, sub

    def _out(self, kind: Kind, version: str, obj: dict, in_list=False) -> dict:
        obj = dict(obj)
        if in_list and kind.builtin:
            obj.pop("kind", None)
            obj.pop("apiVersion", None)
            return obj
        out = {"apiVersion": kind.api_version(version), "kind": kind.kind}
        out.update((k, v) for k, v in obj.items() if k not in ("apiVersion", "kind"))
        return out

    def _resource(self, verb, parts, query):
        kind, version, namespace, name, sub = self._locate(parts)
        store = self.server.store
        k8s_verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(verb) or (
            "get" if name is not None else "watch" if query.get("watch") in ("1", "true") else "list")
        counted = (k8s_verb, kind.plural, sub or "")
        store.requests[counted] = store.requests.get(counted, 0) + 1
        at = (kind.plural, version)
        store.versions[at] = store.versions.get(at, 0) + 1
        dry = query.get("dryRun") == "All"
        if verb == "GET" and name is None:
            if query.get("watch") in ("1", "true"):
                return self._watch(kind, version, namespace, query)
            items, rv = store.list(kind, namespace, query.get("labelSelector"), query.get("fieldSelector"))
            return self._send_json(200, {"kind": kind.kind + "List", "apiVersion": kind.api_version(version),
                                         "metadata": {"resourceVersion": rv},
                                         "items": [self._out(kind, version, o, True) for o in items]})
        if verb == "GET":
            return self._send_json(200, self._out(kind, version, store.get(kind, namespace, name)))
        if verb == "POST" and name is None:
            body = self._check_kind(kind, version, self._body())
            return self._send_json(201, self._out(kind, version, store.create(kind, namespace, body, dry)))
        if name is None:
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")
        if verb == "PUT":
            body = self._check_kind(kind, version, self._body())
            return self._send_json(200, self._out(kind, version, store.update(kind, namespace, name, body, sub, dry)))
        if verb == "PATCH":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            merge = ctype == "application/merge-patch+json" or (
                # strategic merge patch is not served for custom resources; for built-in kinds it
                # is read as a merge patch (this server knows no patch strategies: lists replace)
                ctype == "application/strategic-merge-patch+json" and kind.builtin)
            if not merge:
                raise ApiError(415, "UnsupportedMediaType",
                               f"the body of the request was in an unknown format - accepted media types "
                               f"include: application/json-patch+json, application/merge-patch+json"
                               + (", application/strategic-merge-patch+json" if kind.builtin else ""))
            patch = self._body()
            with store.lock:
                current = store.get(kind, namespace, name)
                patched = merge_patch(current, patch)
                if "resourceVersion" not in ((patch.get("metadata") or {})):
                    patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                out = store.update(kind, namespace, name, patched, sub, dry)
            return self._send_json(200, self._out(kind, version, out))
        if verb == "DELETE":
            out = store.delete(kind, namespace, name, dry)
            return self._send_json(200, self._out(kind, version, out))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _check_kind(self, kind: Kind, version: str, body: dict) -> dict:
        if body.get("apiVersion") not in (None, kind.api_version(version)):
            raise ApiError(400, "BadRequest", f"the API version in the data ({body.get('apiVersion')}) does "
                                              f"not match the expected API version ({kind.api_version(version)})")
        if body.get("kind") not in (None, kind.kind):
            raise ApiError(400, "BadRequest", f"the kind {body.get('kind')!r} of the body does not match "
                                              f"the resource {kind.plural}")
        return body

    def _chunk(self, data: bytes):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, kind, version, namespace, query):
        server = self.server
        timeout = float(query.get("timeoutSeconds") or 1800)
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        try:
            w, initial = server.store.open_watch(kind, namespace, query.get("resourceVersion"),
                                                 query.get("labelSelector"), query.get("fieldSelector"))
        except ApiError as err:
            if err.code != 410:
                raise
            w, initial = None, [("ERROR", err.status())]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        generation = server.cut_generation
        try:
            for type_, obj in initial:
                self._chunk(self._event(kind, version, type_, obj))
            if w is None:  # the ERROR event ends the stream
                self._chunk(b"")
                return
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + server.bookmark_interval
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(deadline, next_bookmark) - now
                try:
                    event = w.events.get(timeout=max(wait, 0.0))
                except queue.Empty:
                    if bookmarks and time.monotonic() >= next_bookmark:
                        with server.store.lock:
                            rv = str(server.store.rv)
                        self._chunk(json.dumps({"type": "BOOKMARK", "object": {
                            "kind": kind.kind, "apiVersion": kind.api_version(version),
                            "metadata": {"resourceVersion": rv}}}).encode() + b"\n")
                        next_bookmark = time.monotonic() + server.bookmark_interval
                    continue
                if event is None or server.cut_generation != generation:
                    self.close_connection = True
                    raise _Cut()
                self._chunk(self._event(kind, version, *event))
            self._chunk(b"")  # timeoutSeconds: the stream ends cleanly
        finally:
            if w is not None:
                server.store.close_watch(w)

    def _event(self, kind, version, type_, obj) -> bytes:
        if type_ != "ERROR":
            obj = self._out(kind, version, obj)
        return json.dumps({"type": type_, "object": obj}).encode() + b"\n"


def main():  # pragma: no cover - manual use: python -m tests.kubeapi.server
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--kubeconfig", default=os.path.join(os.getcwd(), "kubeapi.kubeconfig"))
    args = ap.parse_args()
    srv = KubeAPIServer(port=args.port)
    srv.write_kubeconfig(args.kubeconfig)
    print(f"serving {srv.url}; KUBECONFIG={args.kubeconfig}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
