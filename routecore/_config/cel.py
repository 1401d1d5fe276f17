"""The Gateway API's CEL-like rules (the CRDs' x-kubernetes-validations and webhook checks) and the
patterns that the field declarations use (§5, §7, §8 of the semantics digest).

Invariants:
- a check gets an object's cleaned data (CRD defaults applied) and runs on partly invalid data
  too, so that all problems are reported at once: it reads only values that passed, and asks
  ``ctx.broken`` before it complains that something is missing;
- patterns are written so that Python's backtracking engine runs them in (near) linear time: no
  two branches of a repetition can match the same text (lengths are checked before patterns).
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import Dict, List

from .._paths import normalize_path
from .regex import compile_regex
from .schema import Ctx, fullmatch, join


# --- patterns ---------------------------------------------------------------------------------
# Written so that Python's backtracking engine runs them in (near) linear time: no two branches of a
# repetition can match the same text. Lengths are checked before patterns, which bounds them anyway.

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
HOSTNAME_RE = rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*"
PRECISE_HOSTNAME_RE = rf"{_LABEL}(?:\.{_LABEL})*"
NAMESPACE_RE = _LABEL
GROUP_RE = rf"(?:{_LABEL}(?:\.{_LABEL})*)?"
KIND_RE = r"[a-zA-Z](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
HEADER_NAME_RE = r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+"
# upstream: ^[!-~]+([\t ]?[!-~]+)*$ -- the same language, without the ambiguous optional separator
HEADER_VALUE_RE = r"[!-~]+(?:[\t ][!-~]+)*"
_PATH_CHARS_RE = r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+"
_path_chars_re = re.compile(_PATH_CHARS_RE).fullmatch
# the characters _PATH_CHARS_RE takes one by one (all but the "%XX" escapes)
PATH_PLAIN_CHARS = "-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._~!$&'()*+,;=:@"


def _path_chars(value: str) -> bool:
    """Whether ``value`` is made of _PATH_CHARS_RE's characters and escapes. Without a "%" (the
    usual path) stripping the plain characters leaves nothing exactly when it is: one C pass
    instead of the regex's, which costs several times as much."""
    if "%" in value:
        return _path_chars_re(value) is not None
    return bool(value) and not value.strip(PATH_PLAIN_CHARS)
DURATION_RE = r"(?:[0-9]{1,5}(?:h|m|s|ms)){1,4}"
PROTOCOL_RE = r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?|" + PRECISE_HOSTNAME_RE + r"/[A-Za-z0-9]+"
# an origin's host: reg-name characters (a leading "*" stands for labels) or an IPv6 literal
CORS_ORIGIN_RE = (r"\*|[a-zA-Z][a-zA-Z0-9+.\-]*://(?:[-A-Za-z0-9._~!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])"
                   r"(?::[0-9]{1,5})?")
# a Set-Cookie Path attribute: visible ASCII but ";" (RFC 6265 4.1.1 av-octet), from "/"
COOKIE_PATH_RE = r"/[!-:<-~]*"
# a name that ends up in a log line or a header: no controls, no whitespace
OBJECT_NAME_RE = r"[^\x00-\x20\x7f]+"
LABEL_KEY_RE = r"(?:" + PRECISE_HOSTNAME_RE + r"/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
LABEL_VALUE_RE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
# GRPCMethodMatch (Exact): upstream ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$ and ^[A-Za-z_][A-Za-z_0-9]*$
_GRPC_SERVICE_RE = r"\.?[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*"
_GRPC_METHOD_RE = r"[A-Za-z_][A-Za-z_0-9]*"

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
FILTER_TYPES = (
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestMirror",
    "RequestRedirect",
    "URLRewrite",
    "ExtensionRef",
    "CORS",
    "ExternalAuth",
)
# filter type -> the body field it needs
FILTER_FIELD = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
    "RequestMirror": "requestMirror",
    "RequestRedirect": "requestRedirect",
    "URLRewrite": "urlRewrite",
    "ExtensionRef": "extensionRef",
    "CORS": "cors",
    "ExternalAuth": "externalAuth",
}
_REPEATABLE_FILTERS = {"RequestMirror", "ExtensionRef"}
GRPC_FILTER_TYPES = ("ResponseHeaderModifier", "RequestHeaderModifier", "RequestMirror", "ExtensionRef")


def duration_seconds(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|h|m|s)", text))


# --- CEL-like checks (run only when an object's shape is right; defaults already applied) -------


def _path_problems(value: str) -> List[str]:
    """Why ``value`` is not an absolute path as Exact/PathPrefix matches and URLRewrite /
    RequestRedirect paths must be: from "/", never "//" (an authority), no dot-segment, no
    escaped slash or backslash, RFC 3986 path characters only (no controls, whitespace, "?",
    "#", "\\", non-ASCII; "%" only in escapes)."""
    if not value.startswith("/"):
        return ["must start with '/'"]
    out = []
    if "//" in value or "/." in value or "%" in value or "#" in value:  # (each bad part holds one)
        out = [f"must not contain '{bad}'" for bad in ("//", "/./", "/../", "%2f", "%2F", "%5c", "%5C", "#")
               if bad in value]
        out += [f"must not end with '{bad}'" for bad in ("/..", "/.") if value.endswith(bad)]
    if not _path_chars(value):
        out.append("contains characters not allowed in a path (percent-encode them)")
    return out


def check_path_match(obj, path, ctx):
    typ, value = obj.get("type"), obj.get("value")
    if not isinstance(value, str):
        return
    where = join(path, "value")
    if typ in ("Exact", "PathPrefix"):
        for problem in _path_problems(value):
            ctx.add(where, problem)
    elif typ == "RegularExpression":
        _check_regex(value, where, ctx)


# paths check_path_match surely passes: "/" alone, or segments that each start with a path
# character other than "." (no "//", no dot-segment) and hold path characters only (no "%", "#"),
# optionally ending in "/"; said without a regex: from "/", plain path characters only, and
# neither "//" nor "/." anywhere (a third of the regex's cost; tests/test_load_fast.py pins the two
# as one language)
_PLAIN_TYPES = frozenset(("Exact", "PathPrefix"))


def plain_path(value: str) -> bool:
    """Whether the path ``value`` is one check_path_match surely passes (see above); quick.py
    writes it out (tests/test_load_quick.py pins the two as one)."""
    return value[:1] == "/" and not value.strip(PATH_PLAIN_CHARS) and "//" not in value and "/." not in value


def _path_match_passes(obj) -> bool:
    value = obj.get("value")
    return obj.get("type") in _PLAIN_TYPES and type(value) is str and plain_path(value)


check_path_match.passes = _path_match_passes  # type: ignore[attr-defined]  # (see schema.Obj)


def _check_regex(value, where, ctx):
    try:
        compile_regex(value)
    except ValueError as exc:
        ctx.add(where, str(exc))


def check_typed_value_regex(obj, path, ctx):
    if obj.get("type") == "RegularExpression" and isinstance(obj.get("value"), str):
        _check_regex(obj["value"], join(path, "value"), ctx)


def check_backend_port(obj, path, ctx):
    if obj.get("group") == "" and obj.get("kind") == "Service" and "port" not in obj \
            and not ctx.broken(join(path, "port")):
        ctx.add(join(path, "port"), "port is required for a Service reference")


def check_path_modifier(obj, path, ctx):
    typ = obj.get("type")
    if typ not in ("ReplaceFullPath", "ReplacePrefixMatch"):
        return  # missing or unknown type: already reported
    for t, field in (("ReplaceFullPath", "replaceFullPath"), ("ReplacePrefixMatch", "replacePrefixMatch")):
        if typ == t and field not in obj and not ctx.broken(join(path, field)):
            ctx.add(join(path, field), f"`{field}` must be specified when type is {t}")
        if typ != t and field in obj:
            ctx.add(join(path, field), f"`{field}` must not be set unless type is {t}")
        value = obj.get(field)
        if typ == t and isinstance(value, str) and not (value == "" and t == "ReplacePrefixMatch"):
            # what goes upstream or into a Location must be a path, already in normal form: it
            # never changes the authority, and one more normalisation changes nothing
            problems = _path_problems(value)
            if not problems and normalize_path(value) != value:
                problems = ["must be a normalised path: no escapes of unreserved characters, "
                            "upper-case hex digits in escapes, "
                            "no `..;` segments (one more decoding would change it)"]
            for problem in problems:
                ctx.add(join(path, field), problem)


def check_header_modifier(obj, path, ctx):
    seen: Dict[str, str] = {}
    exact = set()
    for action in ("set", "add", "remove"):
        for i, entry in enumerate(obj.get(action, ())):
            name = entry.get("name") if isinstance(entry, dict) else entry
            if not isinstance(name, str):
                continue
            key = name.lower()
            where = f"{path}.{action}[{i}]"
            if (action, name) in exact:
                continue  # an exact repeat within one list: reported as a duplicate entry already
            exact.add((action, name))
            if key in seen:
                ctx.add(where, f"header `{name}` already has an action in this filter ({seen[key]}); "
                               "only one action per header name is allowed")
            else:
                seen[key] = f"{action}[{i}]"


def check_mirror(obj, path, ctx):
    if "percent" in obj and "fraction" in obj:
        ctx.add(path, "only one of `percent` or `fraction` may be specified")


def check_fraction(obj, path, ctx):
    num, den = obj.get("numerator"), obj.get("denominator")
    if isinstance(num, int) and isinstance(den, int) and num > den:
        ctx.add(join(path, "numerator"), f"numerator ({num}) must be less than or equal to denominator ({den})")


def check_star_alone(obj, path, ctx):
    for field in ("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders"):
        values = obj.get(field, ())
        if "*" in values and len(values) > 1:
            ctx.add(join(path, field), f"`*` must be the only entry of `{field}` when it is used")


def check_filter(obj, path, ctx):
    typ = obj.get("type")
    if typ == "ExternalAuth":
        ctx.add(join(path, "type"), "filter type ExternalAuth is not supported by routecore")
    if typ not in FILTER_FIELD:
        return
    needed = FILTER_FIELD[typ]
    if needed not in obj and not ctx.broken(join(path, needed)):
        ctx.add(path, f"`{needed}` must be specified for a filter of type {typ}")
    for other_type, field in FILTER_FIELD.items():
        if field != needed and field in obj:
            ctx.add(join(path, field), f"`{field}` must not be set unless the filter type is {other_type}")


def _check_filter_list(filters, path, ctx):
    """Repeat and combination rules for one list of filters (of a rule or of a backendRef)."""
    where = join(path, "filters")
    counts: Dict[str, int] = {}
    for f in filters:
        typ = f.get("type")
        counts[typ] = counts.get(typ, 0) + 1
    for typ, n in counts.items():
        if n > 1 and typ in FILTER_FIELD and typ not in _REPEATABLE_FILTERS:
            ctx.add(where, f"{typ} filter cannot be repeated")
    if counts.get("RequestRedirect") and counts.get("URLRewrite"):
        ctx.add(where, "RequestRedirect and URLRewrite filters cannot be used together")


def _indexed(items):
    """(index as written, cleaned item) pairs of a cleaned list."""
    return zip(getattr(items, "indexes", range(len(items))), items)


def _prefix_filters(filters, path):
    """(path to the filter's path modifier, ...) for filters using ReplacePrefixMatch."""
    out = []
    for i, f in _indexed(filters):
        field = {"RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite"}.get(f.get("type"))
        body = f.get(field) if field else None
        if isinstance(body, dict) and isinstance(body.get("path"), dict):
            if body["path"].get("type") == "ReplacePrefixMatch":
                out.append(f"{path}.filters[{i}].{field}.path")
    return out


def check_status_code(obj, path, ctx):
    code = obj.get("statusCode")
    if isinstance(code, int) and code not in (301, 302, 303, 307, 308):
        ctx.add(join(path, "statusCode"), f"Expected one of `301`, `302`, `303`, `307`, `308`, got `{code}`")


def check_rule(rule, path, ctx):
    filters = rule.get("filters", [])
    prefix_users = []
    if filters:  # (no filters: nothing to check)
        _check_filter_list(filters, path, ctx)
    backend_refs = rule.get("backendRefs", [])
    if filters:
        if backend_refs and any(f.get("type") == "RequestRedirect" for f in filters):
            ctx.add(join(path, "filters"), "RequestRedirect filter must not be used together with backendRefs")
        prefix_users = _prefix_filters(filters, path)
    for j, ref in _indexed(backend_refs):
        bfilters = ref.get("filters", [])
        if not bfilters:
            continue
        bpath = f"{path}.backendRefs[{j}]"
        _check_filter_list(bfilters, bpath, ctx)
        prefix_users += _prefix_filters(bfilters, bpath)
    if prefix_users and not ctx.broken(join(path, "matches")):
        matches = rule.get("matches", [])
        ok = len(matches) == 1 and matches[0].get("path", {}).get("type") == "PathPrefix"
        if not ok:
            for where in prefix_users:
                ctx.add(where, "ReplacePrefixMatch requires the rule to have exactly one match, of type PathPrefix")


def _rule_passes(rule) -> bool:
    """check_rule has nothing to say about a rule without filters (its own and its backendRefs')."""
    if rule.get("filters"):
        return False
    for ref in rule.get("backendRefs", ()):
        if ref.get("filters"):
            return False
    return True


check_rule.passes = _rule_passes  # type: ignore[attr-defined]  # (see schema.Obj)


def check_grpc_filter(obj, path, ctx):
    if obj.get("type") in GRPC_FILTER_TYPES:  # another type: refused by the enum already
        check_filter(obj, path, ctx)


def check_grpc_rule(rule, path, ctx):
    def known(filters):  # other types are refused by the enum already
        return [f for f in filters if f.get("type") in GRPC_FILTER_TYPES]

    _check_filter_list(known(rule.get("filters", [])), path, ctx)
    for j, ref in _indexed(rule.get("backendRefs", [])):
        _check_filter_list(known(ref.get("filters", [])), f"{path}.backendRefs[{j}]", ctx)


def check_grpc_method(obj, path, ctx):
    if "service" not in obj and "method" not in obj:
        if not ctx.broken(join(path, "service"), join(path, "method")):
            ctx.add(path, "one or both of `service` or `method` must be specified")
        return
    typ = obj.get("type")
    for field, pattern, why in (
            ("service", _GRPC_SERVICE_RE, "a gRPC service name such as `pkg.v1.Service`"),
            ("method", _GRPC_METHOD_RE, "a gRPC method name such as `GetItem`")):
        value = obj.get(field)
        if not isinstance(value, str) or len(value) > 1024:
            continue  # absent, or refused already
        where = join(path, field)
        if typ == "Exact" and not fullmatch(pattern, value):
            ctx.add(where, f"`{value}` is not valid (must be {why} when type is Exact)")
        elif typ == "RegularExpression":
            _check_regex(value, where, ctx)


def check_timeouts(obj, path, ctx):
    req, back = obj.get("request"), obj.get("backendRequest")
    if not (isinstance(req, str) and isinstance(back, str)):
        return
    if not (fullmatch(DURATION_RE, req) and fullmatch(DURATION_RE, back)):
        return
    r, b = duration_seconds(req), duration_seconds(back)
    if r != 0 and b > r:
        ctx.add(join(path, "backendRequest"), f"backendRequest timeout ({back}) cannot be longer than request timeout ({req})")


def check_session(obj, path, ctx):
    lifetime = (obj.get("cookie") or {}).get("lifetimeType") or (obj.get("cookieConfig") or {}).get("lifetimeType")
    if lifetime == "Permanent" and "absoluteTimeout" not in obj and not ctx.broken(join(path, "absoluteTimeout")):
        ctx.add(join(path, "absoluteTimeout"), "absoluteTimeout must be specified when cookie lifetimeType is Permanent")
    if "cookie" in obj and "cookieConfig" in obj:
        ctx.add(path, "use either `cookie` or `cookieConfig`, not both")
    typ = obj.get("type")
    if typ == "Header" and "cookie" in obj:
        ctx.add(join(path, "cookie"), "`cookie` must not be set when type is Header")
    # a Header session needs the header's name: ``sessionName`` in the released CRDs' shape,
    # ``header.name`` in the newer one (a cookie session may let the implementation name it)
    if typ == "Header" and "sessionName" not in obj and "header" not in obj \
            and not ctx.broken(join(path, "sessionName"), join(path, "header")):
        ctx.add(join(path, "sessionName"), "required when type is Header: the name of the header that "
                                           "carries the session (or `header.name` in the newer field shape)")
    if typ == "Cookie" and "header" in obj:
        ctx.add(join(path, "header"), "`header` must not be set when type is Cookie")


def check_label_requirement(obj, path, ctx):
    op, values = obj.get("operator"), obj.get("values", [])
    if op in ("In", "NotIn") and not values and not ctx.broken(join(path, "values")):
        ctx.add(join(path, "values"), f"values must be non-empty when operator is {op}")
    if op in ("Exists", "DoesNotExist") and values:
        ctx.add(join(path, "values"), f"values must be empty when operator is {op}")


def check_allowed_namespaces(obj, path, ctx):
    if obj.get("from") == "Selector" and "selector" not in obj and not ctx.broken(join(path, "selector")):
        ctx.add(join(path, "selector"), "selector must be specified when `from` is Selector")


def check_listener(obj, path, ctx):
    proto = obj.get("protocol")
    if proto in ("HTTP", "TCP", "UDP") and "tls" in obj:
        ctx.add(join(path, "tls"), f"tls must not be specified for protocol {proto}")
    if proto == "HTTPS" and (obj.get("tls") or {}).get("mode", "Terminate") != "Terminate":
        ctx.add(join(path, "tls.mode"), "tls mode must be Terminate for protocol HTTPS")
    if proto in ("TCP", "UDP") and "hostname" in obj:
        ctx.add(join(path, "hostname"), f"hostname must not be specified for protocol {proto}")
    if proto == "TLS" and "tls" not in obj and not ctx.broken(join(path, "tls")):
        ctx.add(join(path, "tls"), "tls mode must be set for protocol TLS")


def check_listener_tls(obj, path, ctx):
    if obj.get("mode") == "Terminate" and not obj.get("certificateRefs") and not obj.get("options") \
            and not ctx.broken(join(path, "certificateRefs"), join(path, "options")):
        ctx.add(join(path, "certificateRefs"),
                "certificateRefs or options must be specified when mode is Terminate")


def check_gateway_spec(spec, path, ctx):
    seen: Dict[tuple, int] = {}
    listeners = spec.get("listeners", [])
    for i, listener in zip(getattr(listeners, "indexes", range(len(listeners))), listeners):
        if "port" not in listener or "protocol" not in listener:
            continue
        if "hostname" not in listener and ctx.broken(f"{path}.listeners[{i}].hostname"):
            continue
        key = (listener.get("port"), listener.get("protocol"), listener.get("hostname"))
        if key in seen:
            ctx.add(f"{path}.listeners[{i}]",
                    f"combination of port, protocol and hostname must be unique for each listener "
                    f"(same as listeners[{seen[key]}])")
        else:
            seen[key] = i


# --- schemas -----------------------------------------------------------------------------------
def check_timestamp(obj, path, ctx):
    ts = obj.get("creationTimestamp")
    if ts is None:
        return
    try:
        obj["creationTimestamp"] = _epoch(ts)
    except ValueError:
        ctx.add(join(path, "creationTimestamp"),
                f"`{ts}` is not an RFC 3339 timestamp such as `2024-01-02T03:04:05Z`")


def _epoch(value) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, _dt.datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", text):
            raise ValueError(value)
        text = text[:-1] + "+00:00" if text[-1] in "Zz" else text
        frac = re.search(r"\.\d+", text)
        if frac:  # fromisoformat before 3.11 only takes 3 or 6 digits
            text = text.replace(frac.group(0), "")
        dt = _dt.datetime.fromisoformat(text.replace("t", "T"))
    else:
        raise ValueError(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    return int(dt.timestamp())

# --- route-level checks that look across rules / parentRefs (robust to partly invalid data) ----


def check_route_spec(spec: dict, route_ns: str, ctx: Ctx) -> None:
    rules = spec.get("rules")
    if isinstance(rules, list):
        total, named = 0, False
        for r in rules:
            if isinstance(r, dict):
                matches = r.get("matches")
                if isinstance(matches, list):
                    total += len(matches)
                named = named or "name" in r
        if total > 128:
            ctx.add("spec.rules", f"total number of matches across all rules must not exceed 128, got {total}")
        names: Dict[str, int] = {}
        for i, r in enumerate(rules if named else ()):  # (no rule named: no name to compare)
            name = r.get("name") if isinstance(r, dict) else None
            if isinstance(name, str):
                if name in names:
                    ctx.add(f"spec.rules[{i}].name", f"rule name `{name}` is already used by rules[{names[name]}]; "
                                                     "rule names must be unique within the route",
                            where={"rule": i})
                else:
                    names[name] = i
    refs = spec.get("parentRefs")
    # (one parentRef or none: no two references to the same parent to compare)
    if isinstance(refs, list) and len(refs) > 1 \
            and not ctx.broken("spec.parentRefs"):
        groups: Dict[tuple, List[int]] = {}
        for i, ref in enumerate(refs):
            key = (ref.get("group"), ref.get("kind"), ref.get("namespace") or route_ns, ref.get("name"))
            groups.setdefault(key, []).append(i)
        for idxs in groups.values():
            if len(idxs) < 2:
                continue
            has_section = {("sectionName" in refs[i]) for i in idxs}
            has_port = {("port" in refs[i]) for i in idxs}
            if any(not ("sectionName" in refs[i] or "port" in refs[i]) for i in idxs) or len(has_section) > 1 \
                    or len(has_port) > 1:
                for i in idxs:
                    ctx.add(f"spec.parentRefs[{i}]",
                            "sectionName or port must be specified (consistently) when parentRefs includes "
                            "2 or more references to the same parent", where={"parentRef": i})
                continue
            seen: Dict[tuple, int] = {}
            for i in idxs:
                k = (refs[i].get("sectionName"), refs[i].get("port"))
                if k in seen:
                    ctx.add(f"spec.parentRefs[{i}]",
                            f"sectionName or port must be unique when parentRefs includes 2 or more references "
                            f"to the same parent (same as parentRefs[{seen[k]}])", where={"parentRef": i})
                else:
                    seen[k] = i
