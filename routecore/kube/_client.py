"""A thin asyncio Kubernetes API client on httpx: connection settings, requests, list and watch.

Why our own client: the reflector needs exact control of the watch protocol (the list's
resourceVersion, every event's and every BOOKMARK's resourceVersion kept, a 410 ``ERROR`` event
turned into a relist that also notices deletions made meanwhile). The watch helpers of the
libraries we looked at either restart a too-old watch from "now" without a relist (lightkube's
retrying watch drops the resourceVersion on 410, so deletions during the gap are never seen) or
retry the stale resourceVersion once and raise (kubernetes_asyncio), and both bring large generated
model layers we do not use. The API subset is small: GET/POST/PUT on JSON and a line-per-event
watch stream.

Invariants:
- Every non-2xx answer raises ``ApiError`` carrying the Status (``code``, ``reason``); transport
  problems raise httpx exceptions. Nothing here retries: callers own backoff.
- ``watch`` yields ``(type, object)`` per line, ``ERROR`` included; it never swallows a line.
"""
from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import time
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import httpx
import yaml

from ._kinds import KindInfo

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class ApiError(Exception):
    """A non-2xx answer of the API server, with its Status object."""

    def __init__(self, code: int, status: Optional[dict] = None, text: str = ""):
        status = status if isinstance(status, dict) else {}
        self.code = int(status.get("code") or code)
        self.reason = status.get("reason") or ""
        self.status = status
        super().__init__(f"{self.code} {self.reason}: {status.get('message') or text or ''}".strip())


class ConfigurationError(ValueError):
    """The kubeconfig or the in-cluster environment cannot be used."""


class ClientConfig:
    """Where the API server is and how to authenticate: from a kubeconfig or in-cluster."""

    def __init__(self, server: str, *, token: Optional[str] = None, token_file: Optional[str] = None,
                 ca_file: Optional[str] = None, ca_data: Optional[bytes] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None,
                 cert_data: Optional[bytes] = None, key_data: Optional[bytes] = None,
                 tls_server_name: Optional[str] = None,
                 insecure: bool = False, namespace: str = "default",
                 username: Optional[str] = None, password: Optional[str] = None):
        self.server = server.rstrip("/")
        self.token, self.token_file = token, token_file
        self.ca_file, self.ca_data = ca_file, ca_data
        self.cert_file, self.key_file = cert_file, key_file
        self.cert_data, self.key_data = cert_data, key_data  # PEM, kept in memory (see ssl_context)
        self.tls_server_name = tls_server_name  # the name the server's certificate is checked for
        self.insecure = insecure
        self.namespace = namespace
        self.username, self.password = username, password
        self._token_read: Tuple[float, Any, Optional[str]] = (0.0, None, None)

    @classmethod
    def from_kubeconfig(cls, path: Optional[str] = None, context: Optional[str] = None) -> "ClientConfig":
        """Read a kubeconfig (``path``, else $KUBECONFIG's first file, else ~/.kube/config)."""
        if path is None:
            env = os.environ.get("KUBECONFIG")
            path = env.split(os.pathsep)[0] if env else os.path.expanduser("~/.kube/config")
        path = os.path.expanduser(os.fspath(path))
        try:
            with open(path) as fh:
                doc = yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"kubeconfig {path}: cannot be read: {exc}") from None
        base = os.path.dirname(os.path.abspath(path))

        def named(section: str, name: str) -> dict:
            for entry in doc.get(section) or ():
                if isinstance(entry, dict) and entry.get("name") == name:
                    return entry.get(section[:-1]) or {}
            raise ConfigurationError(f"kubeconfig {path}: no {section[:-1]} named {name!r}")

        ctx_name = context or doc.get("current-context")
        if not ctx_name:
            raise ConfigurationError(f"kubeconfig {path}: no current-context and no context given")
        ctx = named("contexts", ctx_name)
        cluster = named("clusters", ctx.get("cluster"))
        user = named("users", ctx.get("user")) if ctx.get("user") else {}
        if user.get("exec") or user.get("auth-provider"):
            raise ConfigurationError(f"kubeconfig {path}: user {ctx.get('user')!r}: exec and auth-provider "
                                     "credential plugins are not supported; use a token or a client certificate")
        if not cluster.get("server"):
            raise ConfigurationError(f"kubeconfig {path}: cluster {ctx.get('cluster')!r} has no server")

        def file(value):
            return None if not value else value if os.path.isabs(value) else os.path.join(base, value)

        def data(value):
            return base64.b64decode(value) if value else None

        insecure = bool(cluster.get("insecure-skip-tls-verify"))
        if insecure and (cluster.get("certificate-authority") or cluster.get("certificate-authority-data")):
            raise ConfigurationError(f"kubeconfig {path}: cluster {ctx.get('cluster')!r}: a certificate "
                                     "authority and insecure-skip-tls-verify together are not allowed")
        cert_file, key_file = file(user.get("client-certificate")), file(user.get("client-key"))
        cert_data, key_data = data(user.get("client-certificate-data")), data(user.get("client-key-data"))
        return cls(cluster["server"], token=user.get("token"), token_file=file(user.get("tokenFile")),
                   ca_file=file(cluster.get("certificate-authority")),
                   ca_data=data(cluster.get("certificate-authority-data")),
                   cert_file=cert_file, key_file=key_file, cert_data=cert_data, key_data=key_data,
                   tls_server_name=cluster.get("tls-server-name"),
                   insecure=insecure,
                   namespace=ctx.get("namespace") or "default",
                   username=user.get("username"), password=user.get("password"))

    @classmethod
    def in_cluster(cls, sa_dir: str = SA_DIR) -> "ClientConfig":
        """The Pod's service account: $KUBERNETES_SERVICE_HOST/PORT, its token (re-read as it
        rotates), CA and namespace."""
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise ConfigurationError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
        token_file = os.path.join(sa_dir, "token")
        if not os.path.exists(token_file):
            raise ConfigurationError(f"not in a cluster: no service account token at {token_file}")
        try:
            with open(os.path.join(sa_dir, "namespace")) as fh:
                namespace = fh.read().strip() or "default"
        except OSError:
            namespace = "default"
        host = f"[{host}]" if ":" in host else host
        return cls(f"https://{host}:{port}", token_file=token_file,
                   ca_file=os.path.join(sa_dir, "ca.crt"), namespace=namespace)

    @classmethod
    def auto(cls, kubeconfig: Optional[str] = None, context: Optional[str] = None) -> "ClientConfig":
        """As controllers find their cluster (controller-runtime's order): ``kubeconfig``, else
        $KUBECONFIG, else the in-cluster service account (in a Pod), else ~/.kube/config. A
        ``context`` asks for a kubeconfig."""
        if kubeconfig is None and context is None and not os.environ.get("KUBECONFIG") \
                and os.environ.get("KUBERNETES_SERVICE_HOST"):
            return cls.in_cluster()
        return cls.from_kubeconfig(kubeconfig, context)

    def _bearer(self) -> Optional[str]:
        """The token; a token file is read again whenever it changed (a projected service-account
        token is rotated by swapping the file) and at least once a minute."""
        if not self.token_file:
            return self.token
        try:
            st = os.stat(self.token_file)
        except OSError as exc:
            raise ConfigurationError(f"token file {self.token_file}: cannot be read: {exc}") from None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        read_at, seen, cached = self._token_read
        if cached is None or seen != stamp or time.monotonic() - read_at > 60:
            with open(self.token_file) as fh:
                cached = fh.read().strip()
            self._token_read = (time.monotonic(), stamp, cached)
        return cached

    def headers(self) -> Dict[str, str]:
        token = self._bearer()
        out = {"Accept": "application/json", "User-Agent": "routecore-kube"}
        if token:
            out["Authorization"] = f"Bearer {token}"
        elif self.username is not None:
            raw = f"{self.username}:{self.password or ''}".encode()
            out["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        return out

    def ssl_context(self):
        """The TLS client context: the server verified against the configured CA (else the
        system CAs); verification is off only when the configuration says
        ``insecure-skip-tls-verify`` (and then no CA may be given, as kubectl insists)."""
        if not self.server.startswith("https://"):
            return True
        try:
            if self.insecure:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif self.ca_file or self.ca_data:
                ctx = ssl.create_default_context(cafile=self.ca_file,
                                                 cadata=self.ca_data.decode() if self.ca_data else None)
            else:
                ctx = ssl.create_default_context()
        except (OSError, ssl.SSLError, ValueError) as exc:
            what = self.ca_file or "certificate-authority-data"
            raise ConfigurationError(f"cluster CA {what}: cannot be used: {exc}") from None
        if self.cert_data and self.key_data:
            # ssl reads a certificate chain from files only: a private directory, removed at once
            with tempfile.TemporaryDirectory(prefix="routecore-kube-") as tmp:
                cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
                for path, content in ((cert, self.cert_data), (key, self.key_data)):
                    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                        fh.write(content)
                self._load_chain(ctx, cert, key, "client-certificate-data")
        elif self.cert_file and self.key_file:
            self._load_chain(ctx, self.cert_file, self.key_file, self.cert_file)
        return ctx

    @staticmethod
    def _load_chain(ctx: ssl.SSLContext, cert: str, key: str, what: str) -> None:
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"client certificate {what}: cannot be used: {exc}") from None


class ApiClient:
    """The requests routecore.kube makes; one httpx.AsyncClient (connection pool) underneath."""

    def __init__(self, config: ClientConfig, *, timeout: float = 10.0):
        self.config = config
        self.timeout = timeout
        self._http = httpx.AsyncClient(base_url=config.server, verify=config.ssl_context(),
                                       timeout=timeout, trust_env=False)
        # kubeconfig tls-server-name: sent as SNI and checked against the certificate
        self._ext = {"sni_hostname": config.tls_server_name} if config.tls_server_name else None

    async def aclose(self):
        await self._http.aclose()

    async def request(self, method: str, path: str, *, params=None, body: Any = None,
                      content_type: str = "application/json") -> dict:
        headers = self.config.headers()
        content = None
        if body is not None:
            headers["Content-Type"] = content_type
            content = json.dumps(body).encode()
        resp = await self._http.request(method, path, params=params, headers=headers, content=content,
                                        extensions=self._ext)
        return _decode(resp)

    async def list(self, info: KindInfo, namespace: Optional[str] = None) -> Tuple[List[dict], str]:
        params = {}
        if info.field_selector:
            params["fieldSelector"] = info.field_selector
        doc = await self.request("GET", info.path(namespace), params=params)
        return doc.get("items") or [], str((doc.get("metadata") or {}).get("resourceVersion") or "")

    async def watch(self, info: KindInfo, namespace: Optional[str], resource_version: str, *,
                    timeout_seconds: int = 300) -> AsyncIterator[Tuple[str, dict]]:
        params = {"watch": "1", "allowWatchBookmarks": "true", "resourceVersion": resource_version,
                  "timeoutSeconds": str(int(timeout_seconds))}
        if info.field_selector:
            params["fieldSelector"] = info.field_selector
        # the read timeout outlasts timeoutSeconds a little: a silent stream means a dead one
        timeout = httpx.Timeout(self.timeout, read=timeout_seconds + max(self.timeout, 5.0))
        async with self._http.stream("GET", info.path(namespace), params=params,
                                     headers=self.config.headers(), timeout=timeout,
                                     extensions=self._ext) as resp:
            if resp.status_code >= 300:
                await resp.aread()
                _decode(resp)
            async for line in resp.aiter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                yield event.get("type"), event.get("object") or {}

    async def get(self, info: KindInfo, namespace: Optional[str], name: str) -> dict:
        return await self.request("GET", info.path(namespace, name))

    async def create(self, info: KindInfo, namespace: Optional[str], obj: dict) -> dict:
        return await self.request("POST", info.path(namespace), body=obj)

    async def replace(self, info: KindInfo, namespace: Optional[str], name: str, obj: dict,
                      subresource: Optional[str] = None) -> dict:
        return await self.request("PUT", info.path(namespace, name, subresource), body=obj)


def _decode(resp: httpx.Response) -> dict:
    try:
        doc = resp.json() if resp.content else {}
    except ValueError:
        doc = None
    if resp.status_code >= 300:
        raise ApiError(resp.status_code, doc if isinstance(doc, dict) else None, resp.text[:200])
    if not isinstance(doc, dict):
        raise ApiError(resp.status_code, None, f"expected a JSON object, got {resp.text[:200]!r}")
    return doc
