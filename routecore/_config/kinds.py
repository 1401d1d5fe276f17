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

import ipaddress
from typing import Optional

from . import models as m
from .schema import AnyValue, Arr, Bool, Field, Int, MISSING, Obj, RefusingStr, Str, StrMap
from .cel import duration_seconds, COOKIE_PATH_RE, CORS_ORIGIN_RE, DURATION_RE, FILTER_FIELD, FILTER_TYPES, GROUP_RE, GRPC_FILTER_TYPES, HEADER_NAME_RE, HEADER_VALUE_RE, HOSTNAME_RE, KIND_RE, LABEL_KEY_RE, LABEL_VALUE_RE, METHODS, NAMESPACE_RE, OBJECT_NAME_RE, PRECISE_HOSTNAME_RE, check_backend_port, check_filter, check_fraction, check_grpc_filter, check_grpc_method, check_grpc_rule, check_header_modifier, check_label_requirement, check_mirror, check_path_match, check_path_modifier, check_rule, check_session, check_star_alone, check_status_code, check_timeouts, check_timestamp, check_typed_value_regex


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

_PATH_MATCH = Obj(  # (inline: a RouteMatch holds its path's type and value itself)
    {
        "type": Field(Str(enum=("Exact", "PathPrefix", "RegularExpression")), default="PathPrefix", attr="path_type"),
        "value": Field(Str(max_len=1024), default="/", attr="path_value"),
    },
    checks=(check_path_match,),
)

_HEADER_MATCH = Obj(
    {
        "type": Field(Str(enum=("Exact", "RegularExpression")), default="Exact", attr="type"),
        "name": Field(_HEADER_NAME, required=True, attr="name", to=_lower),  # lower-cased
        "value": Field(_HEADER_VALUE, required=True, attr="value"),
    },
    checks=(check_typed_value_regex,),
    model=m.HeaderMatch,
    share=lambda d, env: ("HeaderMatch", d["type"], d["name"].lower(), d["value"]),
)


def _first_per_header(headers, env) -> tuple:
    """Header matches; only the first entry for a header name (any case) counts. Equal header
    matches are shared within a load (_HEADER_MATCH's key; quick.py shares them alike)."""
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
    share=lambda d, env: ("QueryParamMatch", d["type"], d["name"], d["value"]),
)

_MATCH = Obj(
    {
        "path": Field(_PATH_MATCH, default={"type": "PathPrefix", "value": "/"}, inline=True),
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

def _parent_key(d, env):
    """Equal references share one frozen model within a load."""
    return ("ParentRef", d["group"], d["kind"], d.get("namespace") or env.ns, d["name"], d.get("sectionName"),
            d.get("port"))


PARENT_REF = Obj(
    {
        "group": Field(_GROUP, default=m.GATEWAY_GROUP, attr="group"),
        "kind": Field(_KIND, default="Gateway", attr="kind"),
        "namespace": Field(_NAMESPACE),  # -> namespace (derived: the route's by default)
        "name": Field(_OBJECT_NAME, required=True, attr="name"),
        "sectionName": Field(_SECTION_NAME, attr="section_name"),
        "port": Field(_PORT, attr="port"),
    },
    model=m.ParentRef,
    derived={"namespace": _namespace},
    share=_parent_key,
)


def _parent_refs(refs, env) -> tuple:
    return env.shared("parent_refs", tuple([PARENT_REF.build(p, env) for p in refs]))


def _hostnames(hostnames, env) -> tuple:
    hostnames = tuple(hostnames)
    return env.memo.setdefault(("hostnames",) + hostnames, hostnames)


def _is_ip_address(value: str) -> bool:
    """An IPv4 or IPv6 address, the latter also in brackets (``[::1]``)."""
    if value[:1] == "[" and value[-1:] == "]":
        value = value[1:-1]
    elif not (value[:1].isdigit() or ":" in value):
        return False  # (a DNS name that cannot be an address: the usual case, answered fast)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# a route's hostname: the CRD's pattern lets IPv4 addresses through, the spec's text forbids them
_ROUTE_HOSTNAME = RefusingStr(_is_ip_address, "is an IP address; a route hostname must be a DNS name "
                                              "(the Gateway API does not allow IP addresses)",
                               pattern=HOSTNAME_RE,
                               why="must be a lower-case RFC 1123 hostname, optionally prefixed by `*.`",
                               min_len=1, max_len=253)


def _kept_rules(rule_schema: Obj):
    """``to`` of a route's ``rules``: the rules load keeps (not in ``env.skip["rule"]``), built."""
    build = rule_schema.builder()

    def rules(items, env) -> tuple:
        drop = env.skip.get("rule")
        if drop:
            return tuple([build(r, env) for i, r in zip(items.indexes, items) if i not in drop])
        return tuple([build(r, env) for r in items])
    return rules


def _rule_indexes(spec, env) -> tuple:
    """The index as written of each kept rule: usually (0,), (0, 1)...: one tuple each."""
    rules = spec.get("rules", ())
    drop = env.skip.get("rule")
    indexes = tuple([i for i in rules.indexes if i not in drop]) if drop else tuple(getattr(rules, "indexes", ()))
    return env.memo.setdefault(("rule_indexes",) + indexes, indexes)


def _dropped_rules(spec, env) -> tuple:
    drop = env.skip.get("rule")
    return tuple(sorted(drop)) if drop else ()


def _route_spec(rule_schema: Obj, *, min_rules: int, default_rules) -> Obj:
    """The spec of an HTTPRoute or GRPCRoute; it fills the route's model (inline)."""
    rules = Field(Arr(rule_schema, min_items=min_rules, max_items=16, track="rule"), default=default_rules,
                  attr="rules", to=_kept_rules(rule_schema))
    return Obj(
        {
            "parentRefs": Field(Arr(PARENT_REF, max_items=32, track="parentRef"), attr="parent_refs",
                                to=_parent_refs),
            "hostnames": Field(Arr(_ROUTE_HOSTNAME, max_items=16), attr="hostnames", to=_hostnames),
            "rules": rules,
            "useDefaultGateways": Field(Str(enum=("All", "None"))),
        },
        derived={"rule_indexes": _rule_indexes, "dropped_rules": _dropped_rules},
    )


_HTTPROUTE_SPEC = _route_spec(RULE, min_rules=1, default_rules=[{"matches": _DEFAULT_MATCHES}])

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

_GRPCROUTE_SPEC = _route_spec(GRPC_RULE, min_rules=0, default_rules=MISSING)

def _sorted_items(mapping, env) -> tuple:
    return tuple(sorted(mapping.items()))


_LABELS = StrMap(key=Str(pattern=LABEL_KEY_RE, why="must be a label key", max_len=317),
                 value=Str(pattern=LABEL_VALUE_RE, why="must be a label value", max_len=63))

LABEL_SELECTOR = Obj(
    {
        "matchLabels": Field(_LABELS, attr="match_labels", to=_sorted_items),
        "matchExpressions": Field(
            Arr(
                Obj(
                    {
                        "key": Field(Str(pattern=LABEL_KEY_RE, why="must be a label key", min_len=1, max_len=317),
                                  required=True, attr="key"),
                        "operator": Field(Str(enum=("In", "NotIn", "Exists", "DoesNotExist")), required=True,
                                          attr="operator"),
                        "values": Field(Arr(Str(max_len=63)), attr="values"),
                    },
                    checks=(check_label_requirement,),
                    model=m.LabelSelectorRequirement,
                )
            ),
            attr="match_expressions",
        ),
    },
    model=m.LabelSelector,
)

ROUTE_GROUP_KIND = Obj({"group": Field(_GROUP, default=m.GATEWAY_GROUP, attr="group"),
                        "kind": Field(_KIND, required=True, attr="kind")},
                       model=m.RouteGroupKind)

_GRANT_SPEC = Obj(
    {
        "from": Field(
            Arr(
                Obj({"group": Field(_GROUP, required=True, attr="group"),
                     "kind": Field(_KIND, required=True, attr="kind"),
                     "namespace": Field(_NAMESPACE, required=True, attr="namespace")},
                    model=m.ReferenceGrantFrom),
                min_items=1, max_items=16,
            ),
            required=True,
            attr="from_",
        ),
        "to": Field(
            Arr(
                Obj({"group": Field(_GROUP, required=True, attr="group"),
                     "kind": Field(_KIND, required=True, attr="kind"),
                     "name": Field(_OBJECT_NAME, attr="name")},
                    model=m.ReferenceGrantTo),
                min_items=1, max_items=16,
            ),
            required=True,
            attr="to",
        ),
    }
)

_SERVICE_SPEC = Obj(
    {
        "ports": Field(
            Arr(
                Obj(
                    {
                        "port": Field(_PORT, required=True, attr="port"),
                        "name": Field(Str(pattern=NAMESPACE_RE, why="must be a lower-case RFC 1123 label",
                                        max_len=63), attr="name"),
                        "protocol": Field(Str(enum=("TCP", "UDP", "SCTP")), default="TCP", attr="protocol"),
                        "appProtocol": Field(Str(min_len=1), attr="app_protocol"),
                        "targetPort": Field(AnyValue()),
                        "nodePort": Field(Int(min=0, max=65535)),
                    },
                    model=m.ServicePort,
                )
            ),
            attr="ports",
        ),
        "type": Field(Str(enum=("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")), default="ClusterIP",
                      attr="type"),
    },
    open=True,
)


# metadata fields -> the model attribute each fills, when a kind's model takes it (see _metadata_schema)
_META_ATTRS = {"name": ("name", None), "labels": ("labels", _sorted_items),
               "creationTimestamp": ("creation_timestamp", None)}


def _metadata_schema(namespaced: bool, *, fills=(), name=None) -> Obj:
    """``metadata``; ``fills``: the fields (of _META_ATTRS) that fill the object's model, when it is
    inline in a top-level object that builds one; ``name``: the schema of ``name``."""
    fields = {
        "name": Field(name or (Str(pattern=PRECISE_HOSTNAME_RE, why="must be a lower-case RFC 1123 subdomain",
                                   min_len=1, max_len=253) if namespaced else _NAMESPACE), required=True),
        "labels": Field(_LABELS),
        "creationTimestamp": Field(AnyValue()),
    }
    if namespaced:
        fields["namespace"] = Field(_NAMESPACE)
    for key in fills:
        attr, to = _META_ATTRS[key]
        fields[key] = Field(fields[key].schema, required=fields[key].required, attr=attr, to=to)
    return Obj(fields, checks=(check_timestamp,), open=True)


_META_NAMESPACED = _metadata_schema(True)
_META_NAMED = _metadata_schema(True, fills=("name",))
_META_ROUTE = _metadata_schema(True, fills=("name", "creationTimestamp"))
# a Service name is an RFC 1035 label
_META_SERVICE = _metadata_schema(True, fills=("name",), name=Str(
    pattern=r"[a-z](?:[-a-z0-9]*[a-z0-9])?",
    why="a Service name must be an RFC 1035 label: lower-case, starting with a letter", min_len=1, max_len=63))
_META_NAMESPACE = _metadata_schema(False, fills=("name", "labels"))

_GATEWAY_VERSIONS = ("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1")
_GRPC_VERSIONS = _GATEWAY_VERSIONS + ("gateway.networking.k8s.io/v1alpha2",)


def _object_namespace(d, env):
    return env.ns  # metadata.namespace, "default" when absent (parse reads it)


def _top(spec: Optional[Obj], *, meta: Obj, spec_required=True, closed=True, model=None) -> Obj:
    """A top-level object. With ``model``: metadata and spec fill it (inline), and a namespaced
    one takes the object's namespace."""
    fields = {
        "apiVersion": Field(AnyValue()),
        "kind": Field(AnyValue()),
        "metadata": Field(meta, required=True, inline=model is not None),
        "status": Field(AnyValue()),
    }
    if spec is not None:
        fields["spec"] = Field(spec, required=spec_required, default=MISSING if spec_required else {},
                               inline=model is not None)
    derived = {"namespace": _object_namespace} if model is not None and "namespace" in meta.fields else None
    return Obj(fields, open=not closed, model=model, derived=derived)


# kind -> (allowed apiVersions, top-level schema); every top-level schema builds the kind's model
# (``schema.build(cleaned, env)``); the Gateway and the L4/TLS kinds are declared in kinds_l4
KINDS = {
    "HTTPRoute": (_GATEWAY_VERSIONS, _top(_HTTPROUTE_SPEC, meta=_META_ROUTE, model=m.HTTPRoute)),
    "GRPCRoute": (_GRPC_VERSIONS, _top(_GRPCROUTE_SPEC, meta=_META_ROUTE, model=m.GRPCRoute)),
    "ReferenceGrant": (_GATEWAY_VERSIONS, _top(_GRANT_SPEC, meta=_META_NAMED, model=m.ReferenceGrant)),
    "Service": (("v1",), _top(_SERVICE_SPEC, spec_required=False, closed=False, meta=_META_SERVICE,
                               model=m.Service)),
    "Namespace": (("v1",), _top(None, closed=False, meta=_META_NAMESPACE, model=m.Namespace)),
}


GATEWAY_VERSIONS = _GATEWAY_VERSIONS


def top(spec: Optional[Obj], *, closed: bool = True) -> Obj:
    """A namespaced top-level object whose model kinds_l4 builds (see kinds_l4.BUILDERS)."""
    return _top(spec, meta=_META_NAMESPACED, closed=closed)


# --- shared with kinds_l4 (the Gateway, its listeners and the L4/TLS kinds) -------------------
HOSTNAME, PRECISE_HOSTNAME, SECTION_NAME, NAMESPACE, OBJECT_NAME, GROUP, KIND, PORT = (
    _HOSTNAME, _PRECISE_HOSTNAME, _SECTION_NAME, _NAMESPACE, _OBJECT_NAME, _GROUP, _KIND, _PORT)
BACKEND_OBJECT_REF = _BACKEND_OBJECT_REF
namespace_of = _namespace
