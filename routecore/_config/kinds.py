"""The Gateway API (and core v1) kinds routecore reads, declared in the schema language: fields,
types, limits, defaults and the CEL-like checks of each object.

Invariants:
- ``KINDS`` maps each kind to its accepted apiVersions and its top-level schema;
- defaults are the CRDs' defaults (apis/v1/*_types.go), applied before the checks run;
- a route's ``spec.rules`` items are tracked as ``rule`` and its ``spec.parentRefs`` items as
  ``parentRef`` (see schema.Arr): the driver drops rules by those integers;
- the route rule types (RULE, GRPC_RULE and everything under them: matches, filters, backendRefs,
  timeouts, retry, sessionPersistence) are declared once: their ``Obj`` names the models.py class
  and each field the attribute it fills, so adding a field is one line here (plus the model's).
"""
from __future__ import annotations

from typing import Optional

from . import models as m
from .schema import AnyValue, Arr, Bool, Field, Int, MISSING, Obj, Str, StrMap
from .cel import duration_seconds, COOKIE_PATH_RE, CORS_ORIGIN_RE, DURATION_RE, FILTER_FIELD, FILTER_TYPES, GROUP_RE, GRPC_FILTER_TYPES, HEADER_NAME_RE, HEADER_VALUE_RE, HOSTNAME_RE, KIND_RE, LABEL_KEY_RE, LABEL_VALUE_RE, METHODS, NAMESPACE_RE, OBJECT_NAME_RE, PRECISE_HOSTNAME_RE, check_allowed_namespaces, check_backend_port, check_filter, check_fraction, check_grpc_filter, check_grpc_method, check_grpc_rule, check_header_modifier, check_label_requirement, check_mirror, check_path_match, check_path_modifier, check_rule, check_session, check_star_alone, check_status_code, check_timeouts, check_timestamp, check_typed_value_regex


# --- reusable field types ----------------------------------------------------------------------

_HOSTNAME = Str(pattern=HOSTNAME_RE, why="must be a lower-case RFC 1123 hostname, optionally prefixed by `*.`",
                 min_len=1, max_len=253)
_PRECISE_HOSTNAME = Str(pattern=PRECISE_HOSTNAME_RE, why="must be a lower-case RFC 1123 hostname without wildcard",
                         min_len=1, max_len=253)
_SECTION_NAME = Str(pattern=PRECISE_HOSTNAME_RE, why="must be a lower-case RFC 1123 subdomain",
                     min_len=1, max_len=253)
_NAMESPACE = Str(pattern=NAMESPACE_RE, why="must be a lower-case RFC 1123 label", min_len=1, max_len=63)
_OBJECT_NAME = Str(pattern=OBJECT_NAME_RE, why="no control characters or whitespace",
                    min_len=1, max_len=253)
_GROUP = Str(pattern=GROUP_RE, why="must be empty or a lower-case RFC 1123 subdomain", max_len=253)
_KIND = Str(pattern=KIND_RE, why="must be a Kind name such as `Service`", min_len=1, max_len=63)
_PORT = Int(min=1, max=65535)
_HEADER_NAME = Str(pattern=HEADER_NAME_RE, why="must be an HTTP header name (RFC 7230 token)",
                    min_len=1, max_len=256)
_HEADER_VALUE = Str(pattern=HEADER_VALUE_RE,
                     why="visible ASCII characters, single spaces or tabs between them", min_len=1, max_len=4096)
_DURATION = Str(pattern=DURATION_RE, why="must be a duration such as `1h`, `30s`, `500ms`, `1m30s`")
_METHOD = Str(enum=METHODS)


# --- route rules: each Obj declares its fields, checks and the model it builds (attr=, derived=) -


def _seconds(value, env):
    return duration_seconds(value)


def _lower(value, env):
    return value.lower()


def _namespace(d, env):
    return d.get("namespace") or env.ns


def _const(value):
    return lambda d, env: value


_BACKEND_OBJECT_REF = {
    "group": Field(_GROUP, default="", attr="group"),
    "kind": Field(_KIND, default="Service", attr="kind"),
    "name": Field(_OBJECT_NAME, required=True, attr="name"),
    "namespace": Field(_NAMESPACE),  # -> namespace (derived: the route's by default)
    "port": Field(_PORT, attr="port"),
}

_HEADER = Obj({"name": Field(_HEADER_NAME, required=True), "value": Field(_HEADER_VALUE, required=True)},
              build=lambda d, env: (d["name"], d["value"]))


def _header_modifier(typ: str) -> Obj:
    return Obj(
        {
            "set": Field(Arr(_HEADER, max_items=16, key="name"), attr="set"),
            "add": Field(Arr(_HEADER, max_items=16, key="name"), attr="add"),
            "remove": Field(Arr(_HEADER_NAME, max_items=16, unique=True), attr="remove"),
        },
        checks=(check_header_modifier,),
        model=m.HeaderModifier,
        derived={"type": _const(typ)},
    )


def _path_modifier_value(d, env):
    return d["replaceFullPath"] if d["type"] == "ReplaceFullPath" else d["replacePrefixMatch"]


_PATH_MODIFIER = Obj(
    {
        "type": Field(Str(enum=("ReplaceFullPath", "ReplacePrefixMatch")), required=True, attr="type"),
        "replaceFullPath": Field(Str(max_len=1024)),  # -> value
        "replacePrefixMatch": Field(Str(max_len=1024)),  # -> value
    },
    checks=(check_path_modifier,),
    model=m.PathModifier,
    derived={"value": _path_modifier_value},
)


def _mirror_percent(d, env):
    if "fraction" in d:
        frac = d["fraction"]
        return 100.0 * frac["numerator"] / frac["denominator"]
    return float(d.get("percent", 100))


def _filter_body(d, env):
    """A filter's model: the one body field its type names."""
    field = FILTER_FIELD[d["type"]]
    return _FILTER.fields[field].schema.build(d[field], env)


_FILTER = Obj(
    {
        "type": Field(Str(enum=FILTER_TYPES), required=True),
        "requestHeaderModifier": Field(_header_modifier("RequestHeaderModifier")),
        "responseHeaderModifier": Field(_header_modifier("ResponseHeaderModifier")),
        "requestMirror": Field(
            Obj(
                {
                    "backendRef": Field(Obj(dict(_BACKEND_OBJECT_REF), checks=(check_backend_port,),
                                            model=m.BackendRef, derived={"namespace": _namespace}),
                                        required=True, attr="backend_ref"),
                    "percent": Field(Int(min=0, max=100)),  # -> percent
                    "fraction": Field(  # -> percent
                        Obj(
                            {
                                "numerator": Field(Int(min=0), required=True),
                                "denominator": Field(Int(min=1), default=100),
                            },
                            checks=(check_fraction,),
                        )
                    ),
                },
                checks=(check_mirror,),
                model=m.RequestMirror,
                derived={"percent": _mirror_percent},
            )
        ),
        "requestRedirect": Field(
            Obj(
                {
                    "scheme": Field(Str(enum=("http", "https")), attr="scheme"),
                    "hostname": Field(_PRECISE_HOSTNAME, attr="hostname"),
                    "path": Field(_PATH_MODIFIER, attr="path"),
                    "port": Field(_PORT, attr="port"),
                    "statusCode": Field(Int(), default=302, attr="status_code"),
                },
                checks=(check_status_code,),
                model=m.RequestRedirect,
            )
        ),
        "urlRewrite": Field(Obj({"hostname": Field(_PRECISE_HOSTNAME, attr="hostname"),
                                 "path": Field(_PATH_MODIFIER, attr="path")},
                                model=m.URLRewrite)),
        "extensionRef": Field(
            Obj(
                {
                    "group": Field(_GROUP, required=True, attr="group"),
                    "kind": Field(_KIND, required=True, attr="kind"),
                    "name": Field(_OBJECT_NAME, required=True, attr="name"),
                },
                model=m.ExtensionRef,
            )
        ),
        "cors": Field(
            Obj(
                {
                    "allowOrigins": Field(Arr(Str(pattern=CORS_ORIGIN_RE,
                                                  why="must be `*` or scheme://host[:port]",
                                                  min_len=1, max_len=253), max_items=64, unique=True),
                                          attr="allow_origins"),
                    "allowCredentials": Field(Bool(), attr="allow_credentials"),
                    "allowMethods": Field(Arr(Str(enum=METHODS + ("*",)), max_items=9, unique=True),
                                          attr="allow_methods"),
                    "allowHeaders": Field(Arr(_HEADER_NAME, max_items=64, unique=True), attr="allow_headers"),
                    "exposeHeaders": Field(Arr(_HEADER_NAME, max_items=64, unique=True), attr="expose_headers"),
                    "maxAge": Field(Int(min=1), default=5, attr="max_age"),
                },
                checks=(check_star_alone,),
                model=m.CORS,
            )
        ),
        "externalAuth": Field(AnyValue()),
    },
    checks=(check_filter,),
    build=_filter_body,
)

_PATH_MATCH = Obj(
    {
        "type": Field(Str(enum=("Exact", "PathPrefix", "RegularExpression")), default="PathPrefix", attr="type"),
        "value": Field(Str(max_len=1024), default="/", attr="value"),
    },
    checks=(check_path_match,),
    model=m.PathMatch,
)

_HEADER_MATCH = Obj(
    {
        "type": Field(Str(enum=("Exact", "RegularExpression")), default="Exact", attr="type"),
        "name": Field(_HEADER_NAME, required=True, attr="name", to=_lower),  # lower-cased
        "value": Field(_HEADER_VALUE, required=True, attr="value"),
    },
    checks=(check_typed_value_regex,),
    model=m.HeaderMatch,
)


def _first_per_header(headers, env) -> tuple:
    """Header matches; only the first entry for a header name (any case) counts."""
    out, seen = [], set()
    for h in headers:
        name = h["name"].lower()
        if name not in seen:
            seen.add(name)
            out.append(_HEADER_MATCH.build(h, env))
    return tuple(out)


_QUERY_MATCH = Obj(
    {
        "type": Field(Str(enum=("Exact", "RegularExpression")), default="Exact", attr="type"),
        "name": Field(_HEADER_NAME, required=True, attr="name"),
        "value": Field(Str(min_len=1, max_len=1024), required=True, attr="value"),
    },
    checks=(check_typed_value_regex,),
    model=m.QueryParamMatch,
)

_MATCH = Obj(
    {
        "path": Field(_PATH_MATCH, default={"type": "PathPrefix", "value": "/"}, attr="path"),
        "headers": Field(Arr(_HEADER_MATCH, max_items=16, key="name"), attr="headers", to=_first_per_header),
        "queryParams": Field(Arr(_QUERY_MATCH, max_items=16, key="name"), attr="query_params"),
        "method": Field(_METHOD, attr="method"),
    },
    model=m.RouteMatch,
)

_DEFAULT_MATCHES = [{"path": {"type": "PathPrefix", "value": "/"}}]


def _backend_key(d, env):
    """Equal references without filters share one frozen model within a load."""
    if d.get("filters"):
        return None
    return ("BackendRef", d["group"], d["kind"], d.get("namespace") or env.ns, d["name"], d.get("port"), d["weight"])


def _backend_ref(filter_schema) -> Obj:
    return Obj(
        dict(_BACKEND_OBJECT_REF, weight=Field(Int(min=0, max=1000000), default=1, attr="weight"),
             filters=Field(Arr(filter_schema, max_items=16), attr="filters")),
        checks=(check_backend_port,),
        model=m.BackendRef,
        derived={"namespace": _namespace},
        share=_backend_key,
    )


def _shared_backends(refs, env) -> tuple:
    return env.shared("backend_refs", tuple([_BACKEND_REF.build(b, env) for b in refs]))


_BACKEND_REF = _backend_ref(_FILTER)


def _session(d: dict, env) -> m.SessionPersistence:
    typ = d["type"]
    cookie = d.get("cookie") or {}
    idle = d.get("idleTimeout")
    absolute = d.get("absoluteTimeout")
    if typ == "Header":
        return m.SessionPersistence(
            type="Header",
            cookie_name=None,
            cookie_path=None,
            cookie_lifetime_type=None,
            header_name=(d.get("header") or {}).get("name") or d.get("sessionName"),
            absolute_timeout=duration_seconds(absolute) if absolute else None,
            idle_timeout=duration_seconds(idle) if idle else None,
        )
    lifetime = cookie.get("lifetimeType") or (d.get("cookieConfig") or {}).get("lifetimeType") or "Session"
    return m.SessionPersistence(
        type="Cookie",
        cookie_name=cookie.get("name") or d.get("sessionName"),
        cookie_path=cookie.get("path", "/"),
        cookie_lifetime_type=lifetime,
        header_name=None,
        absolute_timeout=duration_seconds(absolute) if absolute else None,
        idle_timeout=duration_seconds(idle) if idle else None,
    )


_SESSION_PERSISTENCE = Obj(
    {
        "type": Field(Str(enum=("Cookie", "Header")), default="Cookie"),
        "sessionName": Field(Str(pattern=HEADER_NAME_RE, why="a cookie or header name (RFC 9110 token)",
                                 min_len=1, max_len=128)),
        "absoluteTimeout": Field(_DURATION),
        "idleTimeout": Field(_DURATION),
        "cookieConfig": Field(Obj({"lifetimeType": Field(Str(enum=("Permanent", "Session")), default="Session")})),
        "cookie": Field(
            Obj(
                {
                    "name": Field(Str(pattern=HEADER_NAME_RE, why="a cookie name (RFC 9110 token)",
                                      min_len=1, max_len=128)),
                    "path": Field(Str(pattern=COOKIE_PATH_RE,
                                      why="a cookie path: from `/`, visible ASCII but `;`",
                                      min_len=1, max_len=1024), default="/"),
                    "lifetimeType": Field(Str(enum=("Permanent", "Session")), default="Session"),
                }
            )
        ),
        "header": Field(Obj({"name": Field(_HEADER_NAME, required=True)})),
    },
    checks=(check_session,),
    build=_session,  # Cookie and Header sessions read different fields: written out in _session
)

RULE = Obj(
    {
        "name": Field(_SECTION_NAME, attr="name"),
        "matches": Field(Arr(_MATCH, max_items=64, empty_default=True), default=_DEFAULT_MATCHES, attr="matches"),
        "filters": Field(Arr(_FILTER, max_items=16), attr="filters"),
        "backendRefs": Field(Arr(_BACKEND_REF, max_items=16), attr="backend_refs", to=_shared_backends),
        "timeouts": Field(Obj({"request": Field(_DURATION, attr="request", to=_seconds),
                               "backendRequest": Field(_DURATION, attr="backend_request", to=_seconds)},
                              checks=(check_timeouts,), model=m.Timeouts), attr="timeouts"),
        "retry": Field(
            Obj(
                {
                    "codes": Field(Arr(Int(min=400, max=599), unique=True), attr="codes",
                                   to=lambda codes, env: frozenset(codes)),
                    "attempts": Field(Int(min=1), attr="attempts"),
                    "backoff": Field(_DURATION, attr="backoff", to=_seconds),
                },
                model=m.Retry,
            ),
            attr="retry",
        ),
        "sessionPersistence": Field(_SESSION_PERSISTENCE, attr="session_persistence"),
    },
    checks=(check_rule,),
    model=m.Rule,
)

_PARENT_REF = Obj(
    {
        "group": Field(_GROUP, default=m.GATEWAY_GROUP),
        "kind": Field(_KIND, default="Gateway"),
        "namespace": Field(_NAMESPACE),
        "name": Field(_OBJECT_NAME, required=True),
        "sectionName": Field(_SECTION_NAME),
        "port": Field(_PORT),
    }
)

_HTTPROUTE_SPEC = Obj(
    {
        "parentRefs": Field(Arr(_PARENT_REF, max_items=32, track="parentRef")),
        "hostnames": Field(Arr(_HOSTNAME, max_items=16)),
        "rules": Field(Arr(RULE, min_items=1, max_items=16, track="rule"), default=[{"matches": _DEFAULT_MATCHES}]),
        "useDefaultGateways": Field(Str(enum=("All", "None"))),
    }
)

# --- GRPCRoute (apis/v1/grpcroute_types.go): HTTPRoute's shapes where they are shared -----------

_GRPC_FILTER = Obj(
    dict({"type": Field(Str(enum=GRPC_FILTER_TYPES), required=True)},
         **{FILTER_FIELD[t]: _FILTER.fields[FILTER_FIELD[t]] for t in GRPC_FILTER_TYPES}),
    checks=(check_grpc_filter,),
    build=_filter_body,
)

_GRPC_METHOD_MATCH = Obj(
    {
        "type": Field(Str(enum=("Exact", "RegularExpression")), default="Exact", attr="type"),
        "service": Field(Str(max_len=1024), attr="service"),
        "method": Field(Str(max_len=1024), attr="method"),
    },
    checks=(check_grpc_method,),
    model=m.GRPCMethodMatch,
)

_GRPC_MATCH = Obj(
    {
        "method": Field(_GRPC_METHOD_MATCH, attr="method"),
        "headers": Field(Arr(_HEADER_MATCH, max_items=16, key="name"), attr="headers", to=_first_per_header),
    },
    model=m.GRPCRouteMatch,
)

_GRPC_BACKEND_REF = _backend_ref(_GRPC_FILTER)


def _grpc_matches(d, env) -> tuple:
    # no matches: every gRPC request
    return tuple([_GRPC_MATCH.build(x, env) for x in d.get("matches", ())]) or (m.GRPCRouteMatch(),)


GRPC_RULE = Obj(
    {
        "name": Field(_SECTION_NAME, attr="name"),
        "matches": Field(Arr(_GRPC_MATCH, max_items=64)),  # -> matches (derived)
        "filters": Field(Arr(_GRPC_FILTER, max_items=16), attr="filters"),
        "backendRefs": Field(Arr(_GRPC_BACKEND_REF, max_items=16), attr="backend_refs"),
        "sessionPersistence": Field(_SESSION_PERSISTENCE, attr="session_persistence"),
    },
    checks=(check_grpc_rule,),
    model=m.Rule,
    derived={"matches": _grpc_matches},
)

_GRPCROUTE_SPEC = Obj(
    {
        "parentRefs": Field(Arr(_PARENT_REF, max_items=32, track="parentRef")),
        "hostnames": Field(Arr(_HOSTNAME, max_items=16)),
        "rules": Field(Arr(GRPC_RULE, max_items=16, track="rule")),
        "useDefaultGateways": Field(Str(enum=("All", "None"))),
    }
)

_LABEL_SELECTOR = Obj(
    {
        "matchLabels": Field(StrMap(key=Str(pattern=LABEL_KEY_RE, why="must be a label key", max_len=317),
                                  value=Str(pattern=LABEL_VALUE_RE, why="must be a label value", max_len=63))),
        "matchExpressions": Field(
            Arr(
                Obj(
                    {
                        "key": Field(Str(pattern=LABEL_KEY_RE, why="must be a label key", min_len=1, max_len=317),
                                  required=True),
                        "operator": Field(Str(enum=("In", "NotIn", "Exists", "DoesNotExist")), required=True),
                        "values": Field(Arr(Str(max_len=63))),
                    },
                    checks=(check_label_requirement,),
                )
            )
        ),
    }
)

_GRANT_SPEC = Obj(
    {
        "from": Field(
            Arr(
                Obj({"group": Field(_GROUP, required=True), "kind": Field(_KIND, required=True),
                      "namespace": Field(_NAMESPACE, required=True)}),
                min_items=1, max_items=16,
            ),
            required=True,
        ),
        "to": Field(
            Arr(
                Obj({"group": Field(_GROUP, required=True), "kind": Field(_KIND, required=True),
                      "name": Field(_OBJECT_NAME)}),
                min_items=1, max_items=16,
            ),
            required=True,
        ),
    }
)

_SERVICE_SPEC = Obj(
    {
        "ports": Field(
            Arr(
                Obj(
                    {
                        "port": Field(_PORT, required=True),
                        "name": Field(Str(pattern=NAMESPACE_RE, why="must be a lower-case RFC 1123 label",
                                        max_len=63)),
                        "protocol": Field(Str(enum=("TCP", "UDP", "SCTP")), default="TCP"),
                        "appProtocol": Field(Str(min_len=1)),
                        "targetPort": Field(AnyValue()),
                        "nodePort": Field(Int(min=0, max=65535)),
                    }
                )
            )
        ),
        "type": Field(Str(enum=("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")), default="ClusterIP"),
    },
    open=True,
)



def _metadata_schema(namespaced: bool) -> Obj:
    fields = {
        "name": Field(Str(pattern=PRECISE_HOSTNAME_RE, why="must be a lower-case RFC 1123 subdomain",
                        min_len=1, max_len=253) if namespaced else _NAMESPACE, required=True),
        "labels": Field(StrMap(key=Str(pattern=LABEL_KEY_RE, why="must be a label key", max_len=317),
                             value=Str(pattern=LABEL_VALUE_RE, why="must be a label value", max_len=63))),
        "creationTimestamp": Field(AnyValue()),
    }
    if namespaced:
        fields["namespace"] = Field(_NAMESPACE)
    return Obj(fields, checks=(check_timestamp,), open=True)


_META_NAMESPACED = _metadata_schema(True)
_META_CLUSTER = _metadata_schema(False)

_GATEWAY_VERSIONS = ("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1")
_GRPC_VERSIONS = _GATEWAY_VERSIONS + ("gateway.networking.k8s.io/v1alpha2",)


_META_SERVICE = Obj(
    dict(_META_NAMESPACED.fields,
         name=Field(Str(pattern=r"[a-z](?:[-a-z0-9]*[a-z0-9])?",
                      why="a Service name must be an RFC 1035 label: lower-case, starting with a letter",
                      min_len=1, max_len=63), required=True)),
    checks=_META_NAMESPACED.checks,
    open=True,
)


def _top(spec: Optional[Obj], *, namespaced=True, spec_required=True, closed=True, meta=None) -> Obj:
    fields = {
        "apiVersion": Field(AnyValue()),
        "kind": Field(AnyValue()),
        "metadata": Field(meta or (_META_NAMESPACED if namespaced else _META_CLUSTER), required=True),
        "status": Field(AnyValue()),
    }
    if spec is not None:
        fields["spec"] = Field(spec, required=spec_required, default=MISSING if spec_required else {})
    return Obj(fields, open=not closed)


# kind -> (allowed apiVersions, top-level schema)
KINDS = {
    "HTTPRoute": (_GATEWAY_VERSIONS, _top(_HTTPROUTE_SPEC)),
    "GRPCRoute": (_GRPC_VERSIONS, _top(_GRPCROUTE_SPEC)),
    "ReferenceGrant": (_GATEWAY_VERSIONS, _top(_GRANT_SPEC)),
    "Service": (("v1",), _top(_SERVICE_SPEC, spec_required=False, closed=False, meta=_META_SERVICE)),
    "Namespace": (("v1",), _top(None, namespaced=False, closed=False)),
}


GATEWAY_VERSIONS = _GATEWAY_VERSIONS


# --- shared with kinds_l4 (the Gateway, its listeners and the L4/TLS kinds) -------------------
HOSTNAME, PRECISE_HOSTNAME, SECTION_NAME, NAMESPACE, OBJECT_NAME, GROUP, KIND, PORT = (
    _HOSTNAME, _PRECISE_HOSTNAME, _SECTION_NAME, _NAMESPACE, _OBJECT_NAME, _GROUP, _KIND, _PORT)
PARENT_REF, LABEL_SELECTOR, BACKEND_OBJECT_REF = _PARENT_REF, _LABEL_SELECTOR, _BACKEND_OBJECT_REF
top, namespace_of = _top, _namespace
