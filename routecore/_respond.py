"""What routecore.asgi and routecore.wsgi share: binding to a view, backend apps, local answers.

Invariants: nothing here is imported or built per request; a ``Binding`` resolves the view per
request from the Router (so ``Router.reload`` takes effect for new requests while requests in
flight keep the table they started with); ``reply`` is the one place that says how a decision the
middleware answers itself (404, 421, 500, redirect, CORS preflight, gRPC errors) looks on the wire.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional

from ._outcome import REDIRECT_CODES
from ._router import Router

DECISION_KEY = "routecore.decision"

REASONS = {
    200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 303: "See Other",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 404: "Not Found",
    421: "Misdirected Request", 500: "Internal Server Error", 502: "Bad Gateway",
}

MESSAGES = {
    400: "bad request: a refused path or an invalid Host",
    404: "no route matched",
    421: "misdirected request: the host belongs to another listener",
    500: "no valid backend for this request",
    502: "no application for the chosen backend",
}

# HTTP status -> gRPC status, as gRPC's "HTTP to gRPC Status Code Mapping" says; any other: 2
GRPC_FROM_HTTP = {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}
GRPC_UNKNOWN = 2

# --- encoding ----------------------------------------------------------------------------------

def to_bytes(text: str) -> bytes:
    """A header or path string as the bytes that go on the wire (latin-1, else UTF-8)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def encode_headers(pairs) -> list:
    """(name, value) str pairs -> ASGI header pairs: bytes, names lower-cased."""
    try:
        return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    except (UnicodeEncodeError, AttributeError):  # non-latin-1 text, or bytes already
        pass
    out = []
    for name, value in pairs:
        if not isinstance(name, bytes):
            name = to_bytes(name)
        if not isinstance(value, bytes):
            value = to_bytes(value)
        out.append((name.lower(), value))
    return out


def wsgi_str(text: str) -> str:
    """A str a WSGI server can write: PEP 3333 "bytes as latin-1" (UTF-8 bytes if need be)."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")


# --- binding -----------------------------------------------------------------------------------

def _parse_selector(value, what: str, port_required: bool):
    """("ns", "name", port-or-None) from ("ns", "name"[, port]) or "ns/name[:port]"."""
    if isinstance(value, str):
        ns, slash, rest = value.partition("/")
        if not slash or not ns or not rest:
            raise ValueError(f"{what}= takes 'namespace/name[:port]' or (namespace, name[, port]), "
                             f"got {value!r}")
        name, colon, port = rest.partition(":")
        parts = (ns, name) + ((port,) if colon else ())
    else:
        parts = tuple(value)
    if len(parts) not in (2, 3) or not all(isinstance(p, str) and p for p in parts[:2]):
        raise ValueError(f"{what}= takes (namespace, name[, port]) or 'namespace/name[:port]', "
                         f"got {value!r}")
    port = parts[2] if len(parts) == 3 else None
    if port is not None:
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise ValueError(f"{what}= port must be an integer, got {port!r}") from None
    if port is None and port_required:
        raise ValueError(f"{what}= needs a port: (namespace, name, port) or 'namespace/name:port'")
    return parts[0], parts[1], port


class PortUnknown(LookupError):
    """A gateway bound without a port got a request whose server port is unknown."""


class Binding:
    """The view each request is decided by.

    ``Binding(view)``: always that view (a table from ``router.gateway(...)``/``router.service(...)``;
    it does not follow ``Router.reload``). ``Binding(router, gateway=...)`` or ``service=...``:
    the view is looked up in the Router per request (one dict lookup), so reloads take effect for
    new requests. A gateway given without a port takes the port each request arrived on (the
    server's port: ASGI ``scope["server"]``, WSGI ``SERVER_PORT``).
    """

    def __init__(self, router_or_view, *, gateway=None, service=None,
                 client_namespace: Optional[str] = None):
        self.router: Optional[Router] = None
        self.view = None           # a fixed view, or None: resolve per request
        self.fixed = False         # True: ``resolve`` ignores its argument (the request's port)
        if isinstance(router_or_view, Router):
            if (gateway is None) == (service is None):
                raise TypeError("with a Router, give exactly one of gateway=(namespace, name[, port]) "
                                "or service=(namespace, name, port)")
            self.router = router_or_view
            if gateway is not None:
                if client_namespace is not None:
                    raise TypeError("client_namespace= applies to service=, not gateway=")
                ns, name, port = _parse_selector(gateway, "gateway", port_required=False)
                self.describe = f"gateway {ns}/{name}" + (f":{port}" if port is not None else "")
                if not any(g.namespace == ns and g.name == name for g in router_or_view.config.gateways):
                    raise LookupError(f"no Gateway {ns}/{name} in this configuration")
                self.resolve = self._gateway_resolver(router_or_view, ns, name, port)
                self.fixed = port is not None
            else:
                ns, name, port = _parse_selector(service, "service", port_required=True)
                self.describe = f"service {ns}/{name}:{port}"
                self.resolve = self._service_resolver(router_or_view, ns, name, port, client_namespace)
                self.fixed = True
            if self.fixed:
                self.resolve(None)  # fail now, not on the first request, on a wrong selector
        else:
            if gateway is not None or service is not None or client_namespace is not None:
                raise TypeError("gateway=/service=/client_namespace= select a view of a Router; "
                                "a view was given")
            if not (hasattr(router_or_view, "route_asgi") and hasattr(router_or_view, "route")):
                raise TypeError("expected a routecore.Router or a view (router.gateway(...) / "
                                f"router.service(...)), got {type(router_or_view).__name__}")
            self.view = router_or_view
            self.describe = "view"
            self.fixed = True
            self.resolve = lambda port: router_or_view

    @staticmethod
    def _gateway_resolver(router: Router, ns: str, name: str, port: Optional[int]) -> Callable:
        # router.cached_view(key) is one dict lookup in the Router's compiled views; a miss
        # (first use, after a reload) goes through router.gateway(), which builds and caches the
        # view or raises LookupError.
        if port is not None:
            key = ("gateway", ns, name, port)

            def resolve(_port):
                view = router.cached_view(key)
                return view if view is not None else router.gateway(name, ns, port)
        else:
            def resolve(port):
                if port is None:
                    raise PortUnknown(f"Gateway {ns}/{name}: the request's port is unknown "
                                      "(no server address); give gateway=(namespace, name, port)")
                view = router.cached_view(("gateway", ns, name, port))
                return view if view is not None else router.gateway(name, ns, port)
        return resolve

    @staticmethod
    def _service_resolver(router: Router, ns: str, name: str, port: int, client_ns) -> Callable:
        key = ("service", ns, name, port, client_ns)

        def resolve(_port):
            view = router.cached_view(key)
            return view if view is not None else router.service(name, ns, port, client_ns)
        return resolve


# --- backend apps ------------------------------------------------------------------------------

class Backends:
    """backend -> application: ``mapping["ns/name:port"]``, else ``mapping["ns/name"]``, else
    ``default`` (the wrapped app; may be None). Backend objects are built once per compiled table
    and shared by every decision that picks them, so lookups are cached by identity."""

    def __init__(self, mapping: Optional[Mapping], default):
        self.mapping = dict(mapping or {})
        for key in self.mapping:
            if not isinstance(key, str) or "/" not in key:
                raise ValueError(f"backends= keys are 'namespace/name:port' or 'namespace/name', "
                                 f"got {key!r}")
        self.default = default
        self._cache: dict = {}

    def app_for(self, backend):
        hit = self._cache.get(id(backend))
        if hit is not None and hit[0] is backend:
            return hit[1]
        app = self.default
        if backend is not None:
            app = self.mapping.get(f"{backend.namespace}/{backend.name}:{backend.port}")
            if app is None:
                app = self.mapping.get(f"{backend.namespace}/{backend.name}", self.default)
        if len(self._cache) >= 4096:  # old tables' backends after many reloads
            self._cache.clear()
        self._cache[id(backend)] = (backend, app)  # the reference keeps id() unique
        return app


# --- answers the middleware gives itself -------------------------------------------------------

def grpc_code(decision, status: int) -> int:
    code = decision.grpc_status if decision is not None else None
    return code if code is not None else GRPC_FROM_HTTP.get(status, GRPC_UNKNOWN)


def _grpc_message(text: str) -> str:
    """grpc-message is percent-encoded (gRPC over HTTP/2: printable ASCII except %)."""
    out = []
    for byte in text.encode("utf-8"):
        out.append(chr(byte) if 0x20 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}")
    return "".join(out)


def reply(status: int, decision=None, grpc: bool = False, message: Optional[str] = None):
    """(HTTP status, headers, body, grpc trailers or None) answering ``decision`` locally.

    Headers are (name, value) str pairs after the decision's response header filters; for gRPC
    the status is 200 and the grpc-status / grpc-message pairs are returned apart, for the caller
    to send as trailers or, in a trailers-only response, with the headers."""
    location = decision.location if decision is not None and status in REDIRECT_CODES else None
    if status == 204:  # a CORS preflight (never a gRPC call): the headers are the answer
        headers = decision.apply_response_headers([]) if decision is not None else []
        return 204, headers + [("content-length", "0")], b"", None
    if grpc:
        text = message or (f"redirect to {location}" if location else
                           MESSAGES.get(status, REASONS.get(status, "error")))
        headers = [("content-type", "application/grpc")]
        if decision is not None:
            headers = decision.apply_response_headers(headers)
        trailers = [("grpc-status", str(grpc_code(decision, status))),
                    ("grpc-message", _grpc_message(text))]
        return 200, headers, b"", trailers
    if location is not None:
        headers = [("location", location), ("content-length", "0")]
        body = b""
    else:
        text = message or MESSAGES.get(status, REASONS.get(status, "error"))
        body = f"{text}\n".encode("utf-8")
        headers = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body)))]
    if decision is not None:
        headers = decision.apply_response_headers(headers)
    return status, headers, body, None


def status_line(status: int) -> str:
    return f"{status} {REASONS.get(status, 'Unknown')}"


class MiddlewareBase:
    """What the ASGI and WSGI RoutingMiddleware share: the binding to a view and the backends."""

    def __init__(self, app, router_or_view, *, gateway=None, service=None,
                 client_namespace: Optional[str] = None, backends: Optional[Mapping] = None):
        if app is None and not backends:
            raise TypeError("RoutingMiddleware needs an app, or backends= to dispatch to")
        self.app = app
        self.binding = Binding(router_or_view, gateway=gateway, service=service,
                               client_namespace=client_namespace)
        self.backends = Backends(backends, app) if backends else None
        self._view = self.binding.view
        self._resolve = self.binding.resolve
        self._fixed = self.binding.fixed
