"""What a matched rule does: prebuilt per-backend Choices and the filters applied to a request.

Invariants: a Choice is built once at compile time and shared by every Decision that picks it;
nothing here depends on a request except the functions that take one as an argument.
"""
from __future__ import annotations

from typing import Optional, Tuple

from attrs import frozen

from ._config.models import CORS, PathModifier, RequestRedirect, URLRewrite
from ._decision import FIELDS
from ._paths import host_key, replace_prefix
from ._request import header_map

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


@frozen
class Backend:
    namespace: str
    name: str
    port: Optional[int]
    group: str = ""
    kind: str = "Service"
    weight: int = 1

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}"


@frozen
class BackendTLS:
    """The BackendTLSPolicy that governs the connection to a decision's backend (``backend_tls``):
    connect with TLS, send ``hostname`` as SNI, verify against the CA certificates of
    ``ca_certificate_refs`` ((group, kind, name) in the policy's namespace) or the
    ``well_known_ca_certificates`` ("System"), and, when ``subject_alt_names`` ((type, value):
    "Hostname"/"URI") is set, accept the certificate only with one of them (else it must match
    ``hostname``)."""

    policy: str  # "namespace/name"
    hostname: str
    ca_certificate_refs: Tuple[Tuple[str, str, str], ...] = ()
    well_known_ca_certificates: Optional[str] = None
    subject_alt_names: Tuple[Tuple[str, str], ...] = ()


@frozen
class Mirror:
    backend: Backend
    percent: float = 100.0


@frozen
class HeaderOps:
    """One header modifier, names lower-cased, applied in the order set, add, remove."""

    set: Tuple[Tuple[str, str, str], ...] = ()  # (lower name, name as written, value)
    add: Tuple[Tuple[str, str, str], ...] = ()
    remove: frozenset = frozenset()

    @classmethod
    def from_model(cls, mod) -> "HeaderOps":
        return cls(
            set=tuple((n.lower(), n, v) for n, v in mod.set),
            add=tuple((n.lower(), n, v) for n, v in mod.add),
            remove=frozenset(n.lower() for n in mod.remove),
        )

    def apply(self, pairs: list) -> list:
        if self.set:
            names = {low for low, _, _ in self.set}
            pairs = [p for p in pairs if p[0].lower() not in names]
            pairs.extend((name, value) for _, name, value in self.set)
        for low, name, value in self.add:
            pairs.append((name, value))
        if self.remove:
            pairs = [p for p in pairs if p[0].lower() not in self.remove]
        return pairs


@frozen
class Choice:
    """The request-independent part of a Decision: one per (listener, rule, backendRef)."""

    matched: bool
    status: Optional[int]
    backend: Optional[Backend] = None
    route: Optional[str] = None
    kind: Optional[str] = None
    rule: Optional[int] = None
    rule_name: Optional[str] = None
    listener: Optional[str] = None
    mirrors: tuple = ()
    timeouts: object = None
    retry: object = None
    session_persistence: object = None
    request_headers: Tuple[HeaderOps, ...] = ()
    response_headers: Tuple[HeaderOps, ...] = ()
    redirect: Optional[RequestRedirect] = None
    rewrite: Optional[URLRewrite] = None
    # the normalised PathPrefix of the rule's single match, for ReplacePrefixMatch
    prefix: Optional[str] = None
    # redirect port fallback: the listener port (Gateway) or the Service port (mesh)
    port: Optional[int] = None
    default_scheme: str = "http"
    # the same choice answered to a gRPC client: its grpc-status (12 or 14), else None
    grpc_status: Optional[int] = None
    # the rule's CORS filter: answered per request by cors_choice()
    cors: Optional[CORS] = None
    # ExtensionRef filters of the rule and backendRef, for the caller to run, in order
    extensions: tuple = ()
    # the BackendTLSPolicy of ``backend`` (a BackendTLS), or None
    backend_tls: Optional[BackendTLS] = None
    # route_tls decisions: the TLS listener's mode, "Passthrough" | "Terminate"; else None
    tls_mode: Optional[str] = None


def _new_path(modifier: Optional[PathModifier], path: str, prefix: Optional[str]) -> str:
    if modifier is None:
        return path
    if modifier.type == "ReplaceFullPath":
        return modifier.value
    return replace_prefix(path, prefix or "", modifier.value)


def is_fixed(choice: Choice) -> bool:
    """True when a decision with this choice carries nothing from the request: it answers with a
    status that is neither a redirect nor a CORS preflight (404, 421, 500, ...). Tables build such
    decisions once and return the same object for every request. False when ``status`` is None
    (the native table's build skips the call then, as for ``needs_host``)."""
    return choice.status is not None and choice.status not in REDIRECT_CODES and choice.cors is None


def needs_host(choice: Choice) -> bool:
    """True for a redirect whose Location takes its host from the request (no ``hostname``): a
    request without a Host gets 400 instead (never ``http:///...``)."""
    return (choice.redirect is not None and choice.status in REDIRECT_CODES
            and not choice.redirect.hostname)


def without_host(choice: Choice, grpc: bool) -> Choice:
    """The answer instead of a ``needs_host`` redirect on a request without a Host: 400 (gRPC:
    3 INVALID_ARGUMENT), the rule still reported. Built per request: a rare error path."""
    import attrs

    return attrs.evolve(choice, status=400, redirect=None, grpc_status=3 if grpc else None)


def upstream_path(choice: Choice, path: Optional[str], query: Optional[str]) -> Optional[str]:
    """The path and query to send upstream; None when nothing is forwarded (``status`` set)."""
    if choice.status is not None:
        return None
    if choice.rewrite is not None:
        path = _new_path(choice.rewrite.path, path, choice.prefix)
    return path if query is None else f"{path}?{query}"


def upstream_host(choice: Choice, host: Optional[str]) -> Optional[str]:
    """The Host to send upstream; None when nothing is forwarded (``status`` set)."""
    if choice.status is not None:
        return None
    if choice.rewrite is not None and choice.rewrite.hostname:
        return choice.rewrite.hostname
    return host


_DEFAULT_PORTS = {"http": 80, "https": 443}


def location(choice: Choice, path: str, query: Optional[str], host: Optional[str],
             scheme: Optional[str]) -> Optional[str]:
    """The absolute Location of a RequestRedirect (digest 5.2, port derivation included)."""
    r = choice.redirect
    if r is None or choice.status not in REDIRECT_CODES:
        return None
    req_scheme = scheme or choice.default_scheme
    out_scheme = r.scheme or req_scheme
    if r.hostname:
        hostname = r.hostname
    else:
        hostname = host_key(host) or ""
    if r.port is not None:
        port = r.port
    elif r.scheme is not None:
        port = _DEFAULT_PORTS[r.scheme]
    else:
        port = choice.port if choice.port is not None else _DEFAULT_PORTS.get(out_scheme)
    netloc = hostname if port == _DEFAULT_PORTS.get(out_scheme) or port is None else f"{hostname}:{port}"
    new_path = _new_path(r.path, path, choice.prefix)
    if query is not None:
        new_path = f"{new_path}?{query}"
    return f"{out_scheme}://{netloc}{new_path}"


def _as_str_pairs(headers) -> list:
    if headers is None:
        return []
    if hasattr(headers, "items"):
        headers = headers.items()
    out = []
    for name, value in headers:
        if isinstance(name, (bytes, bytearray)):
            name = bytes(name).decode("latin-1")
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("latin-1")
        out.append((name, value))
    return out


def apply_headers(ops: Tuple[HeaderOps, ...], headers) -> list:
    pairs = _as_str_pairs(headers)
    for op in ops:
        pairs = op.apply(pairs)
    return pairs


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    import attrs

    return {k: _plain(v) for k, v in attrs.asdict(value, recurse=False).items()}


def decision_dict(decision) -> dict:
    """Every public attribute of a Decision as JSON-ready data (used by both twins)."""
    return {name: _plain(getattr(decision, name)) for name in FIELDS}


def decision_repr(decision) -> str:
    parts = []
    for name in ("status", "route", "rule", "backend", "listener", "location"):
        value = getattr(decision, name)
        if value is not None:
            parts.append(f"{name}={value!s}" if name == "backend" else f"{name}={value!r}")
    return f"Decision(matched={decision.matched!r}, {', '.join(parts)})"


# --- CORS (digest 5.5) -------------------------------------------------------------------------

_SCHEME_PORTS = {"http": "80", "https": "443"}


def _origin_parts(origin: str):
    """("scheme", "host", "port") of an origin, lower-cased, default port filled in; or None."""
    scheme, sep, rest = origin.partition("://")
    if not sep or not rest or "/" in rest:
        return None
    scheme = scheme.lower()
    host, _, port = rest.rpartition(":") if rest.rfind(":") > rest.rfind("]") else (rest, "", "")
    if not host:
        host, port = rest, ""
    return scheme, host.lower(), port or _SCHEME_PORTS.get(scheme, "")


def origin_allowed(cors: CORS, origin: str) -> bool:
    """Whether ``origin`` is one of allowOrigins ("*" alone allows every origin)."""
    if "*" in cors.allow_origins:
        return True
    got = _origin_parts(origin)
    if got is None:
        return False
    for allowed in cors.allow_origins:
        want = _origin_parts(allowed)
        if want is None or want[0] != got[0] or want[2] != got[2]:
            continue
        if want[1].startswith("*"):  # "*" stands for one or more labels on the left
            if got[1].endswith(want[1][1:]) and len(got[1]) > len(want[1]) - 1:
                return True
        elif want[1] == got[1]:
            return True
    return False


def cors_choice(choice: Choice, method: str, headers) -> Choice:
    """The choice for this request under the rule's CORS filter: a preflight (OPTIONS with Origin
    and Access-Control-Request-Method) is answered with 204; an allowed actual request gets the
    CORS response headers added to the rule's response header filters."""
    cors = choice.cors
    req = header_map(headers)
    origin = req.get("origin")
    preflight = method == "OPTIONS" and origin is not None and "access-control-request-method" in req
    out = []
    if origin is not None and origin_allowed(cors, origin):
        star = "*" in cors.allow_origins and not cors.allow_credentials
        out.append(("access-control-allow-origin", "*" if star else origin))
        if not star:
            out.append(("vary", "Origin"))
        if cors.allow_credentials:
            out.append(("access-control-allow-credentials", "true"))
        if preflight:
            asked_method = req.get("access-control-request-method", "")
            if cors.allow_methods == ("*",):
                methods = "*" if not cors.allow_credentials else asked_method
            else:
                methods = ", ".join(cors.allow_methods)
            if methods:
                out.append(("access-control-allow-methods", methods))
            asked_headers = req.get("access-control-request-headers")
            if cors.allow_headers == ("*",):
                allow_headers = "*" if not cors.allow_credentials else asked_headers
            else:
                allow_headers = ", ".join(cors.allow_headers)
            if allow_headers:
                out.append(("access-control-allow-headers", allow_headers))
            out.append(("access-control-max-age", str(cors.max_age)))
        # on the preflight too: the HTTPRouteCORS conformance test requires it there
        if cors.expose_headers:
            out.append(("access-control-expose-headers", ", ".join(cors.expose_headers)))
    ops = HeaderOps(set=tuple((n, n, v) for n, v in out if n != "vary"),
                    add=tuple((n, n, v) for n, v in out if n == "vary"))
    if preflight:
        import attrs

        return attrs.evolve(choice, status=204, backend=None, response_headers=(ops,),
                            request_headers=(), redirect=None, rewrite=None, mirrors=(), cors=None)
    if not out:
        return choice
    import attrs

    return attrs.evolve(choice, response_headers=choice.response_headers + (ops,), cors=None)
