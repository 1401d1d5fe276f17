"""The Gateway (and its listeners), ListenerSet, TLSRoute, TCPRoute, UDPRoute, BackendTLSPolicy and
the core v1 Secrets and ConfigMaps they reference, declared in the schema language (kinds.py holds
the HTTP kinds and the reusable field types).

Invariants:
- ``KINDS`` maps each kind to its accepted apiVersions and its top-level schema, as kinds.KINDS;
  versions follow gateway-api-semantics-kinds.md §0 (TLSRoute v1/v1alpha3/v1alpha2, TCPRoute and
  UDPRoute v1/v1alpha2, ListenerSet v1, BackendTLSPolicy v1/v1alpha3);
- a v1 TLS/TCP/UDPRoute has exactly one rule; an object stored as v1alpha2 and read back as v1
  may carry up to 16 (no conversion webhook): v1alpha2 takes 1..16, and a TLSRoute without
  hostnames (v1alpha2 only) stands for every hostname;
- every ``Listener`` model is built here (``LISTENER``): Gateway listeners and ListenerSet entries
  share the declaration and the CEL rules;
- Secrets keep only what listeners read (type, decoded data); a malformed Secret loads (status
  says InvalidCertificateRef), only its shape is checked.
"""
from __future__ import annotations

import base64
import binascii

import attrs

from . import models as m
from .cel import PROTOCOL_RE, check_allowed_namespaces, check_backend_port, check_gateway_spec, check_listener, check_listener_tls
from .kinds import (BACKEND_OBJECT_REF, GATEWAY_VERSIONS, GROUP, HOSTNAME, KIND, LABEL_SELECTOR, NAMESPACE,
                    OBJECT_NAME, PARENT_REF, PORT, PRECISE_HOSTNAME, SECTION_NAME, namespace_of, top)
from .schema import AnyValue, Arr, BuildEnv, Field, Int, Obj, Str, StrMap, join

_G = m.GATEWAY_GROUP


# --- listeners (Gateway spec.listeners and ListenerSet spec.listeners) --------------------------

def _selector(d, env):
    if d is None:
        return None
    return m.LabelSelector(
        match_labels=tuple(sorted(d.get("matchLabels", {}).items())),
        match_expressions=tuple(m.LabelSelectorRequirement(e["key"], e["operator"], tuple(e.get("values", ())))
                                for e in d.get("matchExpressions", ())))


def _tls_mode(d, env):
    if d["protocol"] not in ("HTTPS", "TLS"):
        return None
    return (d.get("tls") or {}).get("mode", "Terminate")


def _certificate_refs(d, env):
    refs = (d.get("tls") or {}).get("certificateRefs", ())
    return tuple(m.SecretRef(r["group"], r["kind"], r.get("namespace") or env.ns, r["name"]) for r in refs)


def _allowed_from(d, env):
    return d["allowedRoutes"]["namespaces"]["from"]


def _allowed_selector(d, env):
    return _selector(d["allowedRoutes"]["namespaces"].get("selector"), env)


def _allowed_kinds(d, env):
    return tuple(m.RouteGroupKind(k["group"], k["kind"]) for k in d["allowedRoutes"].get("kinds", ()))


_SECRET_REF = Obj({"group": Field(GROUP, default=""), "kind": Field(KIND, default="Secret"),
                   "name": Field(OBJECT_NAME, required=True), "namespace": Field(NAMESPACE)})

LISTENER = Obj(
    {
        "name": Field(SECTION_NAME, required=True, attr="name"),
        "hostname": Field(HOSTNAME, attr="hostname"),
        "port": Field(PORT, required=True, attr="port"),
        "protocol": Field(Str(pattern=PROTOCOL_RE, why="must be HTTP, HTTPS, TLS, TCP, UDP or a domain-prefixed name",
                              min_len=1, max_len=255), required=True, attr="protocol"),
        "tls": Field(  # -> tls_mode, certificate_refs
            Obj(
                {
                    "mode": Field(Str(enum=("Terminate", "Passthrough")), default="Terminate"),
                    "certificateRefs": Field(Arr(_SECRET_REF, max_items=64)),
                    "frontendValidation": Field(AnyValue()),
                    "options": Field(StrMap(value=Str(max_len=4096))),
                },
                checks=(check_listener_tls,),
            )
        ),
        "allowedRoutes": Field(  # -> allowed_from, selector, allowed_kinds
            Obj(
                {
                    "namespaces": Field(
                        Obj(
                            {
                                "from": Field(Str(enum=("All", "Selector", "Same")), default="Same"),
                                "selector": Field(LABEL_SELECTOR),
                            },
                            checks=(check_allowed_namespaces,),
                        ),
                        default={"from": "Same"},
                    ),
                    "kinds": Field(
                        Arr(Obj({"group": Field(GROUP, default=_G), "kind": Field(KIND, required=True)}),
                            max_items=8)
                    ),
                }
            ),
            default={"namespaces": {"from": "Same"}},
        ),
    },
    checks=(check_listener,),
    model=m.Listener,
    derived={"tls_mode": _tls_mode, "certificate_refs": _certificate_refs, "allowed_from": _allowed_from,
             "selector": _allowed_selector, "allowed_kinds": _allowed_kinds},
)

_LISTENERS = Arr(LISTENER, min_items=1, max_items=64, key="name")


def _gateway(d, env) -> m.Gateway:
    spec = d["spec"]
    allowed = (spec.get("allowedListeners") or {}).get("namespaces") or {}
    return m.Gateway(namespace=env.ns, name=d["metadata"]["name"], gateway_class=spec["gatewayClassName"],
                     listeners=tuple(LISTENER.build(x, env) for x in spec["listeners"]),
                     allowed_listeners=allowed.get("from", "None"),
                     listeners_selector=_selector(allowed.get("selector"), env))


def _check_allowed_listeners(obj, path, ctx):
    if obj.get("from") == "Selector" and "selector" not in obj and not ctx.broken(join(path, "selector")):
        ctx.add(join(path, "selector"), "selector must be specified when `from` is Selector")


_GATEWAY_SPEC = Obj(
    {
        "gatewayClassName": Field(OBJECT_NAME, required=True),
        "listeners": Field(_LISTENERS, required=True),
        "addresses": Field(AnyValue()),
        "infrastructure": Field(AnyValue()),
        "backendTLS": Field(AnyValue()),
        "tls": Field(AnyValue()),
        "allowedListeners": Field(Obj({"namespaces": Field(
            Obj({"from": Field(Str(enum=("All", "Selector", "Same", "None")), default="None"),
                 "selector": Field(LABEL_SELECTOR)}, checks=(_check_allowed_listeners,)),
            default={"from": "None"})})),
        "defaultScope": Field(AnyValue()),
    },
    checks=(check_gateway_spec,),
)


def _listener_set(d, env) -> m.ListenerSet:
    spec, meta = d["spec"], d["metadata"]
    owner = (env.ns, meta["name"])
    ref = spec["parentRef"]
    return m.ListenerSet(
        namespace=env.ns, name=meta["name"],
        parent=(ref["group"], ref["kind"], ref.get("namespace") or env.ns, ref["name"]),
        listeners=tuple(attrs.evolve(LISTENER.build(x, env), owner=owner) for x in spec["listeners"]),
        creation_timestamp=meta.get("creationTimestamp"))


_LISTENER_SET_SPEC = Obj(
    {
        "parentRef": Field(Obj({"group": Field(GROUP, default=_G), "kind": Field(KIND, default="Gateway"),
                                "name": Field(OBJECT_NAME, required=True), "namespace": Field(NAMESPACE)}),
                           required=True),
        "listeners": Field(_LISTENERS, required=True),
    },
    checks=(check_gateway_spec,),
)


# --- TLSRoute, TCPRoute, UDPRoute ---------------------------------------------------------------

_STREAM_BACKEND_REF = Obj(
    dict(BACKEND_OBJECT_REF, weight=Field(Int(min=0, max=1000000), default=1, attr="weight")),
    checks=(check_backend_port,),
    model=m.BackendRef,
    derived={"namespace": namespace_of},
)

STREAM_RULE = Obj(
    {
        "name": Field(SECTION_NAME, attr="name"),
        "backendRefs": Field(Arr(_STREAM_BACKEND_REF, min_items=1, max_items=16), required=True,
                             attr="backend_refs"),
    },
    model=m.Rule,
    derived={"matches": lambda d, env: ()},
)


def _check_no_ip(spec, path, ctx):
    for i, h in enumerate(spec.get("hostnames", ())):
        labels = h.split(".")
        if len(labels) == 4 and all(x.isdigit() for x in labels):
            ctx.add(f"{join(path, 'hostnames')}[{i}]", "Hostnames cannot contain an IP")


def _stream_spec(*, tls: bool, v1: bool) -> Obj:
    fields = {
        "parentRefs": Field(Arr(PARENT_REF, max_items=32, track="parentRef")),
        "rules": Field(Arr(STREAM_RULE, min_items=1, max_items=1 if v1 else 16, track="rule"), required=True),
        "useDefaultGateways": Field(Str(enum=("All", "None"))),
    }
    if tls:
        fields["hostnames"] = Field(Arr(HOSTNAME, min_items=1 if v1 else 0, max_items=1024), required=v1)
    return Obj(fields, checks=(_check_no_ip,) if tls and v1 else ())


def stream_route(kind: str, d: dict, ns: str, drop: set) -> m.StreamRoute:
    """A TLSRoute, TCPRoute or UDPRoute, leaving out the rules whose indexes are in ``drop``."""
    env = BuildEnv(ns)
    spec = d["spec"]
    rules = spec.get("rules", [])
    indexes = list(getattr(rules, "indexes", range(len(rules))))
    kept = [(i, r) for i, r in zip(indexes, rules) if i not in drop]
    refs = spec.get("parentRefs", ())
    return m.StreamRoute(
        namespace=ns, name=d["metadata"]["name"], kind=kind,
        parent_refs=tuple(m.ParentRef(group=p["group"], kind=p["kind"], namespace=p.get("namespace") or ns,
                                      name=p["name"], section_name=p.get("sectionName"), port=p.get("port"))
                          for p in refs),
        hostnames=tuple(spec.get("hostnames", ())),
        rules=tuple(STREAM_RULE.build(r, env) for _, r in kept),
        creation_timestamp=d["metadata"].get("creationTimestamp"),
        rule_indexes=tuple(i for i, _ in kept))


# --- BackendTLSPolicy ---------------------------------------------------------------------------

def _check_targets(spec, path, ctx):
    refs = spec.get("targetRefs")
    if not isinstance(refs, list):
        return
    groups: dict = {}
    for i, r in enumerate(refs):
        groups.setdefault((r.get("group"), r.get("kind"), r.get("name")), []).append(i)
    for idxs in groups.values():
        if len(idxs) < 2:
            continue
        sections = [refs[i].get("sectionName") for i in idxs]
        if None in sections or len(set(sections)) != len(sections):
            ctx.add(join(path, "targetRefs"),
                    "sectionName must be specified when targetRefs includes 2 or more references to the same "
                    "target, and must be unique")
            return


def _check_validation(obj, path, ctx):
    has_refs, has_known = bool(obj.get("caCertificateRefs")), "wellKnownCACertificates" in obj
    if has_refs and has_known:
        ctx.add(path, "must not contain both CACertificateRefs and WellKnownCACertificates")
    elif not has_refs and not has_known and not ctx.broken(join(path, "caCertificateRefs"),
                                                          join(path, "wellKnownCACertificates")):
        ctx.add(path, "must specify either CACertificateRefs or WellKnownCACertificates")


def _check_san(obj, path, ctx):
    typ = obj.get("type")
    if (typ == "Hostname") != ("hostname" in obj) and not ctx.broken(join(path, "hostname")):
        ctx.add(join(path, "hostname"), "SubjectAltName element must contain Hostname, if Type is set to Hostname")
    if (typ == "URI") != ("uri" in obj) and not ctx.broken(join(path, "uri")):
        ctx.add(join(path, "uri"), "SubjectAltName element must contain URI, if Type is set to URI")


_ABSOLUTE_URI = r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*"
_WELL_KNOWN = r"System|[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9][-A-Za-z0-9_.]*"


def _policy(d, env) -> m.BackendTLSPolicy:
    spec, meta = d["spec"], d["metadata"]
    v = spec["validation"]
    return m.BackendTLSPolicy(
        namespace=env.ns, name=meta["name"],
        target_refs=tuple(m.PolicyTargetRef(t["group"], t["kind"], t["name"], t.get("sectionName"))
                          for t in spec["targetRefs"]),
        hostname=v["hostname"],
        ca_certificate_refs=tuple((r["group"], r["kind"], r["name"]) for r in v.get("caCertificateRefs", ())),
        well_known_ca_certificates=v.get("wellKnownCACertificates"),
        subject_alt_names=tuple((s["type"], s["hostname"] if s["type"] == "Hostname" else s["uri"])
                                for s in v.get("subjectAltNames", ())),
        creation_timestamp=meta.get("creationTimestamp"))


_LOCAL_REF = Obj({"group": Field(GROUP, required=True), "kind": Field(KIND, required=True),
                  "name": Field(OBJECT_NAME, required=True)})

_POLICY_SPEC = Obj(
    {
        "targetRefs": Field(Arr(Obj({"group": Field(GROUP, required=True), "kind": Field(KIND, required=True),
                                     "name": Field(OBJECT_NAME, required=True),
                                     "sectionName": Field(SECTION_NAME)}),
                                min_items=1, max_items=16), required=True),
        "validation": Field(
            Obj(
                {
                    "caCertificateRefs": Field(Arr(_LOCAL_REF, max_items=8)),
                    "wellKnownCACertificates": Field(Str(pattern=_WELL_KNOWN, why="must be `System` or a "
                                                         "domain-prefixed name", min_len=1, max_len=253)),
                    "hostname": Field(PRECISE_HOSTNAME, required=True),
                    "subjectAltNames": Field(Arr(Obj({
                        "type": Field(Str(enum=("Hostname", "URI")), required=True),
                        "hostname": Field(HOSTNAME),
                        "uri": Field(Str(pattern=_ABSOLUTE_URI, why="must be an absolute URI such as "
                                         "`spiffe://example.com/id`", min_len=1, max_len=253)),
                    }, checks=(_check_san,)), max_items=5)),
                },
                checks=(_check_validation,),
            ),
            required=True,
        ),
        "options": Field(StrMap(value=Str(max_len=4096))),
    },
    checks=(_check_targets,),
)


# --- core v1 Secret and ConfigMap ---------------------------------------------------------------

def _check_base64(data, path, ctx):
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            ctx.add(join(path, key), "must be base64-encoded")


_DATA_KEY = Str(pattern=r"[-._a-zA-Z0-9]+", why="must be a data key: letters, digits, `-`, `_`, `.`",
                min_len=1, max_len=253)


class _Base64Map(StrMap):
    def walk(self, value, path, ctx):
        out = super().walk(value, path, ctx)
        if isinstance(out, dict):
            _check_base64(out, path, ctx)
        return out


def _secret(d, env) -> m.Secret:
    data = {k: base64.b64decode(v) for k, v in (d.get("data") or {}).items()}
    for k, v in (d.get("stringData") or {}).items():
        data[k] = v.encode()
    return m.Secret(namespace=env.ns, name=d["metadata"]["name"], type=d.get("type", "Opaque"),
                    data=tuple(sorted(data.items())))


def _config_map(d, env) -> m.ConfigMap:
    return m.ConfigMap(namespace=env.ns, name=d["metadata"]["name"],
                       data=tuple(sorted((d.get("data") or {}).items())))


def _core(extra: dict) -> Obj:
    base = top(None, closed=False)
    return Obj(dict(base.fields, **extra), open=True)


_SECRET = _core({"type": Field(Str(max_len=253)), "data": Field(_Base64Map(key=_DATA_KEY)),
                 "stringData": Field(StrMap(key=_DATA_KEY)), "immutable": Field(AnyValue())})
_CONFIG_MAP = _core({"data": Field(StrMap(key=_DATA_KEY)), "binaryData": Field(AnyValue()),
                     "immutable": Field(AnyValue())})

_V1 = ("gateway.networking.k8s.io/v1",)
_ALPHA2 = "gateway.networking.k8s.io/v1alpha2"
_ALPHA3 = "gateway.networking.k8s.io/v1alpha3"

# kind -> (allowed apiVersions, top-level schema); apiVersion -> schema where versions differ
KINDS = {
    "Gateway": (GATEWAY_VERSIONS, top(_GATEWAY_SPEC)),
    "ListenerSet": (_V1, top(_LISTENER_SET_SPEC)),
    "TLSRoute": (_V1 + (_ALPHA3, _ALPHA2), top(_stream_spec(tls=True, v1=True))),
    "TCPRoute": (_V1 + (_ALPHA2,), top(_stream_spec(tls=False, v1=True))),
    "UDPRoute": (_V1 + (_ALPHA2,), top(_stream_spec(tls=False, v1=True))),
    "BackendTLSPolicy": (_V1 + (_ALPHA3,), top(_POLICY_SPEC)),
    "Secret": (("v1",), _SECRET),
    "ConfigMap": (("v1",), _CONFIG_MAP),
}
# v1alpha2 stream routes: up to 16 rules; a TLSRoute's hostnames optional, no IP rule
ALPHA2 = {
    ("TLSRoute", _ALPHA2): top(_stream_spec(tls=True, v1=False)),
    ("TCPRoute", _ALPHA2): top(_stream_spec(tls=False, v1=False)),
    ("UDPRoute", _ALPHA2): top(_stream_spec(tls=False, v1=False)),
}
STREAM_KINDS = ("TLSRoute", "TCPRoute", "UDPRoute")

BUILDERS = {"Gateway": _gateway, "ListenerSet": _listener_set, "BackendTLSPolicy": _policy,
            "Secret": _secret, "ConfigMap": _config_map}
