"""parse / load: CRD defaults, every validation rule (with its field path), strict and lenient modes."""
import copy
import re

import pytest

from routecore._config import models as m
from routecore._errors import ConfigError, ConfigIssue
from routecore._config.load import load

DEL = object()  # set_path value meaning "remove this field"

ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "r", "namespace": "ns"},
    "spec": {
        "parentRefs": [{"name": "gw"}],
        "hostnames": ["example.com"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/a"}}],
                "backendRefs": [{"name": "svc", "port": 80}],
            }
        ],
    },
}

GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "gw", "namespace": "infra"},
    "spec": {
        "gatewayClassName": "routecore",
        "listeners": [{"name": "web", "port": 80, "protocol": "HTTP"}],
    },
}

GRANT = {
    "apiVersion": "gateway.networking.k8s.io/v1beta1",
    "kind": "ReferenceGrant",
    "metadata": {"name": "g", "namespace": "backend"},
    "spec": {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "ns"}],
        "to": [{"group": "", "kind": "Service"}],
    },
}

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "svc", "namespace": "ns"},
    "spec": {"ports": [{"port": 80, "name": "http", "appProtocol": "http"}], "type": "ClusterIP"},
}

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns", "labels": {"team": "a"}}}

R0 = "spec.rules[0]"
M0 = f"{R0}.matches[0]"
F0 = f"{R0}.filters[0]"
B0 = f"{R0}.backendRefs[0]"

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def set_path(obj, path, value):
    """Set (or with DEL remove) ``path`` like 'spec.rules[0].matches' in ``obj``, creating containers."""
    tokens = [int(i) if i else k for k, i in _TOKEN.findall(path)]
    cur = obj
    for tok, nxt in zip(tokens, tokens[1:]):
        if isinstance(tok, int):
            while len(cur) <= tok:
                cur.append({})
            cur = cur[tok]
        else:
            if tok not in cur or cur[tok] is None:
                cur[tok] = [] if isinstance(nxt, int) else {}
            cur = cur[tok]
    last = tokens[-1]
    if value is DEL:
        del cur[last]
    elif isinstance(last, int):
        while len(cur) <= last:
            cur.append({})
        cur[last] = value
    else:
        cur[last] = value
    return obj


def make(base, *changes):
    """A deep copy of ``base`` with (path, value) changes applied in order."""
    obj = copy.deepcopy(base)
    for path, value in changes:
        set_path(obj, path, value if value is DEL else copy.deepcopy(value))
    return obj


def errors_of(*objs, strict=True):
    with pytest.raises(ConfigError) as info:
        load(list(objs), strict=strict)
    return info.value.errors


def assert_refused(obj, path, fragment):
    errors = errors_of(obj)
    hits = [e for e in errors if e.path == path and fragment in e.message]
    assert hits, f"no issue at {path!r} containing {fragment!r}; got:\n" + "\n".join(map(str, errors))


# --- the valid bases ---------------------------------------------------------------------------


def test_bases_are_valid():
    cfg = load([ROUTE, GATEWAY, GRANT, SERVICE, NAMESPACE])
    assert len(cfg.routes) == len(cfg.gateways) == len(cfg.reference_grants) == len(cfg.services) == 1
    assert cfg.namespaces[0].label_map == {"team": "a", "kubernetes.io/metadata.name": "ns"}
    assert cfg.issues == () and cfg.skipped == ()


# --- HTTPRoute: refused, with the path of the offending field ------------------------------------

HDR = {"name": "x-a", "value": "1"}
RHM = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [HDR]}}
RESP = {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [HDR]}}
REWRITE = {"type": "URLRewrite", "urlRewrite": {"hostname": "b.example.com"}}
REDIRECT = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}
MIRROR = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m", "port": 80}}}
CORS = {"type": "CORS", "cors": {"allowOrigins": ["https://a.example.com"]}}
EXT = {"type": "ExtensionRef", "extensionRef": {"group": "example.com", "kind": "Thing", "name": "t"}}
PREFIX_REWRITE = {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}}
NO_BACKENDS = (f"{R0}.backendRefs", DEL)

ROUTE_REFUSED = [
    # parentRefs
    ([("spec.parentRefs", [{"name": "gw", "sectionName": f"s{i}"} for i in range(33)])], "spec.parentRefs", "at most 32"),
    ([("spec.parentRefs[0].name", DEL)], "spec.parentRefs[0].name", "missing required field `name`"),
    ([("spec.parentRefs[0].port", 0)], "spec.parentRefs[0].port", ">= 1"),
    ([("spec.parentRefs[0].port", 65536)], "spec.parentRefs[0].port", "<= 65535"),
    ([("spec.parentRefs[0].sectionName", "Web")], "spec.parentRefs[0].sectionName", "not valid"),
    ([("spec.parentRefs[0].namespace", "Infra")], "spec.parentRefs[0].namespace", "RFC 1123 label"),
    ([("spec.parentRefs[0].namespace", "a" * 64)], "spec.parentRefs[0].namespace", "at most 63"),
    ([("spec.parentRefs[0].kind", "1Gateway")], "spec.parentRefs[0].kind", "Kind"),
    ([("spec.parentRefs[0].group", "Gateway.Example")], "spec.parentRefs[0].group", "not valid"),
    ([("spec.parentRefs[0].name", "")], "spec.parentRefs[0].name", "must not be empty"),
    ([("spec.parentRefs[0].name", "x" * 254)], "spec.parentRefs[0].name", "at most 253"),
    ([("spec.parentRefs[1]", {"name": "gw"})], "spec.parentRefs[0]", "sectionName or port must be specified"),
    ([("spec.parentRefs[0].sectionName", "a"), ("spec.parentRefs[1]", {"name": "gw"})], "spec.parentRefs[1]",
     "must be specified"),
    ([("spec.parentRefs[0].sectionName", "a"), ("spec.parentRefs[1]", {"name": "gw", "sectionName": "a"})],
     "spec.parentRefs[1]", "must be unique"),
    ([("spec.parentRefs[0].port", 80), ("spec.parentRefs[1]", {"name": "gw", "namespace": "ns", "port": 80})],
     "spec.parentRefs[1]", "must be unique"),
    # hostnames
    ([("spec.hostnames", [f"h{i}.example.com" for i in range(17)])], "spec.hostnames", "at most 16"),
    ([("spec.hostnames", ["Example.com"])], "spec.hostnames[0]", "not valid"),
    ([("spec.hostnames", ["*"])], "spec.hostnames[0]", "not valid"),
    ([("spec.hostnames", ["example.com."])], "spec.hostnames[0]", "not valid"),
    ([("spec.hostnames", ["a..example.com"])], "spec.hostnames[0]", "not valid"),
    ([("spec.hostnames", ["*.*.example.com"])], "spec.hostnames[0]", "not valid"),
    ([("spec.hostnames", ["example.com:80"])], "spec.hostnames[0]", "not valid"),
    ([("spec.hostnames", ["-a.example.com"])], "spec.hostnames[0]", "not valid"),
    ([("spec.hostnames", [""])], "spec.hostnames[0]", "must not be empty"),
    ([("spec.hostnames", ["a" * 254])], "spec.hostnames[0]", "at most 253"),
    # rules and matches
    ([("spec.rules", [])], "spec.rules", "at least 1 item"),
    ([("spec.rules", [{}] * 17)], "spec.rules", "at most 16"),
    ([(f"{R0}.matches", [{}] * 65)], f"{R0}.matches", "at most 64"),
    ([("spec.rules", [{"matches": [{}] * 64}] * 3)], "spec.rules", "must not exceed 128"),
    ([(f"{R0}.name", "Rule_1")], f"{R0}.name", "not valid"),
    ([(f"{R0}.name", "a" * 254)], f"{R0}.name", "at most 253"),
    ([(f"{R0}.name", "one"), ("spec.rules[1]", {"name": "one"})], "spec.rules[1].name", "must be unique"),
    # path match
    ([(f"{M0}.path.value", "a")], f"{M0}.path.value", "must start with '/'"),
    ([(f"{M0}.path.type", "Exact"), (f"{M0}.path.value", "a")], f"{M0}.path.value", "must start with '/'"),
    ([(f"{M0}.path.value", "/a//b")], f"{M0}.path.value", "'//'"),
    ([(f"{M0}.path.value", "/a/./b")], f"{M0}.path.value", "'/./'"),
    ([(f"{M0}.path.value", "/a/../b")], f"{M0}.path.value", "'/../'"),
    ([(f"{M0}.path.value", "/a%2fb")], f"{M0}.path.value", "'%2f'"),
    ([(f"{M0}.path.value", "/a%2Fb")], f"{M0}.path.value", "'%2F'"),
    ([(f"{M0}.path.value", "/a#b")], f"{M0}.path.value", "'#'"),
    ([(f"{M0}.path.value", "/a/..")], f"{M0}.path.value", "must not end with '/..'"),
    ([(f"{M0}.path.value", "/a/.")], f"{M0}.path.value", "must not end with '/.'"),
    ([(f"{M0}.path.value", "/a b")], f"{M0}.path.value", "characters not allowed"),
    ([(f"{M0}.path.value", "/a%zz")], f"{M0}.path.value", "characters not allowed"),
    ([(f"{M0}.path.value", "/" + "a" * 1024)], f"{M0}.path.value", "at most 1024"),
    ([(f"{M0}.path.type", "Prefix")], f"{M0}.path.type",
     "Expected one of `Exact`, `PathPrefix`, `RegularExpression`, got `Prefix`"),
    ([(f"{M0}.path", {"type": "RegularExpression", "value": "/a(["})], f"{M0}.path.value", "invalid RE2"),
    # header matches
    ([(f"{M0}.headers", [{"name": f"h{i}", "value": "v"} for i in range(17)])], f"{M0}.headers", "at most 16"),
    ([(f"{M0}.headers", [{"name": "bad name", "value": "v"}])], f"{M0}.headers[0].name", "header name"),
    ([(f"{M0}.headers", [{"name": ":authority", "value": "v"}])], f"{M0}.headers[0].name", "header name"),
    ([(f"{M0}.headers", [{"name": "", "value": "v"}])], f"{M0}.headers[0].name", "must not be empty"),
    ([(f"{M0}.headers", [{"name": "h" * 257, "value": "v"}])], f"{M0}.headers[0].name", "at most 256"),
    ([(f"{M0}.headers", [{"name": "h", "value": ""}])], f"{M0}.headers[0].value", "must not be empty"),
    ([(f"{M0}.headers", [{"name": "h", "value": "v" * 4097}])], f"{M0}.headers[0].value", "at most 4096"),
    ([(f"{M0}.headers", [{"name": "h", "value": " v"}])], f"{M0}.headers[0].value", "not valid"),
    ([(f"{M0}.headers", [{"name": "h", "value": "a\x01b"}])], f"{M0}.headers[0].value", "not valid"),
    ([(f"{M0}.headers", [{"name": "h"}])], f"{M0}.headers[0].value", "missing required field `value`"),
    ([(f"{M0}.headers", [{"name": "h", "value": "v", "type": "Prefix"}])], f"{M0}.headers[0].type",
     "Expected one of `Exact`, `RegularExpression`, got `Prefix`"),
    ([(f"{M0}.headers", [{"name": "h", "value": "(", "type": "RegularExpression"}])], f"{M0}.headers[0].value",
     "invalid RE2"),
    ([(f"{M0}.headers", [{"name": "h", "value": "1"}, {"name": "h", "value": "2"}])], f"{M0}.headers[1].name",
     "duplicate entry"),
    # query params
    ([(f"{M0}.queryParams", [{"name": f"q{i}", "value": "v"} for i in range(17)])], f"{M0}.queryParams", "at most 16"),
    ([(f"{M0}.queryParams", [{"name": "q", "value": "v" * 1025}])], f"{M0}.queryParams[0].value", "at most 1024"),
    ([(f"{M0}.queryParams", [{"name": "q", "value": ""}])], f"{M0}.queryParams[0].value", "must not be empty"),
    ([(f"{M0}.queryParams", [{"name": "q=", "value": "v"}])], f"{M0}.queryParams[0].name", "not valid"),
    ([(f"{M0}.queryParams", [{"name": "q", "value": "1"}, {"name": "q", "value": "2"}])],
     f"{M0}.queryParams[1].name", "duplicate entry"),
    ([(f"{M0}.queryParams", [{"name": "q", "value": "[", "type": "RegularExpression"}])],
     f"{M0}.queryParams[0].value", "invalid RE2"),
    # method
    ([(f"{M0}.method", "get")], f"{M0}.method", "Expected one of `GET`"),
    ([(f"{M0}.method", "FETCH")], f"{M0}.method", "got `FETCH`"),
    # filters: list, type discriminator
    ([(f"{R0}.filters", [MIRROR] * 17)], f"{R0}.filters", "at most 16"),
    ([(f"{R0}.filters", [{"type": "Foo"}])], f"{F0}.type", "Expected one of `RequestHeaderModifier`"),
    ([(f"{R0}.filters", [{"requestHeaderModifier": {"set": [HDR]}}])], f"{F0}.type", "missing required field"),
    ([(f"{R0}.filters", [{"type": "RequestHeaderModifier"}])], F0, "`requestHeaderModifier` must be specified"),
    ([(f"{R0}.filters", [dict(RHM, urlRewrite={})])], f"{F0}.urlRewrite", "must not be set unless"),
    ([(f"{R0}.filters", [{"type": "URLRewrite", "requestHeaderModifier": {"set": [HDR]}}])],
     f"{F0}.requestHeaderModifier", "must not be set"),
    ([(f"{R0}.filters", [{"type": "ExternalAuth", "externalAuth": {}}])], f"{F0}.type", "not supported"),
    # repeat / combination rules
    ([(f"{R0}.filters", [RHM, RHM])], f"{R0}.filters", "RequestHeaderModifier filter cannot be repeated"),
    ([(f"{R0}.filters", [RESP, RESP])], f"{R0}.filters", "ResponseHeaderModifier filter cannot be repeated"),
    ([(f"{R0}.filters", [REWRITE, REWRITE])], f"{R0}.filters", "URLRewrite filter cannot be repeated"),
    ([(f"{R0}.filters", [CORS, CORS])], f"{R0}.filters", "CORS filter cannot be repeated"),
    ([(f"{R0}.filters", [REDIRECT, REDIRECT]), NO_BACKENDS], f"{R0}.filters", "RequestRedirect filter cannot be"),
    ([(f"{R0}.filters", [REDIRECT, REWRITE]), NO_BACKENDS], f"{R0}.filters", "cannot be used together"),
    ([(f"{R0}.filters", [REDIRECT])], f"{R0}.filters", "must not be used together with backendRefs"),
    ([(f"{B0}.filters", [RHM, RHM])], f"{B0}.filters", "cannot be repeated"),
    ([(f"{B0}.filters", [REDIRECT, REWRITE])], f"{B0}.filters", "cannot be used together"),
    ([(f"{B0}.filters", [MIRROR] * 17)], f"{B0}.filters", "at most 16"),
    # header modifier
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.set", [{"name": f"h{i}", "value": "v"} for i in range(17)])],
     f"{F0}.requestHeaderModifier.set", "at most 16"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.remove", [f"h{i}" for i in range(17)])],
     f"{F0}.requestHeaderModifier.remove", "at most 16"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.add", [HDR, HDR])],
     f"{F0}.requestHeaderModifier.add[1].name", "duplicate entry"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.remove", ["x-A"])],
     f"{F0}.requestHeaderModifier.remove[0]", "only one action per header name"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.set", [HDR, {"name": "X-A", "value": "2"}])],
     f"{F0}.requestHeaderModifier.set[1]", "only one action"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.remove", ["a", "a"])],
     f"{F0}.requestHeaderModifier.remove[1]", "duplicate value"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.set[0].name", "a b")],
     f"{F0}.requestHeaderModifier.set[0].name", "header name"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.set[0].value", "")],
     f"{F0}.requestHeaderModifier.set[0].value", "must not be empty"),
    ([(f"{F0}", RHM), (f"{F0}.requestHeaderModifier.set[0].value", "x" * 4097)],
     f"{F0}.requestHeaderModifier.set[0].value", "at most 4096"),
    # redirect
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.scheme", "ftp")], f"{F0}.requestRedirect.scheme",
     "Expected one of `http`, `https`, got `ftp`"),
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.hostname", "*.example.com")],
     f"{F0}.requestRedirect.hostname", "not valid"),
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.port", 0)], f"{F0}.requestRedirect.port", ">= 1"),
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.port", 70000)], f"{F0}.requestRedirect.port", "<= 65535"),
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.statusCode", 304)], f"{F0}.requestRedirect.statusCode",
     "got `304`"),
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.path", {"type": "ReplaceFullPath"})],
     f"{F0}.requestRedirect.path.replaceFullPath", "must be specified"),
    ([(F0, REDIRECT), NO_BACKENDS,
      (f"{F0}.requestRedirect.path", {"type": "ReplaceFullPath", "replaceFullPath": "/x", "replacePrefixMatch": "/y"})],
     f"{F0}.requestRedirect.path.replacePrefixMatch", "must not be set"),
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.path", {"type": "ReplacePrefixMatch"})],
     f"{F0}.requestRedirect.path.replacePrefixMatch", "must be specified"),
    ([(F0, REDIRECT), NO_BACKENDS,
      (f"{F0}.requestRedirect.path", {"type": "ReplaceFullPath", "replaceFullPath": "/" * 1025})],
     f"{F0}.requestRedirect.path.replaceFullPath", "at most 1024"),
    ([(F0, REDIRECT), NO_BACKENDS, (f"{F0}.requestRedirect.path", {"type": "Replace", "replaceFullPath": "/x"})],
     f"{F0}.requestRedirect.path.type", "Expected one of `ReplaceFullPath`, `ReplacePrefixMatch`"),
    # URLRewrite and ReplacePrefixMatch
    ([(F0, REWRITE), (f"{F0}.urlRewrite.hostname", "B.example.com")], f"{F0}.urlRewrite.hostname", "not valid"),
    ([(F0, PREFIX_REWRITE), (f"{R0}.matches[1]", {"path": {"value": "/b"}})], f"{F0}.urlRewrite.path",
     "exactly one match, of type PathPrefix"),
    ([(F0, PREFIX_REWRITE), (f"{M0}.path.type", "Exact")], f"{F0}.urlRewrite.path", "exactly one match"),
    ([(F0, PREFIX_REWRITE), (f"{M0}.path", {"type": "RegularExpression", "value": "/a.*"})], f"{F0}.urlRewrite.path",
     "exactly one match"),
    ([(f"{B0}.filters", [PREFIX_REWRITE]), (f"{R0}.matches[1]", {"method": "GET"})],
     f"{B0}.filters[0].urlRewrite.path", "exactly one match"),
    ([(F0, {"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplacePrefixMatch",
                                                                    "replacePrefixMatch": "/"}}}),
      NO_BACKENDS, (f"{M0}.path.type", "Exact")], f"{F0}.requestRedirect.path", "exactly one match"),
    # RequestMirror
    ([(F0, {"type": "RequestMirror", "requestMirror": {}})], f"{F0}.requestMirror.backendRef",
     "missing required field `backendRef`"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.backendRef.port", DEL)], f"{F0}.requestMirror.backendRef.port",
     "port is required for a Service reference"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.percent", 101)], f"{F0}.requestMirror.percent", "<= 100"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.percent", -1)], f"{F0}.requestMirror.percent", ">= 0"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.percent", 50), (f"{F0}.requestMirror.fraction", {"numerator": 1})],
     f"{F0}.requestMirror", "only one of `percent` or `fraction`"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.fraction", {"numerator": 3, "denominator": 2})],
     f"{F0}.requestMirror.fraction.numerator", "less than or equal to denominator"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.fraction", {"numerator": 101})],
     f"{F0}.requestMirror.fraction.numerator", "less than or equal to denominator (100)"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.fraction", {"numerator": 0, "denominator": 0})],
     f"{F0}.requestMirror.fraction.denominator", ">= 1"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.fraction", {"numerator": -1})],
     f"{F0}.requestMirror.fraction.numerator", ">= 0"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.fraction", {"denominator": 10})],
     f"{F0}.requestMirror.fraction.numerator", "missing required"),
    ([(F0, MIRROR), (f"{F0}.requestMirror.backendRef.weight", 1)], f"{F0}.requestMirror.backendRef.weight",
     "unknown field `weight`"),
    # CORS
    ([(F0, CORS), (f"{F0}.cors.allowOrigins", ["*", "https://a.example.com"])], f"{F0}.cors.allowOrigins",
     "`*` must be the only entry"),
    ([(F0, CORS), (f"{F0}.cors.allowMethods", ["GET", "*"])], f"{F0}.cors.allowMethods", "`*` must be the only"),
    ([(F0, CORS), (f"{F0}.cors.allowHeaders", ["*", "x-a"])], f"{F0}.cors.allowHeaders", "`*` must be the only"),
    ([(F0, CORS), (f"{F0}.cors.exposeHeaders", ["*", "x-a"])], f"{F0}.cors.exposeHeaders", "`*` must be the only"),
    ([(F0, CORS), (f"{F0}.cors.allowMethods", ["get"])], f"{F0}.cors.allowMethods[0]", "Expected one of `GET`"),
    ([(F0, CORS), (f"{F0}.cors.allowMethods", ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                               "TRACE", "PATCH", "*"])], f"{F0}.cors.allowMethods", "at most 9"),
    ([(F0, CORS), (f"{F0}.cors.allowOrigins", [f"https://h{i}.example.com" for i in range(65)])],
     f"{F0}.cors.allowOrigins", "at most 64"),
    ([(F0, CORS), (f"{F0}.cors.allowHeaders", [f"h{i}" for i in range(65)])], f"{F0}.cors.allowHeaders",
     "at most 64"),
    ([(F0, CORS), (f"{F0}.cors.exposeHeaders", [f"h{i}" for i in range(65)])], f"{F0}.cors.exposeHeaders",
     "at most 64"),
    ([(F0, CORS), (f"{F0}.cors.allowOrigins", ["example.com"])], f"{F0}.cors.allowOrigins[0]", "not valid"),
    ([(F0, CORS), (f"{F0}.cors.maxAge", 0)], f"{F0}.cors.maxAge", ">= 1"),
    ([(F0, CORS), (f"{F0}.cors.allowCredentials", "yes")], f"{F0}.cors.allowCredentials",
     "Expected `bool`, got `str`"),
    # ExtensionRef
    ([(F0, EXT), (f"{F0}.extensionRef.group", DEL)], f"{F0}.extensionRef.group", "missing required"),
    ([(F0, EXT), (f"{F0}.extensionRef.kind", DEL)], f"{F0}.extensionRef.kind", "missing required"),
    ([(F0, EXT), (f"{F0}.extensionRef.name", DEL)], f"{F0}.extensionRef.name", "missing required"),
    # backendRefs
    ([(f"{R0}.backendRefs", [{"name": f"s{i}", "port": 80} for i in range(17)])], f"{R0}.backendRefs", "at most 16"),
    ([(f"{B0}.weight", -1)], f"{B0}.weight", ">= 0"),
    ([(f"{B0}.weight", 1000001)], f"{B0}.weight", "<= 1000000"),
    ([(f"{B0}.port", 0)], f"{B0}.port", ">= 1"),
    ([(f"{B0}.port", 65536)], f"{B0}.port", "<= 65535"),
    ([(f"{B0}.port", DEL)], f"{B0}.port", "port is required for a Service reference"),
    ([(f"{B0}.port", DEL), (f"{B0}.kind", "Service"), (f"{B0}.group", "")], f"{B0}.port", "port is required"),
    ([(f"{B0}.namespace", "Backend")], f"{B0}.namespace", "RFC 1123 label"),
    ([(f"{B0}.name", "")], f"{B0}.name", "must not be empty"),
    ([(f"{B0}.kind", "")], f"{B0}.kind", "must not be empty"),
    ([(f"{B0}.kind", "Ser vice")], f"{B0}.kind", "not valid"),
    ([(f"{B0}.group", "Example.com")], f"{B0}.group", "not valid"),
    # timeouts
    ([(f"{R0}.timeouts.request", "10")], f"{R0}.timeouts.request", "duration"),
    ([(f"{R0}.timeouts.request", "1d")], f"{R0}.timeouts.request", "duration"),
    ([(f"{R0}.timeouts.request", "100000s")], f"{R0}.timeouts.request", "duration"),
    ([(f"{R0}.timeouts.request", "1h1m1s1ms1h")], f"{R0}.timeouts.request", "duration"),
    ([(f"{R0}.timeouts.backendRequest", "1.5s")], f"{R0}.timeouts.backendRequest", "duration"),
    ([(f"{R0}.timeouts", {"request": "5s", "backendRequest": "10s"})], f"{R0}.timeouts.backendRequest",
     "cannot be longer than request timeout"),
    ([(f"{R0}.timeouts", {"request": "1m", "backendRequest": "61s"})], f"{R0}.timeouts.backendRequest",
     "cannot be longer"),
    ([(f"{R0}.timeouts.request", 10)], f"{R0}.timeouts.request", "Expected `str`, got `int`"),
    # retry
    ([(f"{R0}.retry.codes", [399])], f"{R0}.retry.codes[0]", ">= 400"),
    ([(f"{R0}.retry.codes", [600])], f"{R0}.retry.codes[0]", "<= 599"),
    ([(f"{R0}.retry.codes", [503, 503])], f"{R0}.retry.codes[1]", "duplicate value"),
    ([(f"{R0}.retry.attempts", 0)], f"{R0}.retry.attempts", ">= 1"),
    ([(f"{R0}.retry.backoff", "1x")], f"{R0}.retry.backoff", "duration"),
    # sessionPersistence
    ([(f"{R0}.sessionPersistence.type", "Sticky")], f"{R0}.sessionPersistence.type",
     "Expected one of `Cookie`, `Header`, got `Sticky`"),
    ([(f"{R0}.sessionPersistence.cookie.lifetimeType", "Permanent")], f"{R0}.sessionPersistence.absoluteTimeout",
     "must be specified when cookie lifetimeType is Permanent"),
    ([(f"{R0}.sessionPersistence.cookieConfig.lifetimeType", "Permanent")],
     f"{R0}.sessionPersistence.absoluteTimeout", "Permanent"),
    ([(f"{R0}.sessionPersistence.cookie.lifetimeType", "Forever")], f"{R0}.sessionPersistence.cookie.lifetimeType",
     "Expected one of `Permanent`, `Session`"),
    ([(f"{R0}.sessionPersistence", {"type": "Header", "header": {}})], f"{R0}.sessionPersistence.header.name",
     "missing required"),
    ([(f"{R0}.sessionPersistence", {"type": "Header", "cookie": {"name": "c"}})], f"{R0}.sessionPersistence.cookie",
     "must not be set when type is Header"),
    ([(f"{R0}.sessionPersistence.sessionName", "s" * 129)], f"{R0}.sessionPersistence.sessionName", "at most 128"),
    ([(f"{R0}.sessionPersistence.idleTimeout", "soon")], f"{R0}.sessionPersistence.idleTimeout", "duration"),
    # unknown fields, with hints
    ([(f"{R0}.backendRef", [{"name": "x", "port": 1}])], f"{R0}.backendRef",
     "unknown field `backendRef`; did you mean `backendRefs`?"),
    ([(f"{M0}.path.valu", "/x")], f"{M0}.path.valu", "unknown field `valu`"),
    ([("specs", {})], "specs", "unknown field `specs`; did you mean `spec`?"),
    ([(F0, {"type": "RequestHeaderModifier", "requestHeaderModifier": None, "set": [HDR]})], f"{F0}.set",
     "did you mean to indent it under `requestHeaderModifier`?"),
    ([(F0, {"type": "ResponseHeaderModifier", "responseHeaderModifier": {}, "remove": ["x"]})], f"{F0}.remove",
     "indent it under `responseHeaderModifier`"),
    ([(M0, {"path": {"value": "/a"}, "name": "x-a", "value": "1"})], f"{M0}.name",
     "did you mean to indent it under `headers`?"),
    ([(f"{R0}.matches[0].path.type", "Exact"), ("spec.extra", 1)], "spec.extra", "unknown field `extra`"),
    # wrong types and nulls
    ([(f"{B0}.port", "80")], f"{B0}.port", "Expected `int`, got `str`"),
    ([(f"{B0}.port", 80.0)], f"{B0}.port", "Expected `int`, got `float`"),
    ([(f"{B0}.weight", True)], f"{B0}.weight", "Expected `int`, got `bool`"),
    ([("spec.hostnames", "example.com")], "spec.hostnames", "Expected `array`, got `str`"),
    ([("spec.rules[0]", "x")], "spec.rules[0]", "Expected `object`, got `str`"),
    ([("spec.rules", {"matches": []})], "spec.rules", "Expected `array`, got `object`"),
    ([("spec", [])], "spec", "Expected `object`, got `array`"),
    ([(f"{M0}.headers", [{"name": "h", "value": 5}])], f"{M0}.headers[0].value", "Expected `str`, got `int`"),
    ([(f"{M0}.headers", [{"name": "h", "value": True}])], f"{M0}.headers[0].value", "Expected `str`, got `bool`"),
    ([(f"{B0}.name", None)], f"{B0}.name", "Expected `str`, got `null`"),
    ([("spec.rules[1]", None)], "spec.rules[1]", "Expected `object`, got `null`"),
    ([("spec.hostnames", [None])], "spec.hostnames[0]", "Expected `str`, got `null`"),
    ([("spec.useDefaultGateways", "Some")], "spec.useDefaultGateways", "Expected one of `All`, `None`"),
    # metadata and apiVersion
    ([("metadata.name", DEL)], "metadata.name", "missing required field `name`"),
    ([("metadata.name", "Cart")], "metadata.name", "RFC 1123"),
    ([("metadata.name", "c" * 254)], "metadata.name", "at most 253"),
    ([("metadata.namespace", "Shop")], "metadata.namespace", "RFC 1123 label"),
    ([("metadata", DEL)], "metadata", "missing required field `metadata`"),
    ([("metadata.creationTimestamp", "yesterday")], "metadata.creationTimestamp", "RFC 3339"),
    ([("metadata.creationTimestamp", "2024-13-02T03:04:05Z")], "metadata.creationTimestamp", "RFC 3339"),
    ([("apiVersion", "v1")], "apiVersion", "Expected one of `gateway.networking.k8s.io/v1`"),
    ([("apiVersion", "gateway.networking.k8s.io/v1alpha2")], "apiVersion", "got `gateway.networking.k8s.io/v1alpha2`"),
    ([("apiVersion", DEL)], "apiVersion", "missing required field `apiVersion`"),
    ([("spec", DEL)], "spec", "missing required field `spec`"),
]


def _case_id(case):
    changes, path, _ = case
    return f"{path}:{changes[-1][0].rsplit('.', 1)[-1]}"


@pytest.mark.parametrize("changes,path,fragment", ROUTE_REFUSED, ids=[_case_id(c) for c in ROUTE_REFUSED])
def test_route_refused(changes, path, fragment):
    obj = make(ROUTE, *changes)
    assert_refused(obj, path, fragment)
    errors = errors_of(obj)
    assert all(e.kind == "HTTPRoute" and e.namespace == "ns" or e.path.startswith("metadata") for e in errors)


# --- HTTPRoute: accepted -------------------------------------------------------------------------

ROUTE_ACCEPTED = [
    [(f"{M0}.path", {"type": "Exact", "value": "/a/b.html"})],
    [(f"{M0}.path", {"type": "PathPrefix", "value": "/"})],
    [(f"{M0}.path", {"type": "PathPrefix", "value": "/a/"})],
    [(f"{M0}.path", {"type": "PathPrefix", "value": "/%41b~!$&'()*+,;=:@"})],
    [(f"{M0}.path", {"type": "RegularExpression", "value": "/a/[0-9]+(/.*)?"})],
    [(f"{M0}.path", {"type": "RegularExpression", "value": "/a//b#"})],  # path rules only bind Exact/PathPrefix
    [(f"{M0}.path.value", "/" + "a" * 1023)],
    [("spec.hostnames", ["*.example.com", "a-b.c.example.com", "localhost", "x" * 63])],
    [("spec.hostnames", [f"h{i}.example.com" for i in range(16)])],
    [("spec.hostnames", [])],
    [("spec.hostnames", DEL)],
    [("spec.parentRefs", DEL)],
    [("spec.parentRefs", [{"name": "gw", "sectionName": f"s{i}"} for i in range(32)])],
    [("spec.parentRefs", [{"name": "gw", "sectionName": "a"}, {"name": "gw", "sectionName": "b"}])],
    [("spec.parentRefs", [{"name": "gw", "port": 80}, {"name": "gw", "port": 443}])],
    [("spec.parentRefs", [{"name": "gw"}, {"name": "gw", "namespace": "other"}])],
    [("spec.parentRefs", [{"name": "gw"}, {"name": "gw", "kind": "Service", "group": ""}])],
    [("spec.parentRefs", [{"group": "", "kind": "Service", "name": "svc", "port": 8080}])],
    [("spec.rules", [{"matches": [{}] * 64}, {"matches": [{}] * 64}])],
    [("spec.rules", [{} for _ in range(16)])],
    [("spec.rules", DEL)],
    [(f"{R0}.matches", [])],
    [(f"{R0}.matches", DEL)],
    [(f"{R0}.name", "rule-1.a"), ("spec.rules[1]", {"name": "rule-2"})],
    [(f"{M0}.headers", [{"name": f"h{i}", "value": "v"} for i in range(16)])],
    [(f"{M0}.headers", [{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}])],
    [(f"{M0}.headers", [{"name": "h", "value": "a b\tc", "type": "RegularExpression"}])],
    [(f"{M0}.headers", [{"name": "h", "value": "v" * 4096}])],
    [(f"{M0}.queryParams", [{"name": "Q", "value": "1"}, {"name": "q", "value": "2"}])],
    [(f"{M0}.queryParams", [{"name": "q", "value": "v" * 1024, "type": "RegularExpression"}])],
    [(f"{M0}.method", meth) for meth in ["PATCH"]],
    [(f"{R0}.filters", [MIRROR, MIRROR])],
    [(f"{R0}.filters", [EXT, EXT])],
    [(f"{R0}.filters", [RHM, RESP, REWRITE, MIRROR, CORS, EXT])],
    [(f"{R0}.filters", [MIRROR] * 16)],
    [(F0, REDIRECT), NO_BACKENDS],
    [(F0, {"type": "RequestRedirect", "requestRedirect": {}}), NO_BACKENDS],
    [(F0, {"type": "RequestRedirect", "requestRedirect": {"scheme": "http", "hostname": "b.example.com",
                                                          "port": 8080, "statusCode": 308,
                                                          "path": {"type": "ReplaceFullPath",
                                                                   "replaceFullPath": "/x"}}}), NO_BACKENDS],
    [(f"{B0}.filters", [REDIRECT])],  # a redirect inside a backendRef is allowed next to backendRefs
    [(F0, PREFIX_REWRITE)],
    [(F0, PREFIX_REWRITE), (f"{R0}.matches", DEL)],  # defaulting runs before the CEL rule
    [(F0, PREFIX_REWRITE), (f"{R0}.matches", [])],
    [(F0, PREFIX_REWRITE), (f"{M0}", {"method": "GET"})],  # path defaults to PathPrefix /
    [(f"{B0}.filters", [PREFIX_REWRITE])],
    [(F0, dict(MIRROR, requestMirror={"backendRef": {"name": "m", "port": 80}, "percent": 0}))],
    [(F0, dict(MIRROR, requestMirror={"backendRef": {"name": "m", "port": 80}, "percent": 100}))],
    [(F0, dict(MIRROR, requestMirror={"backendRef": {"name": "m", "port": 80},
                                      "fraction": {"numerator": 5, "denominator": 5}}))],
    [(F0, dict(MIRROR, requestMirror={"backendRef": {"name": "m", "kind": "Bucket", "group": "example.com"}}))],
    [(F0, {"type": "CORS", "cors": {"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"],
                                    "exposeHeaders": ["*"], "allowCredentials": True, "maxAge": 1}})],
    [(F0, {"type": "CORS", "cors": {"allowOrigins": ["https://*.example.com", "http://a.example.com:8080"],
                                    "allowMethods": list(("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
                                                          "OPTIONS", "TRACE", "PATCH"))}})],
    [(f"{B0}.weight", 0)],
    [(f"{B0}.weight", 1000000)],
    [(f"{B0}.port", 65535)],
    [(f"{B0}.port", DEL), (f"{B0}.kind", "Bucket"), (f"{B0}.group", "storage.example.com")],
    [(f"{B0}.namespace", "other")],
    [(f"{R0}.backendRefs", [{"name": f"s{i}", "port": 80} for i in range(16)])],
    [(f"{R0}.backendRefs", [])],
    [(f"{R0}.timeouts", {"request": "0s", "backendRequest": "10s"})],
    [(f"{R0}.timeouts", {"request": "1h30m", "backendRequest": "90m"})],
    [(f"{R0}.timeouts", {"request": "500ms"})],
    [(f"{R0}.timeouts", {"request": "1h1m1s1ms", "backendRequest": "99999ms"})],
    [(f"{R0}.timeouts", {})],
    [(f"{R0}.retry", {"codes": [500, 502, 503, 504, 400, 599], "attempts": 3, "backoff": "100ms"})],
    [(f"{R0}.sessionPersistence", {"sessionName": "s", "absoluteTimeout": "1h", "idleTimeout": "10m",
                                   "cookieConfig": {"lifetimeType": "Permanent"}})],
    [(f"{R0}.sessionPersistence", {"type": "Header", "header": {"name": "x-session"}})],
    [(f"{R0}.sessionPersistence", {"cookie": {"name": "c", "lifetimeType": "Permanent"}, "absoluteTimeout": "1h"})],
    [(f"{R0}.sessionPersistence", {})],
    [("metadata.creationTimestamp", "2024-01-02T03:04:05Z")],
    [("metadata.creationTimestamp", "2024-01-02T03:04:05.123456789+02:00")],
    [("metadata.namespace", DEL)],
    [("metadata.labels", {"app": "x", "example.com/tier": "web"})],
    [("metadata.annotations", {"a": "b"}), ("metadata.uid", "123"), ("metadata.resourceVersion", "7")],
    [("status", {"parents": []})],
    [("apiVersion", "gateway.networking.k8s.io/v1beta1")],
    [(f"{B0}.filters", None)],  # null means "not set"
    [(f"{R0}.filters", [dict(RHM, requestHeaderModifier={"set": [HDR], "add": [{"name": "x-b", "value": "2"}],
                                                         "remove": ["x-c"]})])],
]


@pytest.mark.parametrize("changes", ROUTE_ACCEPTED, ids=[f"{i}-{c[0][0].rsplit('.', 1)[-1]}"
                                                          for i, c in enumerate(ROUTE_ACCEPTED)])
def test_route_accepted(changes):
    cfg = load(make(ROUTE, *changes))
    assert len(cfg.routes) == 1 and cfg.issues == ()


# --- the seed example: an indentation mistake ---------------------------------------------------

REVIEWS_BROKEN = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: reviews
  namespace: default
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: reviews
    port: 9080
  rules:
  - matches:
    - headers:
      - name: my-favorite-service-mesh
        value: istio
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
      add:
      - name: hello
        value: world
    backendRefs:
    - name: reviews-v2
      port: 9080
  - backendRefs:
    - name: reviews-v1
      port: 9080
"""


def test_indentation_mistake_is_reported_with_path_and_hint():
    with pytest.raises(ConfigError) as info:
        load(REVIEWS_BROKEN)
    errors = info.value.errors
    assert all(e.path.startswith("spec.rules[0].filters[0]") for e in errors)
    assert all((e.kind, e.namespace, e.name) == ("HTTPRoute", "default", "reviews") for e in errors)
    text = str(info.value)
    assert "HTTPRoute default/reviews: spec.rules[0].filters[0].add: unknown field `add`" in text
    assert "did you mean to indent it under `requestHeaderModifier`?" in text
    assert isinstance(info.value, ValueError)


def test_indentation_mistake_lenient_drops_only_that_rule():
    cfg = load(REVIEWS_BROKEN, strict=False)
    (route,) = cfg.routes
    assert route.rule_indexes == (1,)
    assert route.rules[0].backend_refs[0].name == "reviews-v1"
    assert cfg.issues and all(isinstance(i, ConfigIssue) for i in cfg.issues)


# --- defaults ------------------------------------------------------------------------------------


def _route(*changes) -> m.HTTPRoute:
    return load(make(ROUTE, *changes)).routes[0]


def test_default_rules_and_matches():
    r = _route(("spec.rules", DEL))
    assert r.rules == (m.Rule(matches=(m.RouteMatch(path=m.PathMatch("PathPrefix", "/")),)),)
    assert r.rule_indexes == (0,)
    for matches in (DEL, []):
        r = _route((f"{R0}.matches", matches))
        assert r.rules[0].matches == (m.RouteMatch(path=m.PathMatch("PathPrefix", "/")),)


def test_default_path_and_match_types():
    r = _route((M0, {"headers": [{"name": "X-Env", "value": "a"}], "queryParams": [{"name": "Q", "value": "1"}]}))
    match = r.rules[0].matches[0]
    assert match.path == m.PathMatch("PathPrefix", "/")
    assert match.headers == (m.HeaderMatch("Exact", "x-env", "a"),)
    assert match.query_params == (m.QueryParamMatch("Exact", "Q", "1"),)
    assert match.method is None
    r = _route((f"{M0}.path", {"type": "Exact"}))
    assert r.rules[0].matches[0].path == m.PathMatch("Exact", "/")
    r = _route((f"{M0}.path", {"value": "/x"}))
    assert r.rules[0].matches[0].path == m.PathMatch("PathPrefix", "/x")


def test_header_names_lower_cased_and_first_wins():
    r = _route((f"{M0}.headers", [{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"},
                                  {"name": "X-B", "value": "3", "type": "RegularExpression"}]))
    assert r.rules[0].matches[0].headers == (m.HeaderMatch("Exact", "x-a", "1"),
                                             m.HeaderMatch("RegularExpression", "x-b", "3"))


def test_reference_defaults():
    r = _route(("spec.parentRefs", [{"name": "gw"}, {"name": "mesh", "group": "", "kind": "Service", "port": 80,
                                                     "namespace": "other", "sectionName": "http"}]),
               (f"{R0}.backendRefs", [{"name": "a", "port": 80}, {"name": "b", "namespace": "x", "port": 81,
                                                                  "weight": 0}]))
    assert r.parent_refs == (
        m.ParentRef(m.GATEWAY_GROUP, "Gateway", "ns", "gw"),
        m.ParentRef("", "Service", "other", "mesh", "http", 80),
    )
    assert r.rules[0].backend_refs == (m.BackendRef("", "Service", "ns", "a", 80, 1),
                                       m.BackendRef("", "Service", "x", "b", 81, 0))


def test_filter_models_and_defaults():
    r = _route((f"{R0}.filters", [
        dict(RHM, requestHeaderModifier={"set": [{"name": "X-A", "value": "1"}], "add": [{"name": "b", "value": "2"}],
                                         "remove": ["C"]}),
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m", "port": 80}}},
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m2", "port": 81, "namespace": "o"},
                                                    "fraction": {"numerator": 1}}},
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m3", "port": 82},
                                                    "fraction": {"numerator": 1, "denominator": 3}}},
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m4", "port": 83}, "percent": 25}},
        {"type": "CORS", "cors": {"allowOrigins": ["*"]}},
        EXT,
        REWRITE,
    ]))
    f = r.rules[0].filters
    assert f[0] == m.HeaderModifier("RequestHeaderModifier", set=(("X-A", "1"),), add=(("b", "2"),), remove=("C",))
    assert f[1] == m.RequestMirror(m.BackendRef("", "Service", "ns", "m", 80), 100.0)
    assert f[2].percent == 1.0 and f[2].backend_ref.namespace == "o"
    assert f[3].percent == pytest.approx(100 / 3)
    assert f[4].percent == 25.0 and isinstance(f[4].percent, float)
    assert f[5] == m.CORS(allow_origins=("*",), max_age=5)
    assert f[6] == m.ExtensionRef("example.com", "Thing", "t")
    assert f[7] == m.URLRewrite(hostname="b.example.com")


def test_redirect_defaults():
    r = _route((F0, {"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplacePrefixMatch",
                                                                             "replacePrefixMatch": "/n"}}}),
               NO_BACKENDS)
    assert r.rules[0].filters == (m.RequestRedirect(path=m.PathModifier("ReplacePrefixMatch", "/n"),
                                                    status_code=302),)
    assert r.rules[0].backend_refs == ()


def test_backend_ref_filters():
    r = _route((f"{B0}.filters", [RHM, REDIRECT]))
    assert [type(x) for x in r.rules[0].backend_refs[0].filters] == [m.HeaderModifier, m.RequestRedirect]


def test_timeouts_retry_session_models():
    r = _route((f"{R0}.timeouts", {"request": "1m30s", "backendRequest": "250ms"}),
               (f"{R0}.retry", {"codes": [503, 500], "attempts": 2, "backoff": "1s"}),
               (f"{R0}.sessionPersistence", {"sessionName": "sid", "absoluteTimeout": "2h", "idleTimeout": "30m",
                                             "cookieConfig": {"lifetimeType": "Permanent"}}))
    rule = r.rules[0]
    assert rule.timeouts == m.Timeouts(90.0, 0.25)
    assert rule.retry == m.Retry(frozenset({500, 503}), 2, 1.0)
    assert rule.session_persistence == m.SessionPersistence("Cookie", "sid", "/", "Permanent", None, 7200.0, 1800.0)
    r = _route((f"{R0}.timeouts", {"request": "0s"}), (f"{R0}.sessionPersistence", {}))
    assert r.rules[0].timeouts == m.Timeouts(0.0, None)
    assert r.rules[0].session_persistence == m.SessionPersistence()
    r = _route((f"{R0}.sessionPersistence", {"cookie": {"name": "c", "path": "/app"}}))
    assert r.rules[0].session_persistence == m.SessionPersistence(cookie_name="c", cookie_path="/app")
    r = _route((f"{R0}.sessionPersistence", {"type": "Header", "header": {"name": "x-s"}}))
    sp = r.rules[0].session_persistence
    assert (sp.type, sp.header_name, sp.cookie_name) == ("Header", "x-s", None)


def test_metadata_defaults_and_timestamp():
    r = _route(("metadata.namespace", DEL), ("metadata.creationTimestamp", "2024-01-02T03:04:05Z"))
    assert r.namespace == "default" and r.creation_timestamp == 1704164645
    assert r.parent_refs[0].namespace == "default"
    import datetime
    r = _route(("metadata.creationTimestamp", datetime.datetime(2024, 1, 2, 3, 4, 5)))  # as YAML parses it
    assert r.creation_timestamp == 1704164645
    r = load("""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, creationTimestamp: 2024-01-02T03:04:05Z}
spec: {}
""").routes[0]
    assert r.creation_timestamp == 1704164645 and r.rules[0].matches[0].path.value == "/"
    assert _route().creation_timestamp is None


# --- Gateway -------------------------------------------------------------------------------------

L0 = "spec.listeners[0]"

GATEWAY_REFUSED = [
    ([("spec.listeners", [])], "spec.listeners", "at least 1 item"),
    ([("spec.listeners", DEL)], "spec.listeners", "missing required"),
    ([("spec.listeners", [{"name": f"l{i}", "port": 1000 + i, "protocol": "HTTP"} for i in range(65)])],
     "spec.listeners", "at most 64"),
    ([("spec.listeners[1]", {"name": "web", "port": 81, "protocol": "HTTP"})], "spec.listeners[1].name",
     "duplicate entry"),
    ([("spec.listeners[1]", {"name": "web2", "port": 80, "protocol": "HTTP"})], "spec.listeners[1]",
     "port, protocol and hostname must be unique"),
    ([(f"{L0}.hostname", "a.example.com"),
      ("spec.listeners[1]", {"name": "b", "port": 80, "protocol": "HTTP", "hostname": "a.example.com"})],
     "spec.listeners[1]", "must be unique"),
    ([("spec.gatewayClassName", DEL)], "spec.gatewayClassName", "missing required"),
    ([(f"{L0}.name", DEL)], f"{L0}.name", "missing required"),
    ([(f"{L0}.name", "Web")], f"{L0}.name", "not valid"),
    ([(f"{L0}.port", 0)], f"{L0}.port", ">= 1"),
    ([(f"{L0}.port", "80")], f"{L0}.port", "Expected `int`, got `str`"),
    ([(f"{L0}.protocol", "HT TP")], f"{L0}.protocol", "not valid"),
    ([(f"{L0}.protocol", DEL)], f"{L0}.protocol", "missing required"),
    ([(f"{L0}.hostname", "*")], f"{L0}.hostname", "not valid"),
    ([(f"{L0}.hostname", "Foo.com")], f"{L0}.hostname", "not valid"),
    ([(f"{L0}.tls", {"mode": "Terminate"})], f"{L0}.tls", "tls must not be specified for protocol HTTP"),
    ([(f"{L0}.protocol", "TCP"), (f"{L0}.tls", {})], f"{L0}.tls", "protocol TCP"),
    ([(f"{L0}.protocol", "UDP"), (f"{L0}.hostname", "a.example.com")], f"{L0}.hostname",
     "hostname must not be specified for protocol UDP"),
    ([(f"{L0}.protocol", "HTTPS"), (f"{L0}.tls", {"mode": "Passthrough"})], f"{L0}.tls.mode",
     "must be Terminate for protocol HTTPS"),
    ([(f"{L0}.protocol", "TLS"), (f"{L0}.tls", {"mode": "Bridge"})], f"{L0}.tls.mode", "Expected one of"),
    ([(f"{L0}.allowedRoutes.namespaces.from", "Nobody")], f"{L0}.allowedRoutes.namespaces.from",
     "Expected one of `All`, `Selector`, `Same`, got `Nobody`"),
    ([(f"{L0}.allowedRoutes.namespaces.from", "Selector")], f"{L0}.allowedRoutes.namespaces.selector",
     "must be specified"),
    ([(f"{L0}.allowedRoutes.namespaces", {"from": "Selector", "selector": {"matchExpressions": [
        {"key": "team", "operator": "In"}]}})],
     f"{L0}.allowedRoutes.namespaces.selector.matchExpressions[0].values", "non-empty"),
    ([(f"{L0}.allowedRoutes.namespaces", {"from": "Selector", "selector": {"matchExpressions": [
        {"key": "team", "operator": "Exists", "values": ["a"]}]}})],
     f"{L0}.allowedRoutes.namespaces.selector.matchExpressions[0].values", "must be empty"),
    ([(f"{L0}.allowedRoutes.namespaces", {"from": "Selector", "selector": {"matchExpressions": [
        {"key": "team", "operator": "Is", "values": ["a"]}]}})],
     f"{L0}.allowedRoutes.namespaces.selector.matchExpressions[0].operator", "Expected one of `In`"),
    ([(f"{L0}.allowedRoutes.namespaces", {"from": "Selector", "selector": {"matchLabels": {"team": 1}}})],
     f"{L0}.allowedRoutes.namespaces.selector.matchLabels.team", "Expected `str`, got `int`"),
    ([(f"{L0}.allowedRoutes.kinds", [{"group": "gateway.networking.k8s.io"}])],
     f"{L0}.allowedRoutes.kinds[0].kind", "missing required"),
    ([(f"{L0}.allowedRoutes.kinds", [{"kind": "HTTPRoute"}] * 9)], f"{L0}.allowedRoutes.kinds", "at most 8"),
    ([(f"{L0}.allowedRoute", {})], f"{L0}.allowedRoute", "did you mean `allowedRoutes`?"),
    ([(f"{L0}.from", "All")], f"{L0}.from", "unknown field `from`"),
    ([("kind", "Gateway"), ("apiVersion", "networking.k8s.io/v1")], "apiVersion", "Expected one of"),
]


@pytest.mark.parametrize("changes,path,fragment", GATEWAY_REFUSED, ids=[_case_id(c) for c in GATEWAY_REFUSED])
def test_gateway_refused(changes, path, fragment):
    assert_refused(make(GATEWAY, *changes), path, fragment)


GATEWAY_ACCEPTED = [
    [(f"{L0}.hostname", "*.example.com")],
    [("spec.listeners[1]", {"name": "web2", "port": 80, "protocol": "HTTP", "hostname": "a.example.com"})],
    [("spec.listeners[1]", {"name": "tls", "port": 443, "protocol": "HTTPS", "hostname": "a.example.com",
                            "tls": {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}})],
    [("spec.listeners[1]", {"name": "pt", "port": 443, "protocol": "TLS", "tls": {"mode": "Passthrough"}})],
    [("spec.listeners[1]", {"name": "custom", "port": 9000, "protocol": "example.com/Thing"})],
    [("spec.listeners", [{"name": f"l{i}", "port": 1000 + i, "protocol": "HTTP"} for i in range(64)])],
    [(f"{L0}.allowedRoutes", {"namespaces": {"from": "All"}, "kinds": [{"kind": "HTTPRoute"}]})],
    [(f"{L0}.allowedRoutes.namespaces", {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}})],
    [("spec.addresses", [{"type": "IPAddress", "value": "10.0.0.1"}]), ("spec.infrastructure", {"labels": {}})],
]


@pytest.mark.parametrize("changes", GATEWAY_ACCEPTED)
def test_gateway_accepted(changes):
    cfg = load(make(GATEWAY, *changes))
    assert len(cfg.gateways) == 1


def test_gateway_model_and_defaults():
    gw = load(make(GATEWAY, ("spec.listeners[1]", {
        "name": "sel", "port": 8080, "protocol": "HTTP", "hostname": "*.example.com",
        "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {
            "matchLabels": {"team": "a"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["p"]}]}},
            "kinds": [{"kind": "HTTPRoute"}, {"group": "example.com", "kind": "Other"}]}}))).gateways[0]
    assert (gw.namespace, gw.name, gw.gateway_class) == ("infra", "gw", "routecore")
    assert gw.listeners[0] == m.Listener("web", 80, "HTTP")
    sel = gw.listeners[1]
    assert sel.allowed_from == "Selector" and sel.hostname == "*.example.com"
    assert sel.selector == m.LabelSelector((("team", "a"),), (m.LabelSelectorRequirement("env", "In", ("p",)),))
    assert sel.allowed_kinds == (m.RouteGroupKind(m.GATEWAY_GROUP, "HTTPRoute"), m.RouteGroupKind("example.com", "Other"))
    gw = load(make(GATEWAY, (f"{L0}.allowedRoutes", {}))).gateways[0]
    assert gw.listeners[0].allowed_from == "Same"


# --- ReferenceGrant, Service, Namespace ----------------------------------------------------------

GRANT_REFUSED = [
    ([("spec.from", [])], "spec.from", "at least 1 item"),
    ([("spec.to", [])], "spec.to", "at least 1 item"),
    ([("spec.from", [GRANT["spec"]["from"][0]] * 17)], "spec.from", "at most 16"),
    ([("spec.to", [{"group": "", "kind": "Service"}] * 17)], "spec.to", "at most 16"),
    ([("spec.from[0].namespace", DEL)], "spec.from[0].namespace", "missing required"),
    ([("spec.from[0].group", DEL)], "spec.from[0].group", "missing required"),
    ([("spec.to[0].kind", DEL)], "spec.to[0].kind", "missing required"),
    ([("spec.to[0].name", "")], "spec.to[0].name", "must not be empty"),
    ([("spec.to[0].namespace", "x")], "spec.to[0].namespace", "unknown field"),
    ([("spec", DEL)], "spec", "missing required"),
]


@pytest.mark.parametrize("changes,path,fragment", GRANT_REFUSED, ids=[_case_id(c) for c in GRANT_REFUSED])
def test_grant_refused(changes, path, fragment):
    assert_refused(make(GRANT, *changes), path, fragment)


def test_grant_model():
    for version in ("v1", "v1beta1"):
        g = load(make(GRANT, ("apiVersion", f"gateway.networking.k8s.io/{version}"),
                      ("spec.to[1]", {"group": "", "kind": "Service", "name": "svc"}))).reference_grants[0]
        assert g.from_ == (m.ReferenceGrantFrom(m.GATEWAY_GROUP, "HTTPRoute", "ns"),)
        assert g.to == (m.ReferenceGrantTo("", "Service"), m.ReferenceGrantTo("", "Service", "svc"))


SERVICE_REFUSED = [
    ([("spec.ports[0].port", "http")], "spec.ports[0].port", "Expected `int`, got `str`"),
    ([("spec.ports[0].port", DEL)], "spec.ports[0].port", "missing required"),
    ([("spec.ports[0].protocol", "HTTP")], "spec.ports[0].protocol", "Expected one of `TCP`, `UDP`, `SCTP`"),
    ([("spec.type", "Headless")], "spec.type", "Expected one of `ClusterIP`"),
    ([("spec.ports[0].prot", 1)], "spec.ports[0].prot", "unknown field"),
    ([("apiVersion", "v2")], "apiVersion", "Expected one of `v1`"),
]


@pytest.mark.parametrize("changes,path,fragment", SERVICE_REFUSED, ids=[_case_id(c) for c in SERVICE_REFUSED])
def test_service_refused(changes, path, fragment):
    assert_refused(make(SERVICE, *changes), path, fragment)


def test_service_model_and_services_none():
    cfg = load(make(SERVICE, ("spec.clusterIP", "10.0.0.1"), ("spec.selector", {"app": "x"}),
                    ("spec.ports[0].targetPort", "http")))
    assert cfg.services == (m.Service("ns", "svc", (m.ServicePort(80, "http", "TCP", "http"),), "ClusterIP"),)
    assert load(make(SERVICE, ("spec", DEL))).services == (m.Service("ns", "svc"),)
    assert load(ROUTE).services is None


def test_namespace_model():
    cfg = load([NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bare"}}])
    assert cfg.namespaces == (m.Namespace("ns", (("team", "a"),)), m.Namespace("bare"))
    assert_refused(make(NAMESPACE, ("metadata.name", "Bad")), "metadata.name", "RFC 1123 label")
    assert_refused(make(NAMESPACE, ("metadata.labels", {"team": "a b"})), "metadata.labels.team", "label value")
    errors = errors_of(make(NAMESPACE, ("metadata.name", "Bad")))
    assert str(errors[0]).startswith("Namespace Bad: metadata.name")


# --- kinds, skipping, error formatting, gathering -------------------------------------------------


def test_other_kinds_are_skipped():
    cfg = load([
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c", "namespace": "x"}},
        {"apiVersion": "gateway.networking.k8s.io/v1alpha2", "kind": "BackendLBPolicy", "metadata": {"name": "t"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "gc"}},
    ])
    assert cfg.skipped == ("Deployment x/c", "BackendLBPolicy default/t", "GatewayClass default/gc")


def test_kind_in_the_wrong_case_is_an_issue_not_a_skip():
    errors = errors_of(make(ROUTE, ("kind", "HttpRoute")))
    assert errors[0].path == "kind" and "did you mean `HTTPRoute`?" in errors[0].message


def test_duplicate_objects_are_reported():
    errors = errors_of(ROUTE, make(ROUTE, ("spec.hostnames", ["b.example.com"])))
    assert len(errors) == 1 and errors[0].path == "" and "duplicate object" in errors[0].message
    cfg = load([ROUTE, make(ROUTE, ("spec.hostnames", ["b.example.com"]))], strict=False)
    assert cfg.routes[0].hostnames == ("example.com",) and len(cfg.routes) == 1
    # same name in another namespace or of another kind is fine
    load([ROUTE, make(ROUTE, ("metadata.namespace", "other")), make(SERVICE, ("metadata.name", "r"))])
    # cluster-scoped Namespaces collide regardless of metadata.namespace
    assert errors_of(NAMESPACE, make(NAMESPACE, ("metadata.namespace", "x")))[0].kind == "Namespace"


def test_missing_name_is_reported_without_a_fake_identity():
    errors = errors_of(make(ROUTE, ("metadata.name", DEL)))
    assert str(errors[0]) == "HTTPRoute: metadata.name: missing required field `name`"


def test_service_name_is_an_rfc1035_label():
    assert_refused(make(SERVICE, ("metadata.name", "1svc")), "metadata.name", "RFC 1035")
    assert_refused(make(SERVICE, ("metadata.name", "s" * 64)), "metadata.name", "at most 63")


def test_input_is_not_mutated():
    obj = make(ROUTE, ("metadata.creationTimestamp", "2024-01-02T03:04:05Z"), (f"{R0}.matches", []),
               (f"{M0}", {"headers": [HDR]}))
    before = copy.deepcopy(obj)
    load(obj)
    assert obj == before


def test_header_modifier_exact_repeat_reported_once():
    errors = errors_of(make(ROUTE, (F0, RHM), (f"{F0}.requestHeaderModifier.set", [HDR, HDR])))
    assert len(errors) == 1 and "duplicate entry" in errors[0].message


def test_object_without_kind_is_an_issue():
    errors = errors_of({"apiVersion": "v1", "metadata": {"name": "x"}})
    assert errors[0].path == "kind" and "missing `kind`" in errors[0].message


def test_str_of_error_lines():
    errors = errors_of(make(ROUTE, ("metadata", {"name": "cart", "namespace": "shop"}),
                            ("spec.rules", [{}, {}, {"matches": [{"path": {"value": "x"}}]}])))
    assert str(ConfigError(errors)) == (
        "HTTPRoute shop/cart: spec.rules[2].matches[0].path.value: must start with '/'"
    )


def test_every_problem_of_every_object_at_once():
    bad_route = make(ROUTE, (f"{M0}.path.value", "x"), (f"{B0}.port", DEL), ("spec.hostnames", ["A"]))
    bad_gw = make(GATEWAY, (f"{L0}.port", 0))
    errors = errors_of(bad_route, make(ROUTE, ("metadata.name", "fine")), bad_gw)
    got = {(e.kind, e.path) for e in errors}
    assert got == {("HTTPRoute", f"{M0}.path.value"), ("HTTPRoute", f"{B0}.port"),
                   ("HTTPRoute", "spec.hostnames[0]"), ("Gateway", f"{L0}.port")}


def test_lenient_drops_a_rule_and_keeps_the_rest():
    obj = make(ROUTE, ("spec.rules[1]", {"matches": [{"path": {"value": "bad"}}]}),
               ("spec.rules[2]", {"name": "third", "backendRefs": [{"name": "c", "port": 1}]}))
    cfg = load([obj, GATEWAY], strict=False)
    (route,) = cfg.routes
    assert route.rule_indexes == (0, 2)
    assert route.rules[1].name == "third"
    assert [i.path for i in cfg.issues] == ["spec.rules[1].matches[0].path.value"]
    assert len(cfg.gateways) == 1 and cfg.strict is False


def test_lenient_drops_rule_that_is_not_an_object():
    cfg = load(make(ROUTE, ("spec.rules[1]", "oops"), ("spec.rules[2]", {})), strict=False)
    assert cfg.routes[0].rule_indexes == (0, 2)


def test_lenient_drops_object_for_issues_outside_rules():
    cfg = load([make(ROUTE, ("spec.hostnames", ["A"])), make(GATEWAY, (f"{L0}.port", 0)),
                make(ROUTE, ("metadata.name", "ok"))], strict=False)
    assert [r.name for r in cfg.routes] == ["ok"] and cfg.gateways == ()
    assert {i.kind for i in cfg.issues} == {"HTTPRoute", "Gateway"}


def test_lenient_drops_route_when_every_rule_is_bad():
    cfg = load(make(ROUTE, (f"{M0}.path.value", "x")), strict=False)
    assert cfg.routes == () and len(cfg.issues) == 1


def test_lenient_duplicate_rule_name_drops_the_second():
    cfg = load(make(ROUTE, (f"{R0}.name", "a"), ("spec.rules[1]", {"name": "a"})), strict=False)
    assert cfg.routes[0].rule_indexes == (0,)


def test_strict_rule_indexes_are_all_rules():
    assert _route(("spec.rules[1]", {}), ("spec.rules[2]", {})).rule_indexes == (0, 1, 2)


def test_origin_is_attached(tmp_path):
    f = tmp_path / "r.yaml"
    import yaml
    f.write_text(yaml.safe_dump(make(ROUTE, (f"{M0}.path.value", "x"))))
    with pytest.raises(ConfigError) as info:
        load(f)
    assert info.value.errors[0].origin == str(f)
    issue = info.value.errors[0]
    assert f.read_text().splitlines()[issue.line - 1][issue.column - 1:] == "x"
    assert f"{f}:{issue.line}:{issue.column}: HTTPRoute ns/r: {M0}.path.value" in str(info.value)


def test_models_are_immutable_tuples():
    r = _route((f"{M0}.headers", [HDR]), (f"{R0}.filters", [RHM]))
    assert isinstance(r.rules, tuple) and isinstance(r.rules[0].matches[0].headers, tuple)
    with pytest.raises(Exception):
        r.name = "x"


def test_hostile_header_value_is_fast():
    import time
    t = time.perf_counter()
    with pytest.raises(ConfigError):
        load(make(ROUTE, (f"{M0}.headers", [{"name": "h", "value": "a" * 4000 + "\x01"}])))
    assert time.perf_counter() - t < 1.0


def test_all_problems_of_one_rule_at_once_without_follow_on_noise():
    obj = make(ROUTE, (R0, {
        "matches": [{"path": {"type": "Prefix", "value": "api"}, "headers": [{"name": "X", "value": 1}]}],
        "filters": [
            PREFIX_REWRITE,
            {"type": "RequestRedirect", "requestRedirect": {"statusCode": "301", "port": "x",
                                                            "path": {"type": "ReplaceFullPath",
                                                                     "replaceFullPath": 5}}},
            {"type": "RequestHeaderModifier", "requestHeaderModifier": [1]},
        ],
        "backendRefs": [{"name": "a", "port": "80"}],
        "timeouts": {"request": "1s", "backendRequest": "2s"},
    }))
    got = sorted((e.path, e.message.split(",")[0]) for e in errors_of(obj))
    assert got == sorted([
        (f"{M0}.path.type", "Expected one of `Exact`"),
        (f"{M0}.headers[0].value", "Expected `str`"),
        (f"{R0}.filters[1].requestRedirect.statusCode", "Expected `int`"),
        (f"{R0}.filters[1].requestRedirect.port", "Expected `int`"),
        (f"{R0}.filters[1].requestRedirect.path.replaceFullPath", "Expected `str`"),
        (f"{R0}.filters[2].requestHeaderModifier", "Expected `object`"),
        (f"{B0}.port", "Expected `int`"),
        (f"{R0}.timeouts.backendRequest", "backendRequest timeout (2s) cannot be longer than request timeout (1s)"),
        (f"{R0}.filters", "RequestRedirect and URLRewrite filters cannot be used together"),
        (f"{R0}.filters", "RequestRedirect filter must not be used together with backendRefs"),
    ])


@pytest.mark.parametrize("changes,path", [
    ([("spec.hostnames", ["a" * 250 + "-"])], "spec.hostnames[0]"),
    ([("spec.hostnames", ["a-" * 120 + "."])], "spec.hostnames[0]"),
    ([(f"{M0}.path.value", "/" + "%4" * 500 + "%")], f"{M0}.path.value"),
    ([(f"{M0}.headers", [{"name": "!" * 255 + " ", "value": "v"}])], f"{M0}.headers[0].name"),
    ([(f"{M0}.headers", [{"name": "h", "value": "a " * 2000 + " "}])], f"{M0}.headers[0].value"),
])
def test_hostile_values_are_refused_fast(changes, path):
    import time
    t = time.perf_counter()
    assert_refused(make(ROUTE, *changes), path, "")
    assert time.perf_counter() - t < 0.5


# --- property: routecore.testing.invalid_httproutes() drives the validation -----------------------

from hypothesis import HealthCheck, given, settings, strategies  # noqa: E402

from routecore.testing import invalid_httproutes  # noqa: E402


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=invalid_httproutes())
def test_invalid_httproutes_refused_with_the_named_path(case):
    """Every generated route breaks one rule: strict load refuses it with an issue at exactly that
    field path, and lenient load leaves it (or only the broken rule) out."""
    errors = errors_of(case.obj)
    assert {e.path for e in errors} == {case.path}, f"{case.rule}: " + "; ".join(map(str, errors))
    cfg = load([case.obj], strict=False)
    assert cfg.issues and {i.path for i in cfg.issues} == {case.path}


@given(strategies.text(min_size=1, max_size=12).filter(lambda k: k not in ("parentRefs", "hostnames", "rules")))
@settings(max_examples=200, deadline=None)
def test_an_error_is_one_line_of_printable_text_whatever_the_field_name(key):
    """An unknown field's name comes from the configuration: its control characters (an ANSI
    escape, a newline that would forge a second error line) are shown escaped."""
    obj = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
           "metadata": {"name": "r"}, "spec": {key: 1}}
    with pytest.raises(ConfigError) as err:
        load([obj])
    text = str(err.value)
    assert "\n" not in text
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in text)
    assert "unknown field" in text
