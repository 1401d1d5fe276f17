"""Frozen attrs models of the Gateway API objects, after CRD defaults are applied.

Invariants (established by ``routecore._config.parse``, relied on everywhere else):
- every model is frozen and slotted; collections are tuples, never lists or dicts;
- CRD defaults are applied: a rule always has at least one match, a match always has a path
  (an HTTPRoute's; a GRPCRoute's has a GRPCMethodMatch or None, which matches everything),
  group/kind/namespace/weight of references are filled in;
- every string a model holds has passed validation (hostnames lower-case, methods upper-case...);
- regexes are validated RE2 programs, but are stored as their source text.
"""
from __future__ import annotations

from typing import Optional, Tuple

import attrs
from attrs import frozen

GATEWAY_GROUP = "gateway.networking.k8s.io"
CORE_GROUP = ""

# --- request matching -------------------------------------------------------------------------


@frozen
class PathMatch:
    type: str  # "Exact" | "PathPrefix" | "RegularExpression"
    value: str


@frozen
class HeaderMatch:
    type: str  # "Exact" | "RegularExpression"
    name: str  # lower-cased
    value: str


@frozen
class QueryParamMatch:
    type: str  # "Exact" | "RegularExpression"
    name: str  # case-sensitive, as written
    value: str


_DEFAULT_PATH = PathMatch("PathPrefix", "/")


@frozen(init=False, repr=False, match_args=False)
class RouteMatch:
    """One HTTPRoute match. Its path is held as two attributes of its own, ``path_type`` and
    ``path_value`` (a PathMatch per match was 64 bytes more per match, issue 15 item 5); ``path``
    reads them as the PathMatch they are, made on each read (equal, not the same object), and
    ``RouteMatch(path=PathMatch(...), ...)``, equality, hashing by value and ``repr`` are as when
    ``path`` was an attribute. ``attrs.fields`` lists path_type and path_value."""

    path_type: str = "PathPrefix"  # "Exact" | "PathPrefix" | "RegularExpression"
    path_value: str = "/"
    headers: Tuple[HeaderMatch, ...] = ()
    query_params: Tuple[QueryParamMatch, ...] = ()
    method: Optional[str] = None

    __match_args__ = ("path", "headers", "query_params", "method")

    def __init__(self, path: PathMatch = _DEFAULT_PATH, headers: Tuple[HeaderMatch, ...] = (),
                 query_params: Tuple[QueryParamMatch, ...] = (), method: Optional[str] = None, *,
                 path_type: Optional[str] = None, path_value: Optional[str] = None) -> None:
        # (path_type / path_value: the attributes' own names, which attrs.evolve passes)
        put = object.__setattr__
        put(self, "path_type", path.type if path_type is None else path_type)
        put(self, "path_value", path.value if path_value is None else path_value)
        put(self, "headers", headers)
        put(self, "query_params", query_params)
        put(self, "method", method)

    @property
    def path(self) -> PathMatch:
        """(routecore itself reads path_type and path_value)"""
        return PathMatch(self.path_type, self.path_value)

    def __repr__(self) -> str:
        return (f"RouteMatch(path={self.path!r}, headers={self.headers!r}, "
                f"query_params={self.query_params!r}, method={self.method!r})")


@frozen
class GRPCMethodMatch:
    """GRPCRoute ``matches[].method``: kept as written; routecore._compile.table turns it into a path
    match on ``/<service>/<method>``. At least one of service/method is set."""

    type: str = "Exact"  # "Exact" | "RegularExpression"
    service: Optional[str] = None
    method: Optional[str] = None


@frozen
class GRPCRouteMatch:
    """One GRPCRoute match; ``method`` None matches every gRPC request."""

    method: Optional[GRPCMethodMatch] = None
    headers: Tuple[HeaderMatch, ...] = ()


# --- references -------------------------------------------------------------------------------


@frozen
class ParentRef:
    group: str
    kind: str
    namespace: str
    name: str
    section_name: Optional[str] = None
    port: Optional[int] = None


@frozen
class BackendRef:
    group: str
    kind: str
    namespace: str
    name: str
    port: Optional[int] = None
    weight: int = 1
    filters: tuple = ()


# --- filters ----------------------------------------------------------------------------------


@frozen
class HeaderModifier:
    """RequestHeaderModifier / ResponseHeaderModifier: names of set/add are kept as written."""

    type: str  # "RequestHeaderModifier" | "ResponseHeaderModifier"
    set: Tuple[Tuple[str, str], ...] = ()
    add: Tuple[Tuple[str, str], ...] = ()
    remove: Tuple[str, ...] = ()


@frozen
class PathModifier:
    type: str  # "ReplaceFullPath" | "ReplacePrefixMatch"
    value: str


@frozen
class RequestRedirect:
    type = "RequestRedirect"
    scheme: Optional[str] = None
    hostname: Optional[str] = None
    path: Optional[PathModifier] = None
    port: Optional[int] = None
    status_code: int = 302


@frozen
class URLRewrite:
    type = "URLRewrite"
    hostname: Optional[str] = None
    path: Optional[PathModifier] = None


@frozen
class RequestMirror:
    type = "RequestMirror"
    backend_ref: BackendRef
    percent: float = 100.0


@frozen
class CORS:
    type = "CORS"
    allow_origins: Tuple[str, ...] = ()
    allow_methods: Tuple[str, ...] = ()
    allow_headers: Tuple[str, ...] = ()
    expose_headers: Tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int = 5


@frozen
class ExtensionRef:
    type = "ExtensionRef"
    group: str
    kind: str
    name: str


# --- per-rule settings (also the public Timeouts / Retry / SessionPersistence) -----------------


@frozen
class Timeouts:
    request: Optional[float] = None
    backend_request: Optional[float] = None


@frozen
class Retry:
    codes: frozenset = frozenset()
    attempts: Optional[int] = None
    backoff: Optional[float] = None


@frozen
class SessionPersistence:
    type: str = "Cookie"
    cookie_name: Optional[str] = None
    cookie_path: Optional[str] = "/"
    cookie_lifetime_type: Optional[str] = "Session"
    header_name: Optional[str] = None
    absolute_timeout: Optional[float] = None
    idle_timeout: Optional[float] = None


# --- objects ----------------------------------------------------------------------------------


@frozen
class Rule:
    matches: Tuple[RouteMatch, ...] = (RouteMatch(),)
    filters: tuple = ()
    backend_refs: Tuple[BackendRef, ...] = ()
    name: Optional[str] = None
    timeouts: Optional[Timeouts] = None
    retry: Optional[Retry] = None
    session_persistence: Optional[SessionPersistence] = None


@frozen
class HTTPRoute:
    namespace: str
    name: str
    parent_refs: Tuple[ParentRef, ...] = ()
    hostnames: Tuple[str, ...] = ()
    rules: Tuple[Rule, ...] = (Rule(),)
    # seconds since the epoch; None (not given) sorts after every route that has one
    creation_timestamp: Optional[int] = None
    # original index of each kept rule in spec.rules (differs only when strict=False dropped some)
    rule_indexes: Optional[Tuple[int, ...]] = None
    kind: str = "HTTPRoute"
    # the indexes (as written) of the rules strict=False left out, ascending
    dropped_rules: Tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@frozen
class GRPCRoute:
    """A GRPCRoute; its rules are ``Rule``s whose matches are ``GRPCRouteMatch``es (no
    timeouts/retry). A rule written without matches holds one ``GRPCRouteMatch()``."""

    namespace: str
    name: str
    parent_refs: Tuple[ParentRef, ...] = ()
    hostnames: Tuple[str, ...] = ()
    rules: Tuple[Rule, ...] = ()
    creation_timestamp: Optional[int] = None
    rule_indexes: Optional[Tuple[int, ...]] = None
    kind: str = "GRPCRoute"
    dropped_rules: Tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@frozen
class LabelSelectorRequirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: Tuple[str, ...] = ()


@frozen
class LabelSelector:
    match_labels: Tuple[Tuple[str, str], ...] = ()
    match_expressions: Tuple[LabelSelectorRequirement, ...] = ()

    def matches(self, labels) -> bool:
        for k, v in self.match_labels:
            if labels.get(k) != v:
                return False
        for req in self.match_expressions:
            present = req.key in labels
            if req.operator == "In" and not (present and labels[req.key] in req.values):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in req.values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True


@frozen
class RouteGroupKind:
    group: str
    kind: str


@frozen
class SecretRef:
    """A listener's ``tls.certificateRefs`` item (namespace filled in: the owner's by default)."""

    group: str
    kind: str
    namespace: str
    name: str


@frozen
class Listener:
    name: str
    port: int
    protocol: str
    hostname: Optional[str] = None
    allowed_from: str = "Same"  # Same | All | Selector
    selector: Optional[LabelSelector] = None
    allowed_kinds: Tuple[RouteGroupKind, ...] = ()  # empty: derived from the protocol
    tls_mode: Optional[str] = None  # HTTPS/TLS: "Terminate" | "Passthrough"; else None
    certificate_refs: Tuple[SecretRef, ...] = ()
    # None: a listener of the Gateway itself; ("ns", "name"): an entry of that ListenerSet
    owner: Optional[Tuple[str, str]] = None

    @property
    def key(self) -> str:
        """Unique within a Gateway and the ListenerSets merged into it: the name of a Gateway
        listener, "ns/listenerset/name" of a ListenerSet entry (Decision.listener)."""
        return self.name if self.owner is None else f"{self.owner[0]}/{self.owner[1]}/{self.name}"

    @property
    def owner_namespace(self) -> Optional[str]:
        return None if self.owner is None else self.owner[0]


@frozen
class Gateway:
    namespace: str
    name: str
    gateway_class: str
    listeners: Tuple[Listener, ...]
    kind: str = "Gateway"
    # spec.allowedListeners.namespaces: from (None | Same | All | Selector) and its selector
    allowed_listeners: str = "None"
    listeners_selector: Optional[LabelSelector] = None


@frozen
class ListenerSet:
    namespace: str
    name: str
    parent: Tuple[str, str, str, str]  # spec.parentRef: (group, kind, namespace, name)
    listeners: Tuple[Listener, ...]  # their owner is this set
    creation_timestamp: Optional[int] = None
    kind: str = "ListenerSet"


@frozen
class StreamRoute:
    """A TLSRoute, TCPRoute or UDPRoute (``kind``): parentRefs, hostnames (TLSRoute only) and
    rules that hold backendRefs only (``Rule.matches`` is empty)."""

    namespace: str
    name: str
    kind: str
    parent_refs: Tuple[ParentRef, ...] = ()
    hostnames: Tuple[str, ...] = ()
    rules: Tuple[Rule, ...] = ()
    creation_timestamp: Optional[int] = None
    rule_indexes: Optional[Tuple[int, ...]] = None
    # the indexes (as written) of the rules strict=False left out, ascending
    dropped_rules: Tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@frozen
class PolicyTargetRef:
    group: str
    kind: str
    name: str
    section_name: Optional[str] = None


@frozen
class BackendTLSPolicy:
    namespace: str
    name: str
    target_refs: Tuple[PolicyTargetRef, ...]
    hostname: str
    ca_certificate_refs: Tuple[Tuple[str, str, str], ...] = ()  # (group, kind, name)
    well_known_ca_certificates: Optional[str] = None
    subject_alt_names: Tuple[Tuple[str, str], ...] = ()  # (type, value)
    creation_timestamp: Optional[int] = None
    kind: str = "BackendTLSPolicy"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@frozen
class Secret:
    """A core v1 Secret; ``data`` decoded from base64 (key -> bytes). ``valid_tls`` says
    whether it is a usable kubernetes.io/tls Secret (type, and PEM ``tls.crt``/``tls.key``)."""

    namespace: str
    name: str
    type: str = "Opaque"
    data: Tuple[Tuple[str, bytes], ...] = ()
    kind: str = "Secret"

    def get(self, key: str) -> Optional[bytes]:
        return dict(self.data).get(key)

    @property
    def valid_tls(self) -> bool:
        crt, key = self.get("tls.crt"), self.get("tls.key")
        return (self.type == "kubernetes.io/tls" and crt is not None and key is not None
                and b"-----BEGIN" in crt and b"-----BEGIN" in key)


@frozen
class ConfigMap:
    namespace: str
    name: str
    data: Tuple[Tuple[str, str], ...] = ()
    kind: str = "ConfigMap"

    def get(self, key: str) -> Optional[str]:
        return dict(self.data).get(key)

    @property
    def valid_ca(self) -> bool:
        """``ca.crt`` holds a PEM certificate."""
        return "-----BEGIN CERTIFICATE-----" in (self.get("ca.crt") or "")


@frozen
class ReferenceGrantFrom:
    group: str
    kind: str
    namespace: str


@frozen
class ReferenceGrantTo:
    group: str
    kind: str
    name: Optional[str] = None


@frozen
class ReferenceGrant:
    namespace: str
    name: str
    from_: Tuple[ReferenceGrantFrom, ...]
    to: Tuple[ReferenceGrantTo, ...]
    kind: str = "ReferenceGrant"


@frozen
class ServicePort:
    port: int
    name: Optional[str] = None
    protocol: str = "TCP"
    app_protocol: Optional[str] = None


@frozen
class Service:
    namespace: str
    name: str
    ports: Tuple[ServicePort, ...] = ()
    type: str = "ClusterIP"
    kind: str = "Service"


@frozen
class Namespace:
    name: str
    labels: Tuple[Tuple[str, str], ...] = ()
    kind: str = "Namespace"

    @property
    def label_map(self) -> dict:
        out = dict(self.labels)
        out["kubernetes.io/metadata.name"] = self.name
        return out


@frozen
class RejectedRoute:
    """A route left out under strict=False, kept so that its status can say why."""

    kind: str
    namespace: str
    name: str
    parent_refs: Tuple[ParentRef, ...] = ()


@frozen
class Config:
    """Everything ``routecore.load`` read: valid objects only."""

    # HTTPRoutes, GRPCRoutes and StreamRoutes (TLSRoute, TCPRoute, UDPRoute; ``route.kind`` tells)
    routes: Tuple[HTTPRoute, ...] = ()
    gateways: Tuple[Gateway, ...] = ()
    reference_grants: Tuple[ReferenceGrant, ...] = ()
    # None: no Service objects were given, every backendRef is taken to exist
    services: Optional[Tuple[Service, ...]] = None
    namespaces: Tuple[Namespace, ...] = ()
    # "Kind namespace/name" of every object of a kind routecore does not read
    skipped: Tuple[str, ...] = ()
    # problems found under strict=False: the objects or rules they name were left out
    issues: tuple = ()
    strict: bool = True
    # routes left out whole under strict=False (their problems are in ``issues``)
    rejected: Tuple[RejectedRoute, ...] = ()
    listener_sets: Tuple[ListenerSet, ...] = ()
    backend_tls_policies: Tuple[BackendTLSPolicy, ...] = ()
    secrets: Tuple[Secret, ...] = ()
    config_maps: Tuple[ConfigMap, ...] = ()

    def __add__(self, other: "Config") -> "Config":
        svcs = None
        if self.services is not None or other.services is not None:
            svcs = (self.services or ()) + (other.services or ())
        return attrs.evolve(
            self,
            routes=self.routes + other.routes,
            gateways=self.gateways + other.gateways,
            reference_grants=self.reference_grants + other.reference_grants,
            services=svcs,
            namespaces=self.namespaces + other.namespaces,
            skipped=self.skipped + other.skipped,
            issues=self.issues + other.issues,
            rejected=self.rejected + other.rejected,
            listener_sets=self.listener_sets + other.listener_sets,
            backend_tls_policies=self.backend_tls_policies + other.backend_tls_policies,
            secrets=self.secrets + other.secrets,
            config_maps=self.config_maps + other.config_maps,
        )
