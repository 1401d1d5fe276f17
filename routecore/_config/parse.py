"""Turns raw Kubernetes objects into validated, defaulted routecore models (a Config).

Invariants:
- every object is checked in full against a table-driven schema (unknown fields, types, required
  fields, enums, patterns, lengths, list sizes, list-map keys) and then against the CRD's CEL rules
  (§5, §7, §8 of the semantics digest); every problem of every object is reported;
- CRD defaults are applied before the CEL-like checks, as the API server does;
- strict=True: any issue raises one ConfigError listing all of them, nothing is returned;
- strict=False: an issue under ``spec.rules[i]`` of an HTTPRoute or GRPCRoute drops rule i only (the kept
  rules' original indexes go to HTTPRoute.rule_indexes); any other issue drops the object; all
  issues are returned in Config.issues;
- models are built only from data that passed every check, so they never hold invalid values.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import models as m
from .._errors import ConfigError, ConfigIssue
from .._paths import normalize_path
from .regex import compile_regex
from .sources import RawObject

# --- patterns ---------------------------------------------------------------------------------
# Written so that Python's backtracking engine runs them in (near) linear time: no two branches of a
# repetition can match the same text. Lengths are checked before patterns, which bounds them anyway.

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_HOSTNAME_RE = rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*"
_PRECISE_HOSTNAME_RE = rf"{_LABEL}(?:\.{_LABEL})*"
_NAMESPACE_RE = _LABEL
_GROUP_RE = rf"(?:{_LABEL}(?:\.{_LABEL})*)?"
_KIND_RE = r"[a-zA-Z](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
_HEADER_NAME_RE = r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+"
# upstream: ^[!-~]+([\t ]?[!-~]+)*$ -- the same language, without the ambiguous optional separator
_HEADER_VALUE_RE = r"[!-~]+(?:[\t ][!-~]+)*"
_PATH_CHARS_RE = r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+"
_DURATION_RE = r"(?:[0-9]{1,5}(?:h|m|s|ms)){1,4}"
_PROTOCOL_RE = r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?|" + _PRECISE_HOSTNAME_RE + r"/[A-Za-z0-9]+"
# an origin's host: reg-name characters (a leading "*" stands for labels) or an IPv6 literal
_CORS_ORIGIN_RE = (r"\*|[a-zA-Z][a-zA-Z0-9+.\-]*://(?:[-A-Za-z0-9._~!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])"
                   r"(?::[0-9]{1,5})?")
# a Set-Cookie Path attribute: visible ASCII but ";" (RFC 6265 4.1.1 av-octet), from "/"
_COOKIE_PATH_RE = r"/[!-:<-~]*"
# a name that ends up in a log line or a header: no controls, no whitespace
_OBJECT_NAME_RE = r"[^\x00-\x20\x7f]+"
_LABEL_KEY_RE = r"(?:" + _PRECISE_HOSTNAME_RE + r"/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_LABEL_VALUE_RE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
# GRPCMethodMatch (Exact): upstream ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$ and ^[A-Za-z_][A-Za-z_0-9]*$
_GRPC_SERVICE_RE = r"\.?[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*"
_GRPC_METHOD_RE = r"[A-Za-z_][A-Za-z_0-9]*"

_COMPILED: Dict[str, Any] = {}


def _compiled(pattern: str):
    rx = _COMPILED.get(pattern)
    if rx is None:
        rx = _COMPILED[pattern] = re.compile(pattern)
    return rx


def _fullmatch(pattern: str, value: str) -> bool:
    return _compiled(pattern).fullmatch(value) is not None


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
_FILTER_FIELD = {
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

# --- the schema language -----------------------------------------------------------------------

_MISSING = object()
_BAD = object()  # a value of the wrong type: left out of the cleaned data


class _Ctx:
    """Issues of one object: (path, message, hard). Hard issues mean the data has the wrong shape."""

    def __init__(self) -> None:
        self.issues: List[Tuple[str, str, bool]] = []
        self.hard_paths: List[str] = []

    def add(self, path: str, message: str, hard: bool = False) -> None:
        self.issues.append((path, message, hard))
        if hard:
            self.hard_paths.append(path)

    def broken(self, *paths: str) -> bool:
        """Whether a value at (or under) one of ``paths`` was given with the wrong shape.

        Checks use it to tell "absent" from "given but unusable", so that they never add a
        second, misleading complaint about a field already reported.
        """
        return any(_under(h, p) for h in self.hard_paths for p in paths)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _under(issue_path: str, prefix: str) -> bool:
    if not prefix:
        return True
    return issue_path == prefix or issue_path.startswith(prefix + ".") or issue_path.startswith(prefix + "[")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (_dt.datetime, _dt.date)):
        return "timestamp"
    return type(value).__name__


def _expected(kind: str, value: Any) -> str:
    return f"Expected `{kind}`, got `{_type_name(value)}`"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _shown(value: str) -> str:
    """``value`` for a message: controls and other unprintable characters escaped, so one issue
    stays one line (a config cannot inject lines into ``routecore check`` output or a log)."""
    return value if value.isprintable() else value.encode("unicode_escape").decode("ascii")


class _Str:
    def __init__(self, *, pattern=None, why=None, min_len=0, max_len=None, enum=None):
        self.pattern, self.why, self.min_len, self.max_len, self.enum = pattern, why, min_len, max_len, enum
        # the compiled pattern's fullmatch, looked up once (same program as _fullmatch's cache)
        self._fullmatch = None if pattern is None else _compiled(pattern).fullmatch

    def walk(self, value, path, ctx):
        if not isinstance(value, str):
            ctx.add(path, _expected("str", value), hard=True)
            return _BAD
        if self.enum is not None:
            if value not in self.enum:
                allowed = ", ".join(f"`{e}`" for e in self.enum)
                ctx.add(path, f"Expected one of {allowed}, got `{_shown(value)}`")
            return value
        n = len(value)
        if n < self.min_len:
            ctx.add(path, "must not be empty" if self.min_len == 1 else f"must be at least {self.min_len} characters")
            return value
        if self.max_len is not None and n > self.max_len:
            ctx.add(path, f"must be at most {self.max_len} characters, got {n}")
            return value
        if self._fullmatch is not None and self._fullmatch(value) is None:
            why = f" ({self.why})" if self.why else ""
            ctx.add(path, f"`{_shown(value)}` is not valid{why}")
        return value


class _Int:
    def __init__(self, *, min=None, max=None):
        self.min, self.max = min, max

    def walk(self, value, path, ctx):
        if isinstance(value, bool) or not isinstance(value, int):
            ctx.add(path, _expected("int", value), hard=True)
            return _BAD
        if self.min is not None and value < self.min:
            ctx.add(path, f"Expected `int` >= {self.min}, got {value}")
        elif self.max is not None and value > self.max:
            ctx.add(path, f"Expected `int` <= {self.max}, got {value}")
        return value


class _Bool:
    def walk(self, value, path, ctx):
        if not isinstance(value, bool):
            ctx.add(path, _expected("bool", value), hard=True)
            return _BAD
        return value


class _Any:
    """Accepted as is (fields routecore does not interpret)."""

    def walk(self, value, path, ctx):
        return value


class _StrMap:
    """A map of strings to strings (labels, annotations, options)."""

    def __init__(self, key=None, value=None):
        self.key, self.value = key, value

    def walk(self, value, path, ctx):
        if not isinstance(value, dict):
            ctx.add(path, _expected("object", value), hard=True)
            return _BAD
        out = {}
        for k, v in value.items():
            sub = _join(path, str(k))
            if not isinstance(k, str):
                ctx.add(sub, f"key: {_expected('str', k)}", hard=True)
                continue
            if v is None:
                v = ""
            if not isinstance(v, str):
                ctx.add(sub, _expected("str", v), hard=True)
                continue
            if self.key is not None:
                self.key.walk(k, sub, ctx)
            if self.value is not None:
                self.value.walk(v, sub, ctx)
            out[k] = v
        return out


class _List(list):
    """A cleaned list; ``indexes`` holds each item's index in the list as written."""

    __slots__ = ("indexes", "total")

    def __init__(self, *args, total=None):
        super().__init__(*args)
        self.indexes: List[int] = list(range(len(self)))
        self.total = len(self) if total is None else total  # items as written, valid or not

    @classmethod
    def empty(cls, total: int) -> "_List":
        """``_List(total=total)``, without the generic constructor's work (walk makes many)."""
        out = list.__new__(cls)
        out.indexes = []
        out.total = total
        return out


class _Arr:
    def __init__(self, item, *, min_items=0, max_items=None, key=None, empty_default=False, unique=False):
        self.item, self.min_items, self.max_items = item, min_items, max_items
        self.key = key  # list-map key: entries must have distinct values of this field
        self.empty_default = empty_default  # an explicit [] takes the field's default
        self.unique = unique  # list-set: items must be distinct

    def walk(self, value, path, ctx):
        if not isinstance(value, (list, tuple)):
            ctx.add(path, _expected("array", value), hard=True)
            return _BAD
        n = len(value)
        if n < self.min_items:
            ctx.add(path, f"must have at least {_plural(self.min_items, 'item')}, got {n}")
        if self.max_items is not None and n > self.max_items:
            ctx.add(path, f"must have at most {_plural(self.max_items, 'item')}, got {n}")
        out = _List.empty(n)
        indexes = out.indexes
        seen: Dict[Any, int] = {}
        item_walk, key, unique = self.item.walk, self.key, self.unique
        for i, item in enumerate(value):
            sub = f"{path}[{i}]"
            if item is None:
                ctx.add(sub, _expected(_schema_type(self.item), item), hard=True)
                continue
            cleaned = item_walk(item, sub, ctx)
            if cleaned is _BAD:
                continue
            out.append(cleaned)
            indexes.append(i)
            if key is not None and isinstance(cleaned, dict) and isinstance(cleaned.get(key), str):
                k = cleaned[key]
                if k in seen:
                    ctx.add(
                        _join(sub, key),
                        f"duplicate entry with {key} `{k}` (also at [{seen[k]}]); {key}s must be unique",
                    )
                else:
                    seen[k] = i
            elif unique and isinstance(cleaned, (str, int)):
                if cleaned in seen:
                    ctx.add(sub, f"duplicate value `{cleaned}` (also at [{seen[cleaned]}])")
                else:
                    seen[cleaned] = i
        return out


class _F:
    """One field of an object: its schema, whether it is required, and its CRD default."""

    def __init__(self, schema, *, required=False, default=_MISSING):
        self.schema, self.required, self.default = schema, required, default
        self._clean_default = _MISSING  # see clean_default()
        self.as_is = type(schema) is _Any  # walk() returns the value unchanged, with no issue

    def clean_default(self, path, ctx):
        """The default as the schema cleans it (walked under ``path``, issues to ``ctx``).

        A scalar default that the schema takes as is, without an issue (the usual case: CRD
        defaults are valid), is remembered and returned directly from then on; walking it again
        would give the same value and no issue. Other defaults are copied and walked each time.
        """
        cached = self._clean_default
        if cached is not _MISSING:
            return cached
        default = self.default
        if isinstance(default, (str, int, float)) and isinstance(self.schema, (_Str, _Int, _Bool, _Any)):
            probe = _Ctx()
            if self.schema.walk(default, path, probe) is default and not probe.issues:
                self._clean_default = default
                return default
        return self.schema.walk(_copy(default), path, ctx)


class _Obj:
    def __init__(self, fields: Dict[str, _F], *, checks: Tuple[Callable, ...] = (), open=False):
        self.fields, self.checks, self.open = fields, checks, open
        # the fields the second pass of walk() can act on when they are absent: required or
        # defaulted ones (for any other field, an absent key leads to nothing), in field order
        self._needed = tuple((key, f, getattr(f.schema, "empty_default", False))
                             for key, f in fields.items()
                             if f.required or f.default is not _MISSING)

    def walk(self, value, path, ctx):
        if not isinstance(value, dict):
            ctx.add(path, _expected("object", value), hard=True)
            return _BAD
        out: Dict[str, Any] = {}
        fields = self.fields
        for key, raw in value.items():
            f = fields.get(key) if isinstance(key, str) else None
            if f is None:
                if not self.open:
                    ctx.add(_join(path, str(key)), self._unknown(str(key), value))
                continue
            if raw is None:
                continue  # null means "not set", as Kubernetes prunes nulls before defaulting
            if f.as_is:
                out[key] = raw
                continue
            cleaned = f.schema.walk(raw, f"{path}.{key}" if path else key, ctx)
            if cleaned is not _BAD:
                out[key] = cleaned
        for key, f, empty_default in self._needed:
            if key in out:
                # an explicit [] takes the field's default
                if not (empty_default and f.default is not _MISSING and out[key] == []):
                    continue
            if key in value and value[key] is not None and not (empty_default and value[key] == []):
                continue  # given, but with the wrong type: already reported
            if f.required:
                sub = _join(path, key)
                if key in value:
                    ctx.add(sub, _expected(_schema_type(f.schema), None), hard=True)
                else:
                    ctx.add(sub, f"missing required field `{key}`", hard=True)
            elif f.default is not _MISSING:
                out[key] = f.clean_default(_join(path, key), ctx)
        # CEL-like checks run on partly invalid data too (all problems are reported at once); they
        # are written to read only values that passed, and to consult ctx.broken() before they
        # complain that something is missing.
        for check in self.checks:
            check(out, path, ctx)
        return out

    def _unknown(self, key: str, value: dict) -> str:
        msg = f"unknown field `{key}`"
        owners = []
        for name, f in self.fields.items():
            inner = f.schema.item if isinstance(f.schema, _Arr) else f.schema
            if isinstance(inner, _Obj) and key in inner.fields:
                owners.append(name)
        if owners:
            owners.sort(key=lambda n: n not in value)  # prefer a sibling the user wrote (maybe empty)
            return f"{msg}; did you mean to indent it under `{owners[0]}`?"
        close = difflib.get_close_matches(key, list(self.fields), n=1, cutoff=0.75)
        if close:
            return f"{msg}; did you mean `{close[0]}`?"
        return msg


def _schema_type(schema) -> str:
    return {_Str: "str", _Int: "int", _Bool: "bool", _Arr: "array", _Obj: "object", _StrMap: "object"}.get(
        type(schema), "value"
    )


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- reusable field types ----------------------------------------------------------------------

_HOSTNAME = _Str(pattern=_HOSTNAME_RE, why="must be a lower-case RFC 1123 hostname, optionally prefixed by `*.`",
                 min_len=1, max_len=253)
_PRECISE_HOSTNAME = _Str(pattern=_PRECISE_HOSTNAME_RE, why="must be a lower-case RFC 1123 hostname without wildcard",
                         min_len=1, max_len=253)
_SECTION_NAME = _Str(pattern=_PRECISE_HOSTNAME_RE, why="must be a lower-case RFC 1123 subdomain",
                     min_len=1, max_len=253)
_NAMESPACE = _Str(pattern=_NAMESPACE_RE, why="must be a lower-case RFC 1123 label", min_len=1, max_len=63)
_OBJECT_NAME = _Str(pattern=_OBJECT_NAME_RE, why="no control characters or whitespace",
                    min_len=1, max_len=253)
_GROUP = _Str(pattern=_GROUP_RE, why="must be empty or a lower-case RFC 1123 subdomain", max_len=253)
_KIND = _Str(pattern=_KIND_RE, why="must be a Kind name such as `Service`", min_len=1, max_len=63)
_PORT = _Int(min=1, max=65535)
_HEADER_NAME = _Str(pattern=_HEADER_NAME_RE, why="must be an HTTP header name (RFC 7230 token)",
                    min_len=1, max_len=256)
_HEADER_VALUE = _Str(pattern=_HEADER_VALUE_RE,
                     why="visible ASCII characters, single spaces or tabs between them", min_len=1, max_len=4096)
_DURATION = _Str(pattern=_DURATION_RE, why="must be a duration such as `1h`, `30s`, `500ms`, `1m30s`")
_METHOD = _Str(enum=METHODS)


def _duration_seconds(text: str) -> float:
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
    out = [f"must not contain '{bad}'" for bad in ("//", "/./", "/../", "%2f", "%2F", "%5c", "%5C", "#")
           if bad in value]
    out += [f"must not end with '{bad}'" for bad in ("/..", "/.") if value.endswith(bad)]
    if not _fullmatch(_PATH_CHARS_RE, value):
        out.append("contains characters not allowed in a path (percent-encode them)")
    return out


def _check_path_match(obj, path, ctx):
    typ, value = obj.get("type"), obj.get("value")
    if not isinstance(value, str):
        return
    where = _join(path, "value")
    if typ in ("Exact", "PathPrefix"):
        for problem in _path_problems(value):
            ctx.add(where, problem)
    elif typ == "RegularExpression":
        _check_regex(value, where, ctx)


def _check_regex(value, where, ctx):
    try:
        compile_regex(value)
    except ValueError as exc:
        ctx.add(where, str(exc))


def _check_typed_value_regex(obj, path, ctx):
    if obj.get("type") == "RegularExpression" and isinstance(obj.get("value"), str):
        _check_regex(obj["value"], _join(path, "value"), ctx)


def _check_backend_port(obj, path, ctx):
    if obj.get("group") == "" and obj.get("kind") == "Service" and "port" not in obj \
            and not ctx.broken(_join(path, "port")):
        ctx.add(_join(path, "port"), "port is required for a Service reference")


def _check_path_modifier(obj, path, ctx):
    typ = obj.get("type")
    if typ not in ("ReplaceFullPath", "ReplacePrefixMatch"):
        return  # missing or unknown type: already reported
    for t, field in (("ReplaceFullPath", "replaceFullPath"), ("ReplacePrefixMatch", "replacePrefixMatch")):
        if typ == t and field not in obj and not ctx.broken(_join(path, field)):
            ctx.add(_join(path, field), f"`{field}` must be specified when type is {t}")
        if typ != t and field in obj:
            ctx.add(_join(path, field), f"`{field}` must not be set unless type is {t}")
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
                ctx.add(_join(path, field), problem)


def _check_header_modifier(obj, path, ctx):
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


def _check_mirror(obj, path, ctx):
    if "percent" in obj and "fraction" in obj:
        ctx.add(path, "only one of `percent` or `fraction` may be specified")


def _check_fraction(obj, path, ctx):
    num, den = obj.get("numerator"), obj.get("denominator")
    if isinstance(num, int) and isinstance(den, int) and num > den:
        ctx.add(_join(path, "numerator"), f"numerator ({num}) must be less than or equal to denominator ({den})")


def _check_star_alone(obj, path, ctx):
    for field in ("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders"):
        values = obj.get(field, ())
        if "*" in values and len(values) > 1:
            ctx.add(_join(path, field), f"`*` must be the only entry of `{field}` when it is used")


def _check_filter(obj, path, ctx):
    typ = obj.get("type")
    if typ == "ExternalAuth":
        ctx.add(_join(path, "type"), "filter type ExternalAuth is not supported by routecore")
    if typ not in _FILTER_FIELD:
        return
    needed = _FILTER_FIELD[typ]
    if needed not in obj and not ctx.broken(_join(path, needed)):
        ctx.add(path, f"`{needed}` must be specified for a filter of type {typ}")
    for other_type, field in _FILTER_FIELD.items():
        if field != needed and field in obj:
            ctx.add(_join(path, field), f"`{field}` must not be set unless the filter type is {other_type}")


def _check_filter_list(filters, path, ctx):
    """Repeat and combination rules for one list of filters (of a rule or of a backendRef)."""
    where = _join(path, "filters")
    counts: Dict[str, int] = {}
    for f in filters:
        typ = f.get("type")
        counts[typ] = counts.get(typ, 0) + 1
    for typ, n in counts.items():
        if n > 1 and typ in _FILTER_FIELD and typ not in _REPEATABLE_FILTERS:
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


def _check_status_code(obj, path, ctx):
    code = obj.get("statusCode")
    if isinstance(code, int) and code not in (301, 302, 303, 307, 308):
        ctx.add(_join(path, "statusCode"), f"Expected one of `301`, `302`, `303`, `307`, `308`, got `{code}`")


def _check_rule(rule, path, ctx):
    filters = rule.get("filters", [])
    prefix_users = []
    if filters:  # (no filters: nothing to check)
        _check_filter_list(filters, path, ctx)
    backend_refs = rule.get("backendRefs", [])
    if filters:
        if backend_refs and any(f.get("type") == "RequestRedirect" for f in filters):
            ctx.add(_join(path, "filters"), "RequestRedirect filter must not be used together with backendRefs")
        prefix_users = _prefix_filters(filters, path)
    for j, ref in _indexed(backend_refs):
        bfilters = ref.get("filters", [])
        if not bfilters:
            continue
        bpath = f"{path}.backendRefs[{j}]"
        _check_filter_list(bfilters, bpath, ctx)
        prefix_users += _prefix_filters(bfilters, bpath)
    if prefix_users and not ctx.broken(_join(path, "matches")):
        matches = rule.get("matches", [])
        ok = len(matches) == 1 and matches[0].get("path", {}).get("type") == "PathPrefix"
        if not ok:
            for where in prefix_users:
                ctx.add(where, "ReplacePrefixMatch requires the rule to have exactly one match, of type PathPrefix")


def _check_grpc_filter(obj, path, ctx):
    if obj.get("type") in GRPC_FILTER_TYPES:  # another type: refused by the enum already
        _check_filter(obj, path, ctx)


def _check_grpc_rule(rule, path, ctx):
    def known(filters):  # other types are refused by the enum already
        return [f for f in filters if f.get("type") in GRPC_FILTER_TYPES]

    _check_filter_list(known(rule.get("filters", [])), path, ctx)
    for j, ref in _indexed(rule.get("backendRefs", [])):
        _check_filter_list(known(ref.get("filters", [])), f"{path}.backendRefs[{j}]", ctx)


def _check_grpc_method(obj, path, ctx):
    if "service" not in obj and "method" not in obj:
        if not ctx.broken(_join(path, "service"), _join(path, "method")):
            ctx.add(path, "one or both of `service` or `method` must be specified")
        return
    typ = obj.get("type")
    for field, pattern, why in (
            ("service", _GRPC_SERVICE_RE, "a gRPC service name such as `pkg.v1.Service`"),
            ("method", _GRPC_METHOD_RE, "a gRPC method name such as `GetItem`")):
        value = obj.get(field)
        if not isinstance(value, str) or len(value) > 1024:
            continue  # absent, or refused already
        where = _join(path, field)
        if typ == "Exact" and not _fullmatch(pattern, value):
            ctx.add(where, f"`{value}` is not valid (must be {why} when type is Exact)")
        elif typ == "RegularExpression":
            _check_regex(value, where, ctx)


def _check_timeouts(obj, path, ctx):
    req, back = obj.get("request"), obj.get("backendRequest")
    if not (isinstance(req, str) and isinstance(back, str)):
        return
    if not (_fullmatch(_DURATION_RE, req) and _fullmatch(_DURATION_RE, back)):
        return
    r, b = _duration_seconds(req), _duration_seconds(back)
    if r != 0 and b > r:
        ctx.add(_join(path, "backendRequest"), f"backendRequest timeout ({back}) cannot be longer than request timeout ({req})")


def _check_session(obj, path, ctx):
    lifetime = (obj.get("cookie") or {}).get("lifetimeType") or (obj.get("cookieConfig") or {}).get("lifetimeType")
    if lifetime == "Permanent" and "absoluteTimeout" not in obj and not ctx.broken(_join(path, "absoluteTimeout")):
        ctx.add(_join(path, "absoluteTimeout"), "absoluteTimeout must be specified when cookie lifetimeType is Permanent")
    if "cookie" in obj and "cookieConfig" in obj:
        ctx.add(path, "use either `cookie` or `cookieConfig`, not both")
    typ = obj.get("type")
    if typ == "Header" and "cookie" in obj:
        ctx.add(_join(path, "cookie"), "`cookie` must not be set when type is Header")
    if typ == "Cookie" and "header" in obj:
        ctx.add(_join(path, "header"), "`header` must not be set when type is Cookie")


def _check_label_requirement(obj, path, ctx):
    op, values = obj.get("operator"), obj.get("values", [])
    if op in ("In", "NotIn") and not values and not ctx.broken(_join(path, "values")):
        ctx.add(_join(path, "values"), f"values must be non-empty when operator is {op}")
    if op in ("Exists", "DoesNotExist") and values:
        ctx.add(_join(path, "values"), f"values must be empty when operator is {op}")


def _check_allowed_namespaces(obj, path, ctx):
    if obj.get("from") == "Selector" and "selector" not in obj and not ctx.broken(_join(path, "selector")):
        ctx.add(_join(path, "selector"), "selector must be specified when `from` is Selector")


def _check_listener(obj, path, ctx):
    proto = obj.get("protocol")
    if proto in ("HTTP", "TCP", "UDP") and "tls" in obj:
        ctx.add(_join(path, "tls"), f"tls must not be specified for protocol {proto}")
    if proto == "HTTPS" and (obj.get("tls") or {}).get("mode", "Terminate") != "Terminate":
        ctx.add(_join(path, "tls.mode"), "tls mode must be Terminate for protocol HTTPS")
    if proto in ("TCP", "UDP") and "hostname" in obj:
        ctx.add(_join(path, "hostname"), f"hostname must not be specified for protocol {proto}")


def _check_gateway_spec(spec, path, ctx):
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

_BACKEND_OBJECT_REF = {
    "group": _F(_GROUP, default=""),
    "kind": _F(_KIND, default="Service"),
    "name": _F(_OBJECT_NAME, required=True),
    "namespace": _F(_NAMESPACE),
    "port": _F(_PORT),
}

_HEADER = _Obj({"name": _F(_HEADER_NAME, required=True), "value": _F(_HEADER_VALUE, required=True)})

_HEADER_MODIFIER = _Obj(
    {
        "set": _F(_Arr(_HEADER, max_items=16, key="name")),
        "add": _F(_Arr(_HEADER, max_items=16, key="name")),
        "remove": _F(_Arr(_HEADER_NAME, max_items=16, unique=True)),
    },
    checks=(_check_header_modifier,),
)

_PATH_MODIFIER = _Obj(
    {
        "type": _F(_Str(enum=("ReplaceFullPath", "ReplacePrefixMatch")), required=True),
        "replaceFullPath": _F(_Str(max_len=1024)),
        "replacePrefixMatch": _F(_Str(max_len=1024)),
    },
    checks=(_check_path_modifier,),
)

_FILTER = _Obj(
    {
        "type": _F(_Str(enum=FILTER_TYPES), required=True),
        "requestHeaderModifier": _F(_HEADER_MODIFIER),
        "responseHeaderModifier": _F(_HEADER_MODIFIER),
        "requestMirror": _F(
            _Obj(
                {
                    "backendRef": _F(_Obj(dict(_BACKEND_OBJECT_REF), checks=(_check_backend_port,)), required=True),
                    "percent": _F(_Int(min=0, max=100)),
                    "fraction": _F(
                        _Obj(
                            {
                                "numerator": _F(_Int(min=0), required=True),
                                "denominator": _F(_Int(min=1), default=100),
                            },
                            checks=(_check_fraction,),
                        )
                    ),
                },
                checks=(_check_mirror,),
            )
        ),
        "requestRedirect": _F(
            _Obj(
                {
                    "scheme": _F(_Str(enum=("http", "https"))),
                    "hostname": _F(_PRECISE_HOSTNAME),
                    "path": _F(_PATH_MODIFIER),
                    "port": _F(_PORT),
                    "statusCode": _F(_Int(), default=302),
                },
                checks=(_check_status_code,),
            )
        ),
        "urlRewrite": _F(_Obj({"hostname": _F(_PRECISE_HOSTNAME), "path": _F(_PATH_MODIFIER)})),
        "extensionRef": _F(
            _Obj(
                {
                    "group": _F(_GROUP, required=True),
                    "kind": _F(_KIND, required=True),
                    "name": _F(_OBJECT_NAME, required=True),
                }
            )
        ),
        "cors": _F(
            _Obj(
                {
                    "allowOrigins": _F(_Arr(_Str(pattern=_CORS_ORIGIN_RE,
                                                 why="must be `*` or scheme://host[:port]",
                                                 min_len=1, max_len=253), max_items=64, unique=True)),
                    "allowCredentials": _F(_Bool()),
                    "allowMethods": _F(_Arr(_Str(enum=METHODS + ("*",)), max_items=9, unique=True)),
                    "allowHeaders": _F(_Arr(_HEADER_NAME, max_items=64, unique=True)),
                    "exposeHeaders": _F(_Arr(_HEADER_NAME, max_items=64, unique=True)),
                    "maxAge": _F(_Int(min=1), default=5),
                },
                checks=(_check_star_alone,),
            )
        ),
        "externalAuth": _F(_Any()),
    },
    checks=(_check_filter,),
)

_PATH_MATCH = _Obj(
    {
        "type": _F(_Str(enum=("Exact", "PathPrefix", "RegularExpression")), default="PathPrefix"),
        "value": _F(_Str(max_len=1024), default="/"),
    },
    checks=(_check_path_match,),
)

_HEADER_MATCH = _Obj(
    {
        "type": _F(_Str(enum=("Exact", "RegularExpression")), default="Exact"),
        "name": _F(_HEADER_NAME, required=True),
        "value": _F(_HEADER_VALUE, required=True),
    },
    checks=(_check_typed_value_regex,),
)

_QUERY_MATCH = _Obj(
    {
        "type": _F(_Str(enum=("Exact", "RegularExpression")), default="Exact"),
        "name": _F(_HEADER_NAME, required=True),
        "value": _F(_Str(min_len=1, max_len=1024), required=True),
    },
    checks=(_check_typed_value_regex,),
)

_MATCH = _Obj(
    {
        "path": _F(_PATH_MATCH, default={"type": "PathPrefix", "value": "/"}),
        "headers": _F(_Arr(_HEADER_MATCH, max_items=16, key="name")),
        "queryParams": _F(_Arr(_QUERY_MATCH, max_items=16, key="name")),
        "method": _F(_METHOD),
    }
)

_DEFAULT_MATCHES = [{"path": {"type": "PathPrefix", "value": "/"}}]

_BACKEND_REF = _Obj(
    dict(_BACKEND_OBJECT_REF, weight=_F(_Int(min=0, max=1000000), default=1),
         filters=_F(_Arr(_FILTER, max_items=16))),
    checks=(_check_backend_port,),
)

_SESSION_PERSISTENCE = _Obj(
    {
        "type": _F(_Str(enum=("Cookie", "Header")), default="Cookie"),
        "sessionName": _F(_Str(pattern=_HEADER_NAME_RE, why="a cookie or header name (RFC 9110 token)",
                               min_len=1, max_len=128)),
        "absoluteTimeout": _F(_DURATION),
        "idleTimeout": _F(_DURATION),
        "cookieConfig": _F(_Obj({"lifetimeType": _F(_Str(enum=("Permanent", "Session")), default="Session")})),
        "cookie": _F(
            _Obj(
                {
                    "name": _F(_Str(pattern=_HEADER_NAME_RE, why="a cookie name (RFC 9110 token)",
                                    min_len=1, max_len=128)),
                    "path": _F(_Str(pattern=_COOKIE_PATH_RE,
                                    why="a cookie path: from `/`, visible ASCII but `;`",
                                    min_len=1, max_len=1024), default="/"),
                    "lifetimeType": _F(_Str(enum=("Permanent", "Session")), default="Session"),
                }
            )
        ),
        "header": _F(_Obj({"name": _F(_HEADER_NAME, required=True)})),
    },
    checks=(_check_session,),
)

_RULE = _Obj(
    {
        "name": _F(_SECTION_NAME),
        "matches": _F(_Arr(_MATCH, max_items=64, empty_default=True), default=_DEFAULT_MATCHES),
        "filters": _F(_Arr(_FILTER, max_items=16)),
        "backendRefs": _F(_Arr(_BACKEND_REF, max_items=16)),
        "timeouts": _F(_Obj({"request": _F(_DURATION), "backendRequest": _F(_DURATION)},
                            checks=(_check_timeouts,))),
        "retry": _F(
            _Obj(
                {
                    "codes": _F(_Arr(_Int(min=400, max=599), unique=True)),
                    "attempts": _F(_Int(min=1)),
                    "backoff": _F(_DURATION),
                }
            )
        ),
        "sessionPersistence": _F(_SESSION_PERSISTENCE),
    },
    checks=(_check_rule,),
)

_PARENT_REF = _Obj(
    {
        "group": _F(_GROUP, default=m.GATEWAY_GROUP),
        "kind": _F(_KIND, default="Gateway"),
        "namespace": _F(_NAMESPACE),
        "name": _F(_OBJECT_NAME, required=True),
        "sectionName": _F(_SECTION_NAME),
        "port": _F(_PORT),
    }
)

_HTTPROUTE_SPEC = _Obj(
    {
        "parentRefs": _F(_Arr(_PARENT_REF, max_items=32)),
        "hostnames": _F(_Arr(_HOSTNAME, max_items=16)),
        "rules": _F(_Arr(_RULE, min_items=1, max_items=16), default=[{"matches": _DEFAULT_MATCHES}]),
        "useDefaultGateways": _F(_Str(enum=("All", "None"))),
    }
)

# --- GRPCRoute (apis/v1/grpcroute_types.go): HTTPRoute's shapes where they are shared -----------

_GRPC_FILTER = _Obj(
    dict({"type": _F(_Str(enum=GRPC_FILTER_TYPES), required=True)},
         **{_FILTER_FIELD[t]: _FILTER.fields[_FILTER_FIELD[t]] for t in GRPC_FILTER_TYPES}),
    checks=(_check_grpc_filter,),
)

_GRPC_METHOD_MATCH = _Obj(
    {
        "type": _F(_Str(enum=("Exact", "RegularExpression")), default="Exact"),
        "service": _F(_Str(max_len=1024)),
        "method": _F(_Str(max_len=1024)),
    },
    checks=(_check_grpc_method,),
)

_GRPC_MATCH = _Obj(
    {
        "method": _F(_GRPC_METHOD_MATCH),
        "headers": _F(_Arr(_HEADER_MATCH, max_items=16, key="name")),
    }
)

_GRPC_BACKEND_REF = _Obj(
    dict(_BACKEND_OBJECT_REF, weight=_F(_Int(min=0, max=1000000), default=1),
         filters=_F(_Arr(_GRPC_FILTER, max_items=16))),
    checks=(_check_backend_port,),
)

_GRPC_RULE = _Obj(
    {
        "name": _F(_SECTION_NAME),
        "matches": _F(_Arr(_GRPC_MATCH, max_items=64)),
        "filters": _F(_Arr(_GRPC_FILTER, max_items=16)),
        "backendRefs": _F(_Arr(_GRPC_BACKEND_REF, max_items=16)),
        "sessionPersistence": _F(_SESSION_PERSISTENCE),
    },
    checks=(_check_grpc_rule,),
)

_GRPCROUTE_SPEC = _Obj(
    {
        "parentRefs": _F(_Arr(_PARENT_REF, max_items=32)),
        "hostnames": _F(_Arr(_HOSTNAME, max_items=16)),
        "rules": _F(_Arr(_GRPC_RULE, max_items=16)),
        "useDefaultGateways": _F(_Str(enum=("All", "None"))),
    }
)

_LABEL_SELECTOR = _Obj(
    {
        "matchLabels": _F(_StrMap(key=_Str(pattern=_LABEL_KEY_RE, why="must be a label key", max_len=317),
                                  value=_Str(pattern=_LABEL_VALUE_RE, why="must be a label value", max_len=63))),
        "matchExpressions": _F(
            _Arr(
                _Obj(
                    {
                        "key": _F(_Str(pattern=_LABEL_KEY_RE, why="must be a label key", min_len=1, max_len=317),
                                  required=True),
                        "operator": _F(_Str(enum=("In", "NotIn", "Exists", "DoesNotExist")), required=True),
                        "values": _F(_Arr(_Str(max_len=63))),
                    },
                    checks=(_check_label_requirement,),
                )
            )
        ),
    }
)

_OBJECT_REF = _Obj({"group": _F(_GROUP), "kind": _F(_KIND), "name": _F(_OBJECT_NAME, required=True),
                    "namespace": _F(_NAMESPACE)})

_LISTENER = _Obj(
    {
        "name": _F(_SECTION_NAME, required=True),
        "hostname": _F(_HOSTNAME),
        "port": _F(_PORT, required=True),
        "protocol": _F(_Str(pattern=_PROTOCOL_RE, why="must be HTTP, HTTPS, TLS, TCP, UDP or a domain-prefixed name",
                            min_len=1, max_len=255), required=True),
        "tls": _F(
            _Obj(
                {
                    "mode": _F(_Str(enum=("Terminate", "Passthrough")), default="Terminate"),
                    "certificateRefs": _F(_Arr(_OBJECT_REF, max_items=64)),
                    "frontendValidation": _F(_Any()),
                    "options": _F(_StrMap()),
                }
            )
        ),
        "allowedRoutes": _F(
            _Obj(
                {
                    "namespaces": _F(
                        _Obj(
                            {
                                "from": _F(_Str(enum=("All", "Selector", "Same")), default="Same"),
                                "selector": _F(_LABEL_SELECTOR),
                            },
                            checks=(_check_allowed_namespaces,),
                        ),
                        default={"from": "Same"},
                    ),
                    "kinds": _F(
                        _Arr(_Obj({"group": _F(_GROUP, default=m.GATEWAY_GROUP), "kind": _F(_KIND, required=True)}),
                             max_items=8)
                    ),
                }
            ),
            default={"namespaces": {"from": "Same"}},
        ),
    },
    checks=(_check_listener,),
)

_GATEWAY_SPEC = _Obj(
    {
        "gatewayClassName": _F(_OBJECT_NAME, required=True),
        "listeners": _F(_Arr(_LISTENER, min_items=1, max_items=64, key="name"), required=True),
        "addresses": _F(_Any()),
        "infrastructure": _F(_Any()),
        "backendTLS": _F(_Any()),
        "tls": _F(_Any()),
        "allowedListeners": _F(_Any()),
        "defaultScope": _F(_Any()),
    },
    checks=(_check_gateway_spec,),
)

_GRANT_SPEC = _Obj(
    {
        "from": _F(
            _Arr(
                _Obj({"group": _F(_GROUP, required=True), "kind": _F(_KIND, required=True),
                      "namespace": _F(_NAMESPACE, required=True)}),
                min_items=1, max_items=16,
            ),
            required=True,
        ),
        "to": _F(
            _Arr(
                _Obj({"group": _F(_GROUP, required=True), "kind": _F(_KIND, required=True),
                      "name": _F(_OBJECT_NAME)}),
                min_items=1, max_items=16,
            ),
            required=True,
        ),
    }
)

_SERVICE_SPEC = _Obj(
    {
        "ports": _F(
            _Arr(
                _Obj(
                    {
                        "port": _F(_PORT, required=True),
                        "name": _F(_Str(pattern=_NAMESPACE_RE, why="must be a lower-case RFC 1123 label",
                                        max_len=63)),
                        "protocol": _F(_Str(enum=("TCP", "UDP", "SCTP")), default="TCP"),
                        "appProtocol": _F(_Str(min_len=1)),
                        "targetPort": _F(_Any()),
                        "nodePort": _F(_Int(min=0, max=65535)),
                    }
                )
            )
        ),
        "type": _F(_Str(enum=("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")), default="ClusterIP"),
    },
    open=True,
)


def _check_timestamp(obj, path, ctx):
    ts = obj.get("creationTimestamp")
    if ts is None:
        return
    try:
        obj["creationTimestamp"] = _epoch(ts)
    except ValueError:
        ctx.add(_join(path, "creationTimestamp"),
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


def _metadata_schema(namespaced: bool) -> _Obj:
    fields = {
        "name": _F(_Str(pattern=_PRECISE_HOSTNAME_RE, why="must be a lower-case RFC 1123 subdomain",
                        min_len=1, max_len=253) if namespaced else _NAMESPACE, required=True),
        "labels": _F(_StrMap(key=_Str(pattern=_LABEL_KEY_RE, why="must be a label key", max_len=317),
                             value=_Str(pattern=_LABEL_VALUE_RE, why="must be a label value", max_len=63))),
        "creationTimestamp": _F(_Any()),
    }
    if namespaced:
        fields["namespace"] = _F(_NAMESPACE)
    return _Obj(fields, checks=(_check_timestamp,), open=True)


_META_NAMESPACED = _metadata_schema(True)
_META_CLUSTER = _metadata_schema(False)

_GATEWAY_VERSIONS = ("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1")
_GRPC_VERSIONS = _GATEWAY_VERSIONS + ("gateway.networking.k8s.io/v1alpha2",)


_META_SERVICE = _Obj(
    dict(_META_NAMESPACED.fields,
         name=_F(_Str(pattern=r"[a-z](?:[-a-z0-9]*[a-z0-9])?",
                      why="a Service name must be an RFC 1035 label: lower-case, starting with a letter",
                      min_len=1, max_len=63), required=True)),
    checks=_META_NAMESPACED.checks,
    open=True,
)


def _top(spec: Optional[_Obj], *, namespaced=True, spec_required=True, closed=True, meta=None) -> _Obj:
    fields = {
        "apiVersion": _F(_Any()),
        "kind": _F(_Any()),
        "metadata": _F(meta or (_META_NAMESPACED if namespaced else _META_CLUSTER), required=True),
        "status": _F(_Any()),
    }
    if spec is not None:
        fields["spec"] = _F(spec, required=spec_required, default=_MISSING if spec_required else {})
    return _Obj(fields, open=not closed)


# kind -> (allowed apiVersions, top-level schema)
_KINDS = {
    "HTTPRoute": (_GATEWAY_VERSIONS, _top(_HTTPROUTE_SPEC)),
    "GRPCRoute": (_GRPC_VERSIONS, _top(_GRPCROUTE_SPEC)),
    "Gateway": (_GATEWAY_VERSIONS, _top(_GATEWAY_SPEC)),
    "ReferenceGrant": (_GATEWAY_VERSIONS, _top(_GRANT_SPEC)),
    "Service": (("v1",), _top(_SERVICE_SPEC, spec_required=False, closed=False, meta=_META_SERVICE)),
    "Namespace": (("v1",), _top(None, namespaced=False, closed=False)),
}


_KINDS_FOLDED = {k.lower(): k for k in _KINDS}

# --- route-level checks that look across rules / parentRefs (robust to partly invalid data) ----


def _check_route_spec(spec: dict, route_ns: str, ctx: _Ctx) -> None:
    rules = spec.get("rules")
    if isinstance(rules, list):
        total = sum(len(r["matches"]) for r in rules if isinstance(r, dict) and isinstance(r.get("matches"), list))
        if total > 128:
            ctx.add("spec.rules", f"total number of matches across all rules must not exceed 128, got {total}")
        names: Dict[str, int] = {}
        for i, r in enumerate(rules):
            name = r.get("name") if isinstance(r, dict) else None
            if isinstance(name, str):
                if name in names:
                    ctx.add(f"spec.rules[{i}].name", f"rule name `{name}` is already used by rules[{names[name]}]; "
                                                     "rule names must be unique within the route")
                else:
                    names[name] = i
    refs = spec.get("parentRefs")
    # (one parentRef or none: no two references to the same parent to compare)
    if isinstance(refs, list) and len(refs) > 1 \
            and not any(_under(p, "spec.parentRefs") and h for p, _, h in ctx.issues):
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
                            "2 or more references to the same parent")
                continue
            seen: Dict[tuple, int] = {}
            for i in idxs:
                k = (refs[i].get("sectionName"), refs[i].get("port"))
                if k in seen:
                    ctx.add(f"spec.parentRefs[{i}]",
                            f"sectionName or port must be unique when parentRefs includes 2 or more references "
                            f"to the same parent (same as parentRefs[{seen[k]}])")
                else:
                    seen[k] = i


# --- model builders (input: checked and defaulted data) ----------------------------------------


def _build_backend_ref(d: dict, ns: str, with_weight=True, memo: Optional[dict] = None) -> m.BackendRef:
    if memo is not None and with_weight and not d.get("filters"):
        # equal references (no filters) share one frozen model within a load
        key = ("BackendRef", d["group"], d["kind"], d.get("namespace") or ns, d["name"], d.get("port"),
               d["weight"])
        ref = memo.get(key)
        if ref is None:
            ref = memo[key] = _build_backend_ref(d, ns, with_weight)
        return ref
    return m.BackendRef(
        group=d["group"],
        kind=d["kind"],
        namespace=d.get("namespace") or ns,
        name=d["name"],
        port=d.get("port"),
        weight=d["weight"] if with_weight else 1,
        filters=tuple(_build_filter(f, ns) for f in d.get("filters", ())) if with_weight else (),
    )


def _build_path_modifier(d: Optional[dict]) -> Optional[m.PathModifier]:
    if d is None:
        return None
    typ = d["type"]
    return m.PathModifier(typ, d["replaceFullPath"] if typ == "ReplaceFullPath" else d["replacePrefixMatch"])


def _build_filter(f: dict, ns: str):
    typ = f["type"]
    body = f.get(_FILTER_FIELD[typ])
    if typ in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        return m.HeaderModifier(
            type=typ,
            set=tuple((h["name"], h["value"]) for h in body.get("set", ())),
            add=tuple((h["name"], h["value"]) for h in body.get("add", ())),
            remove=tuple(body.get("remove", ())),
        )
    if typ == "RequestRedirect":
        return m.RequestRedirect(
            scheme=body.get("scheme"),
            hostname=body.get("hostname"),
            path=_build_path_modifier(body.get("path")),
            port=body.get("port"),
            status_code=body["statusCode"],
        )
    if typ == "URLRewrite":
        return m.URLRewrite(hostname=body.get("hostname"), path=_build_path_modifier(body.get("path")))
    if typ == "RequestMirror":
        if "fraction" in body:
            frac = body["fraction"]
            percent = 100.0 * frac["numerator"] / frac["denominator"]
        else:
            percent = float(body.get("percent", 100))
        return m.RequestMirror(backend_ref=_build_backend_ref(body["backendRef"], ns, with_weight=False),
                               percent=percent)
    if typ == "CORS":
        return m.CORS(
            allow_origins=tuple(body.get("allowOrigins", ())),
            allow_methods=tuple(body.get("allowMethods", ())),
            allow_headers=tuple(body.get("allowHeaders", ())),
            expose_headers=tuple(body.get("exposeHeaders", ())),
            allow_credentials=body.get("allowCredentials", False),
            max_age=body["maxAge"],
        )
    if typ == "ExtensionRef":
        return m.ExtensionRef(group=body["group"], kind=body["kind"], name=body["name"])
    raise AssertionError(typ)  # pragma: no cover - refused during validation


def _build_match(d: dict) -> m.RouteMatch:
    headers, seen = [], set()
    for h in d.get("headers", ()):
        name = h["name"].lower()
        if name in seen:
            continue  # only the first entry for a header name counts
        seen.add(name)
        headers.append(m.HeaderMatch(h["type"], name, h["value"]))
    return m.RouteMatch(
        path=m.PathMatch(d["path"]["type"], d["path"]["value"]),
        headers=tuple(headers),
        query_params=tuple(m.QueryParamMatch(q["type"], q["name"], q["value"]) for q in d.get("queryParams", ())),
        method=d.get("method"),
    )


def _build_session(d: dict) -> m.SessionPersistence:
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
            absolute_timeout=_duration_seconds(absolute) if absolute else None,
            idle_timeout=_duration_seconds(idle) if idle else None,
        )
    lifetime = cookie.get("lifetimeType") or (d.get("cookieConfig") or {}).get("lifetimeType") or "Session"
    return m.SessionPersistence(
        type="Cookie",
        cookie_name=cookie.get("name") or d.get("sessionName"),
        cookie_path=cookie.get("path", "/"),
        cookie_lifetime_type=lifetime,
        header_name=None,
        absolute_timeout=_duration_seconds(absolute) if absolute else None,
        idle_timeout=_duration_seconds(idle) if idle else None,
    )


def _build_rule(r: dict, ns: str, memo: Optional[dict] = None) -> m.Rule:
    timeouts = None
    if "timeouts" in r:
        t = r["timeouts"]
        timeouts = m.Timeouts(
            request=_duration_seconds(t["request"]) if "request" in t else None,
            backend_request=_duration_seconds(t["backendRequest"]) if "backendRequest" in t else None,
        )
    retry = None
    if "retry" in r:
        rt = r["retry"]
        retry = m.Retry(
            codes=frozenset(rt.get("codes", ())),
            attempts=rt.get("attempts"),
            backoff=_duration_seconds(rt["backoff"]) if "backoff" in rt else None,
        )
    return m.Rule(
        matches=tuple(_build_match(x) for x in r["matches"]),
        filters=tuple(_build_filter(f, ns) for f in r.get("filters", ())),
        backend_refs=_shared(memo, "backend_refs",
                             tuple(_build_backend_ref(b, ns, memo=memo) for b in r.get("backendRefs", ()))),
        name=r.get("name"),
        timeouts=timeouts,
        retry=retry,
        session_persistence=_build_session(r["sessionPersistence"]) if "sessionPersistence" in r else None,
    )


def _build_parent_ref(p: dict, ns: str, memo: Optional[dict] = None) -> m.ParentRef:
    if memo is not None:  # equal references share one frozen model within a load
        key = ("ParentRef", p["group"], p["kind"], p.get("namespace") or ns, p["name"], p.get("sectionName"),
               p.get("port"))
        ref = memo.get(key)
        if ref is None:
            ref = memo[key] = _build_parent_ref(p, ns)
        return ref
    return m.ParentRef(group=p["group"], kind=p["kind"], namespace=p.get("namespace") or ns,
                       name=p["name"], section_name=p.get("sectionName"), port=p.get("port"))


def _shared(memo: Optional[dict], tag: str, items: tuple) -> tuple:
    """``items``, or an equal tuple of the same objects built earlier in this load (``memo``).

    Keyed by the identity of the items: the memo holds the tuple, which keeps its items alive,
    so an id cannot be reused while the entry exists."""
    if memo is None or not items:
        return items
    return memo.setdefault((tag,) + tuple(map(id, items)), items)


def _build_any_route(cls, build_rule, d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None):
    """An HTTPRoute or GRPCRoute (``cls``), leaving out the rules whose indexes are in ``drop``.

    ``memo`` (a dict kept for one load) lets equal parentRefs, backendRefs and hostname lists
    share one immutable object."""
    spec = d["spec"]
    rules = spec.get("rules", [])
    indexes = getattr(rules, "indexes", list(range(len(rules))))
    if drop:
        keep = [(i, r) for i, r in zip(indexes, rules) if i not in drop]
        indexes, rules = [i for i, _ in keep], [r for _, r in keep]
    hostnames = tuple(spec.get("hostnames", ()))
    if memo is not None and hostnames:
        hostnames = memo.setdefault(("hostnames",) + hostnames, hostnames)
    if memo is not None and build_rule is _build_rule:
        built_rules = tuple(_build_rule(r, ns, memo) for r in rules)
    else:
        built_rules = tuple(build_rule(r, ns) for r in rules)
    rule_indexes = tuple(indexes)
    if memo is not None:  # usually (0,), (0, 1)...: one tuple each
        rule_indexes = memo.setdefault(("rule_indexes",) + rule_indexes, rule_indexes)
    return cls(
        namespace=ns,
        name=name,
        parent_refs=_shared(memo, "parent_refs",
                            tuple(_build_parent_ref(p, ns, memo) for p in spec.get("parentRefs", ()))),
        hostnames=hostnames,
        rules=built_rules,
        creation_timestamp=d["metadata"].get("creationTimestamp"),
        rule_indexes=rule_indexes,
    )


def _build_route(d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None) -> m.HTTPRoute:
    return _build_any_route(m.HTTPRoute, _build_rule, d, ns, name, drop, memo)


def _build_grpc_match(d: dict) -> m.GRPCRouteMatch:
    headers, seen = [], set()
    for h in d.get("headers", ()):
        name = h["name"].lower()
        if name in seen:
            continue  # only the first entry for a header name counts
        seen.add(name)
        headers.append(m.HeaderMatch(h["type"], name, h["value"]))
    mm = d.get("method")
    method = None if mm is None else m.GRPCMethodMatch(mm["type"], mm.get("service"), mm.get("method"))
    return m.GRPCRouteMatch(method=method, headers=tuple(headers))


def _build_grpc_rule(r: dict, ns: str) -> m.Rule:
    return m.Rule(
        # no matches: every gRPC request
        matches=tuple(_build_grpc_match(x) for x in r.get("matches", ())) or (m.GRPCRouteMatch(),),
        filters=tuple(_build_filter(f, ns) for f in r.get("filters", ())),
        backend_refs=tuple(_build_backend_ref(b, ns) for b in r.get("backendRefs", ())),
        name=r.get("name"),
        session_persistence=_build_session(r["sessionPersistence"]) if "sessionPersistence" in r else None,
    )


def _build_grpc_route(d: dict, ns: str, name: str, drop: set, memo: Optional[dict] = None) -> m.GRPCRoute:
    return _build_any_route(m.GRPCRoute, _build_grpc_rule, d, ns, name, drop, memo)


def _build_selector(d: Optional[dict]) -> Optional[m.LabelSelector]:
    if d is None:
        return None
    return m.LabelSelector(
        match_labels=tuple(sorted(d.get("matchLabels", {}).items())),
        match_expressions=tuple(
            m.LabelSelectorRequirement(e["key"], e["operator"], tuple(e.get("values", ())))
            for e in d.get("matchExpressions", ())
        ),
    )


def _build_gateway(d: dict, ns: str, name: str) -> m.Gateway:
    spec = d["spec"]
    listeners = []
    for li in spec["listeners"]:
        allowed = li["allowedRoutes"]
        nss = allowed.get("namespaces") or {"from": "Same"}
        listeners.append(
            m.Listener(
                name=li["name"],
                port=li["port"],
                protocol=li["protocol"],
                hostname=li.get("hostname"),
                allowed_from=nss.get("from", "Same"),
                selector=_build_selector(nss.get("selector")),
                allowed_kinds=tuple(m.RouteGroupKind(k["group"], k["kind"]) for k in allowed.get("kinds", ())),
            )
        )
    return m.Gateway(namespace=ns, name=name, gateway_class=spec["gatewayClassName"], listeners=tuple(listeners))


def _build_grant(d: dict, ns: str, name: str) -> m.ReferenceGrant:
    spec = d["spec"]
    return m.ReferenceGrant(
        namespace=ns,
        name=name,
        from_=tuple(m.ReferenceGrantFrom(f["group"], f["kind"], f["namespace"]) for f in spec["from"]),
        to=tuple(m.ReferenceGrantTo(t["group"], t["kind"], t.get("name")) for t in spec["to"]),
    )


def _build_service(d: dict, ns: str, name: str) -> m.Service:
    spec = d.get("spec") or {}
    return m.Service(
        namespace=ns,
        name=name,
        ports=tuple(
            m.ServicePort(port=p["port"], name=p.get("name"), protocol=p["protocol"], app_protocol=p.get("appProtocol"))
            for p in spec.get("ports", ())
        ),
        type=spec.get("type", "ClusterIP"),
    )


# --- driver ------------------------------------------------------------------------------------


def _identity(obj: dict) -> Tuple[Optional[str], Optional[str]]:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return (ns if isinstance(ns, str) and ns else "default"), (name if isinstance(name, str) else None)


def parse(raws: List[RawObject], strict: bool = True) -> m.Config:
    """Validate ``raws`` and build the Config (see the module docstring for strict/lenient)."""
    routes, gateways, grants, services, namespaces, skipped = [], [], [], [], [], []
    rejected: List[m.RejectedRoute] = []
    all_issues: List[ConfigIssue] = []
    saw_service = False
    seen_objects: Dict[tuple, Optional[str]] = {}
    memo: Dict[tuple, Any] = {}  # equal immutable parts of routes, shared (see _build_any_route)

    for raw in raws:
        obj = raw.obj
        if not isinstance(obj, dict):
            all_issues.append(ConfigIssue("", None, None, "",
                                          f"a document must be a Kubernetes object (a mapping), got `{_type_name(obj)}`",
                                          raw.origin))
            continue
        kind = obj.get("kind")
        ns, name = _identity(obj)
        if not isinstance(kind, str) or not kind:
            all_issues.append(ConfigIssue("", ns if name else None, name, "kind",
                                          "missing `kind`" if kind is None else _expected("str", kind), raw.origin))
            continue
        if kind not in _KINDS:
            known = _KINDS_FOLDED.get(kind.lower())
            if known and known != kind:
                all_issues.append(ConfigIssue(kind, ns if name else None, name, "kind",
                                              f"unknown kind `{kind}`; did you mean `{known}`?", raw.origin))
            else:
                skipped.append(f"{kind} {ns}/{name}" if name else kind)
            continue
        versions, schema = _KINDS[kind]
        namespaced = kind != "Namespace"
        ctx = _Ctx()
        if name is not None:
            ident = (kind, ns if namespaced else None, name)
            if ident in seen_objects:
                ctx.add("", "duplicate object: the same kind, namespace and name is also defined "
                            + (f"at {seen_objects[ident]}" if seen_objects[ident] else "earlier in the source"))
            else:
                seen_objects[ident] = raw.origin
        for path, message in raw.problems:
            ctx.add(path, message)
        api = obj.get("apiVersion")
        if api not in versions:
            ctx.add("apiVersion", f"Expected one of {', '.join(f'`{v}`' for v in versions)} for kind {kind}, "
                                  f"got `{api}`" if api is not None else "missing required field `apiVersion`")
        cleaned = schema.walk(obj, "", ctx)
        if kind in ("HTTPRoute", "GRPCRoute") and isinstance(cleaned.get("spec"), dict):
            _check_route_spec(cleaned["spec"], ns, ctx)

        issue_ns = ns if namespaced and name is not None else None
        issues = [ConfigIssue(kind, issue_ns, name, p, msg, raw.origin) for p, msg, _ in ctx.issues]
        all_issues.extend(issues)
        if kind == "Service":
            saw_service = True
        if strict and (issues or all_issues):
            continue  # nothing will be returned; keep collecting problems only

        bad_rules = set()
        if issues and kind in ("HTTPRoute", "GRPCRoute") and name is not None:
            # kept even when the route is left out, so that its status can say why
            rejected_refs = _lenient_parent_refs(cleaned, ns, ctx)
        if issues:
            if kind not in ("HTTPRoute", "GRPCRoute") or name is None:
                continue
            other = False
            for p, _, _ in ctx.issues:
                mt = re.match(r"spec\.rules\[(\d+)\](?:[.\[]|$)", p)
                if mt:
                    bad_rules.add(int(mt.group(1)))
                else:
                    other = True
            rules = cleaned.get("spec", {}).get("rules", [])
            if other or not [i for i in getattr(rules, "indexes", ()) if i not in bad_rules]:
                rejected.append(m.RejectedRoute(kind, ns, name, rejected_refs))
                continue
        try:
            if kind == "HTTPRoute":
                routes.append(_build_route(cleaned, ns, name, bad_rules, memo))
            elif kind == "GRPCRoute":
                routes.append(_build_grpc_route(cleaned, ns, name, bad_rules, memo))
            elif kind == "Gateway":
                gateways.append(_build_gateway(cleaned, ns, name))
            elif kind == "ReferenceGrant":
                grants.append(_build_grant(cleaned, ns, name))
            elif kind == "Service":
                services.append(_build_service(cleaned, ns, name))
            elif kind == "Namespace":
                namespaces.append(m.Namespace(name=name, labels=tuple(sorted(cleaned["metadata"].get("labels", {}).items()))))
        except (KeyError, TypeError, AttributeError) as exc:  # pragma: no cover - a validation gap
            all_issues.append(ConfigIssue(kind, issue_ns, name, "", f"could not be read: {exc!r}", raw.origin))

    if strict and all_issues:
        raise ConfigError(all_issues)
    return m.Config(
        routes=tuple(routes),
        gateways=tuple(gateways),
        reference_grants=tuple(grants),
        services=tuple(services) if saw_service else None,
        namespaces=tuple(namespaces),
        skipped=tuple(skipped),
        issues=tuple(all_issues),
        strict=strict,
        rejected=tuple(rejected),
    )


def _lenient_parent_refs(cleaned: dict, ns: str, ctx) -> tuple:
    """The parentRefs of a route that is being left out, those that are valid themselves."""
    spec = cleaned.get("spec")
    refs = spec.get("parentRefs") if isinstance(spec, dict) else None
    if not isinstance(refs, list):
        return ()
    bad = {int(mt.group(1)) for p, _, _ in ctx.issues
           for mt in [re.match(r"spec\.parentRefs\[(\d+)\]", p)] if mt}
    out = []
    for i, p in enumerate(refs):
        if i in bad or not isinstance(p, dict) or not isinstance(p.get("name"), str):
            continue
        try:
            out.append(_build_parent_ref(p, ns))
        except (KeyError, TypeError):
            continue
    return tuple(out)

