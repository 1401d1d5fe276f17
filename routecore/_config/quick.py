# cython: annotation_typing=True
"""One pass that checks an HTTPRoute of the common shape and builds its model directly (issue 15
item 5: most of a load was the general path making a cleaned copy of every object, then the
builders reading that copy back).

Invariants:
- ``http_route(obj, ns, memo)`` returns the HTTPRoute that parse's general path (fast.walk,
  cel.check_route_spec, the declarations' builders) makes of ``obj`` when that path finds no
  problem in it, or None. It returns None as soon as it meets anything invalid or anything it
  does not handle; the caller then runs the general path from the start, which reports the exact
  problems. It reports nothing itself and never changes ``obj``; the caller has checked
  everything outside the object's fields (kind, apiVersion, duplicates, source problems);
- handled (anything else means None): the top-level keys apiVersion, kind, metadata, spec,
  status; metadata with name and namespace only (any other metadata: the declaration's compiled
  validator, see _metadata); spec with parentRefs (at most one: no cross-reference rule to
  apply), hostnames and rules; rules with matches and backendRefs only (no name, filter,
  timeout, retry or session: none of the rule checks can apply); matches with a path whose
  type is Exact or PathPrefix and whose value is a plain path (cel.plain_path), Exact header and
  query-parameter matches, a method; backendRefs without filters. A null value means "not
  set": spec's fields read it as absent; anywhere else it is left to the general path;
- every string is checked by its declaration's own compiled check (fast.compiled: limits,
  patterns, enums, refused values) the first time it is seen in a load, and remembered (_text:
  exact ``str`` only, bounded, emptied by ``forget()`` when the load ends, which parse calls);
  integers, list sizes and defaults are read from the declarations (Int bounds, Arr limits,
  Field.constant_default, Field.default): nothing of kinds.py is restated here (the one
  exception, a path's value, is asserted to be the plain Str it is);
- models are made as the builders make them (schema.filler: no attrs __init__ checks, the
  values being checked already) and shared exactly as they share them: the same memo keys
  (ParentRef, BackendRef, their tuples, HeaderMatch, QueryParamMatch, hostnames, rule_indexes);
- this file is the one source: setup.py compiles it as it is with Cython (the extension
  ``routecore._config.quick``, imported in its place when built), where the helpers marked
  ``cython.cfunc`` become C functions and the annotated dicts and tuples C-level ones; without
  the extension it runs as plain Python, the same functions (tests/test_load_quick.py runs both).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Optional

try:
    import cython  # (compiled: the helpers below become C functions, see the module)
except ImportError:  # plain Python without Cython installed: the decorator changes nothing
    cython = SimpleNamespace(cfunc=lambda f: f, compiled=False)

from . import models as m
from .cel import PATH_PLAIN_CHARS, PRECISE_HOSTNAME_RE
from .fast import Bail, compiled
from .kinds import KINDS
from .schema import Ctx, Str, filler

_TOP = KINDS["HTTPRoute"][1]
_META = _TOP.fields["metadata"].schema
_SPEC = _TOP.fields["spec"].schema
_PARENTS = _SPEC.fields["parentRefs"].schema
_HOSTS = _SPEC.fields["hostnames"].schema
_RULES = _SPEC.fields["rules"].schema
_RULE = _RULES.item
_MATCHES = _RULE.fields["matches"].schema
_MATCH = _MATCHES.item
_PATH = _MATCH.fields["path"].schema
_HEADERS = _MATCH.fields["headers"].schema
_QUERY = _MATCH.fields["queryParams"].schema
_BACKENDS = _RULE.fields["backendRefs"].schema
_PARENT = _PARENTS.item.fields
_BACKEND = _BACKENDS.item.fields


_REMEMBERED = []  # the ``seen`` dict of every declared string type (see _text_type, forget)
_SEEN_MAX = 4096  # strings kept per declared type
_SEEN_LEN = 256  # longest string kept


def _text_type(node):
    """A declared string type: (its compiled check: ``check(value, None)`` is the accepted
    string, or Bail; ``seen``: the strings it accepted during this load, each mapped to itself,
    so that a repeated value costs one dict lookup, see _text; bounded, emptied by forget())."""
    seen: dict = {}
    _REMEMBERED.append(seen)
    return compiled(node), seen


def forget() -> None:
    """Empty the strings remembered during a load (parse calls it when a load ends)."""
    for seen in _REMEMBERED:
        seen.clear()


@cython.cfunc
def _text(value, text: tuple):
    """``value`` checked as the string type ``text`` (the string accepted first, shared), or Bail."""
    if type(value) is not str:  # (also keeps an unhashable or a str subclass out of the dict)
        raise Bail
    seen: dict = text[1]
    known = seen.get(value)
    if known is not None:
        return known
    value = text[0](value, None)
    if len(seen) < _SEEN_MAX and len(value) <= _SEEN_LEN:
        seen[value] = value
    return value


def _bounds(fields, key: str):
    """(min, max) of a declared Int."""
    node = fields[key].schema
    return node.min, node.max


@cython.cfunc
def _int(value, bounds: tuple) -> int:
    """``value`` checked as a declared Int of ``bounds`` (both set), or Bail."""
    if type(value) is not int or value < bounds[0] or value > bounds[1]:
        raise Bail
    return value


def _limits(arr):
    """(min, max) items of a declared Arr (at most 1,000,000 where it sets none)."""
    return arr.min_items, 1_000_000 if arr.max_items is None else arr.max_items


_TOP_AS_IS = frozenset(("apiVersion", "kind", "status"))  # checked by parse, or taken as is
def _texts(fields, *keys):
    return tuple(_text_type(fields[k].schema) for k in keys)


_META_NAME, _META_NS = compiled(_META.fields["name"].schema), _text_type(_META.fields["namespace"].schema)
# the route's name: an RFC 1123 subdomain (_subdomain writes the pattern out for the compiled module)
_NAME = _META.fields["name"].schema
assert (type(_NAME), _NAME.pattern, _NAME.min_len, _NAME.max_len, _NAME.enum) == (Str, PRECISE_HOSTNAME_RE, 1, 253, None)
_PARENTS_N, _HOSTS_N, _RULES_N, _MATCHES_N, _HEADERS_N, _QUERY_N, _BACKENDS_N = (
    _limits(a) for a in (_PARENTS, _HOSTS, _RULES, _MATCHES, _HEADERS, _QUERY, _BACKENDS))
_HOST = _text_type(_HOSTS.item)
_P_GROUP, _P_KIND, _P_NS, _P_NAME, _P_SECTION = _texts(_PARENT, "group", "kind", "namespace", "name", "sectionName")
_P_PORT = _bounds(_PARENT, "port")
_P_DEFAULT_GROUP, _P_DEFAULT_KIND = _PARENT["group"].constant_default(), _PARENT["kind"].constant_default()
_B_GROUP, _B_KIND, _B_NS, _B_NAME = _texts(_BACKEND, "group", "kind", "namespace", "name")
_B_PORT, _B_WEIGHT = _bounds(_BACKEND, "port"), _bounds(_BACKEND, "weight")
_B_DEFAULTS = tuple(_BACKEND[k].constant_default() for k in ("group", "kind", "weight"))
_PATH_TYPE = _text_type(_PATH.fields["type"].schema)
# a path's value: a Str with a maximum length and no other check of its own (cel.plain_path
# checks the rest), written out here: paths are mostly unique, remembering them would not pay
_PATH_VALUE = _PATH.fields["value"].schema
assert type(_PATH_VALUE) is Str and (_PATH_VALUE.min_len, _PATH_VALUE.matcher, _PATH_VALUE.enum) == (0, None, None)
_PATH_MAX = _PATH_VALUE.max_len
_PATH_DEFAULTS = (_PATH.fields["type"].constant_default(), _PATH.fields["value"].constant_default())
_DEFAULT_PATH = _MATCH.fields["path"].default  # (a dict: read, never changed)
_DEFAULT_MATCHES = _RULE.fields["matches"].default  # (a list of dicts: read, never changed)
_METHOD = _text_type(_MATCH.fields["method"].schema)
_H_TYPE, _H_NAME, _H_VALUE = _texts(_HEADERS.item.fields, "type", "name", "value")
_Q_TYPE, _Q_NAME, _Q_VALUE = _texts(_QUERY.item.fields, "type", "name", "value")
_EXACT = _HEADERS.item.fields["type"].constant_default()  # "Exact": the only type handled
_PLAIN_PATH_TYPES = frozenset(("Exact", "PathPrefix"))  # (RegularExpression: the general path)
_MAX_MATCHES = 128  # across a route's rules (cel.check_route_spec)
_RANGES = tuple(tuple(range(n)) for n in range(_RULES_N[1] + 1))  # rule_indexes of n rules
_RANGE_KEYS = tuple(("rule_indexes",) + r for r in _RANGES)  # (their memo keys, see kinds._rule_indexes)

_HTTPRoute, _Rule, _RouteMatch, _HeaderMatch, _QueryParamMatch, _ParentRef, _BackendRef = (
    m.HTTPRoute, m.Rule, m.RouteMatch, m.HeaderMatch, m.QueryParamMatch, m.ParentRef, m.BackendRef)
_F_ROUTE, _F_RULE, _F_MATCH, _F_HEADER, _F_QUERY, _F_PARENT, _F_BACKEND = (
    filler(c) for c in (m.HTTPRoute, m.Rule, m.RouteMatch, m.HeaderMatch, m.QueryParamMatch,
                        m.ParentRef, m.BackendRef))
assert None not in (_F_ROUTE, _F_RULE, _F_MATCH, _F_HEADER, _F_QUERY, _F_PARENT, _F_BACKEND)


@cython.cfunc
def _list(value, limits: tuple) -> int:
    """The length of ``value``, a list or tuple of (min, max) ``limits`` items; else Bail."""
    if type(value) is not list and type(value) is not tuple:
        raise Bail
    n = len(value)
    if n < limits[0] or n > limits[1]:
        raise Bail
    return n


def http_route(obj, ns, memo) -> Optional[m.HTTPRoute]:
    """The model of the HTTPRoute ``obj`` (namespace ``ns``), or None (see the module)."""
    if type(obj) is not dict:  # (as fast.py: a subclass is the general path's)
        return None
    try:
        return _route(obj, ns, memo)
    except Bail:
        return None


@cython.cfunc
def _route(obj: dict, ns, memo: dict) -> m.HTTPRoute:
    meta = spec = None
    for key, v in obj.items():
        if key == "spec":
            spec = v
        elif key == "metadata":
            meta = v
        elif key not in _TOP_AS_IS:
            raise Bail
    if type(meta) is not dict or type(spec) is not dict:
        raise Bail
    name, stamp = _metadata(meta)
    refs = hosts = rules = None
    for key, v in spec.items():
        if key == "rules":
            rules = v
        elif key == "parentRefs":
            refs = v
        elif key == "hostnames":
            hosts = v
        else:
            raise Bail
    parent_refs: tuple = ()
    if refs is not None and _list(refs, _PARENTS_N):
        if len(refs) > 1:
            raise Bail
        ref = _parent(refs[0], ns, memo)
        parent_refs = memo.setdefault(("parent_refs", id(ref)), (ref,))
    hostnames: tuple = ()
    if hosts is not None:
        _list(hosts, _HOSTS_N)
        hostnames = tuple([_text(h, _HOST) for h in hosts])
        hostnames = memo.setdefault(("hostnames",) + hostnames, hostnames)
    if rules is None:
        raise Bail  # (the default rule: rare, left to the general path)
    n = _list(rules, _RULES_N)
    built = []
    total = 0
    for r in rules:
        rule, count = _rule(r, ns, memo)
        built.append(rule)
        total += count
    if total > _MAX_MATCHES:
        raise Bail
    o = _F_ROUTE()
    o.namespace = ns
    o.name = name
    o.parent_refs = parent_refs
    o.hostnames = hostnames
    o.rules = tuple(built)
    o.creation_timestamp = stamp
    o.rule_indexes = memo.setdefault(_RANGE_KEYS[n], _RANGES[n])
    o.kind = "HTTPRoute"
    o.dropped_rules = ()
    o.__class__ = _HTTPRoute
    return o


@cython.cfunc
def _metadata(meta: dict):
    """(name, creation timestamp) of valid ``metadata``."""
    name = None
    for key, v in meta.items():
        if key == "name":
            if type(v) is not str:
                raise Bail
            # (names are mostly unique: not remembered; the loop is the declared check, for C)
            name = v if cython.compiled and _subdomain(v) else _META_NAME(v, None)
        elif key == "namespace":
            _text(v, _META_NS)
        else:  # any other field: the declaration's compiled validator, its checks on ``probe``
            probe = Ctx()
            cleaned = compiled(_META)(meta, probe)
            if probe.issues:
                raise Bail
            return cleaned["name"], cleaned.get("creationTimestamp")
    if name is None:
        raise Bail
    return name, None


@cython.cfunc
def _parent(p, ns, memo: dict) -> m.ParentRef:
    if type(p) is not dict:
        raise Bail
    group, kind, pns, name, section, port = _P_DEFAULT_GROUP, _P_DEFAULT_KIND, None, None, None, None
    for key, v in p.items():
        if key == "name":
            name = _text(v, _P_NAME)
        elif key == "namespace":
            pns = _text(v, _P_NS)
        elif key == "group":
            group = _text(v, _P_GROUP)
        elif key == "kind":
            kind = _text(v, _P_KIND)
        elif key == "sectionName":
            section = _text(v, _P_SECTION)
        elif key == "port":
            port = _int(v, _P_PORT)
        else:
            raise Bail
    if name is None:
        raise Bail
    pns = pns or ns
    key = ("ParentRef", group, kind, pns, name, section, port)
    o = memo.get(key)
    if o is None:
        o = _F_PARENT()
        o.group, o.kind, o.namespace, o.name, o.section_name, o.port = group, kind, pns, name, section, port
        o.__class__ = _ParentRef
        memo[key] = o
    return o


@cython.cfunc
def _rule(r, ns, memo: dict):
    """(the Rule of ``r``, its number of matches as written)."""
    if type(r) is not dict:
        raise Bail
    matches = backends = None
    for key, v in r.items():
        if key == "matches":
            matches = v
        elif key == "backendRefs":
            backends = v
        else:
            raise Bail
    count = 0
    if matches is not None:
        count = _list(matches, _MATCHES_N)
    built = tuple([_match(x, memo) for x in (matches if count else _DEFAULT_MATCHES)])
    refs: tuple = ()
    if backends is not None and _list(backends, _BACKENDS_N):
        refs = tuple([_backend(b, ns, memo) for b in backends])
        refs = memo.setdefault(("backend_refs",) + tuple(map(id, refs)), refs)
    o = _F_RULE()
    o.matches = built
    o.filters = ()
    o.backend_refs = refs
    o.name = o.timeouts = o.retry = o.session_persistence = None
    o.__class__ = _Rule
    return o, count


@cython.cfunc
def _match(x, memo: dict) -> m.RouteMatch:
    if type(x) is not dict:
        raise Bail
    path = None
    headers: tuple = ()
    query: tuple = ()
    method = None
    for key, v in x.items():
        if key == "path":
            path = _path(v)
        elif key == "headers":
            headers = _headers(v, memo)
        elif key == "queryParams":
            query = _query(v, memo)
        elif key == "method":
            method = _text(v, _METHOD)
        else:
            raise Bail
    o = _F_MATCH()
    o.path_type, o.path_value = _path(_DEFAULT_PATH) if path is None else path
    o.headers = headers
    o.query_params = query
    o.method = method
    o.__class__ = _RouteMatch
    return o


@cython.cfunc
def _path(p) -> tuple:
    """(type, value) of a plain path match (a RouteMatch holds the two itself)."""
    if type(p) is not dict:
        raise Bail
    typ, value = _PATH_DEFAULTS
    for key, v in p.items():
        if key == "type":
            typ = _text(v, _PATH_TYPE)
        elif key == "value":
            if type(v) is not str or len(v) > _PATH_MAX:  # (the declared Str: see _PATH_MAX)
                raise Bail
            value = v
        else:
            raise Bail
    if typ not in _PLAIN_PATH_TYPES:
        raise Bail
    # cel.plain_path written out (a Python call costs as much as the test): from "/", plain
    # path characters only, neither "//" nor "/." (tests/test_load_quick.py pins the two as one);
    # compiled: one loop over the characters (str.strip looks every character up in the set)
    if cython.compiled:
        if not _plain_path(value):
            raise Bail
    elif value[:1] != "/" or value.strip(PATH_PLAIN_CHARS) or "//" in value or "/." in value:
        raise Bail
    return typ, value


# the plain path characters (all ASCII) as a bit set, two words: bit c of _PLAIN_LO (c < 64),
# bit c - 64 of _PLAIN_HI (64 <= c < 128)
assert max(map(ord, PATH_PLAIN_CHARS)) < 128
# (written as binary numbers: compiled, ``1 << ord(c)`` would be a C int's shift)
_PLAIN_LO, _PLAIN_HI = (int("".join("1" if chr(i) in PATH_PLAIN_CHARS else "0" for i in reversed(range(start, start + 64))), 2)
                        for start in (0, 64))


@cython.cfunc
def _plain_path(value: str) -> cython.bint:
    """cel.plain_path(value), one pass over the characters (for the compiled module)."""
    c: cython.Py_UCS4
    k: cython.uint  # (c as a number: a Py_UCS4 in an expression with a Python int is a str)
    prev: cython.Py_UCS4 = 0
    lo: cython.ulonglong = _PLAIN_LO
    hi: cython.ulonglong = _PLAIN_HI
    if len(value) == 0 or value[0] != "/":
        return False
    for c in value:
        k = c
        if k >= 128 or not ((lo >> k) & 1 if k < 64 else (hi >> (k - 64)) & 1):
            return False
        if prev == 47 and (c == 47 or c == 46):  # "//" or "/."
            return False
        prev = c
    return True


@cython.cfunc
def _subdomain(value: str) -> cython.bint:
    """Whether ``value`` passes the route name's declared check (PRECISE_HOSTNAME_RE, 1 to 253
    characters; asserted above): labels of a-z, 0-9 and "-" that start and end with a letter or
    digit, joined by "." (for the compiled module)."""
    c: cython.Py_UCS4
    prev: cython.Py_UCS4 = 46  # (as if after a ".": the first character must be a letter or digit)
    n: cython.Py_ssize_t = len(value)
    if n == 0 or n > 253:
        return False
    for c in value:
        if (97 <= c <= 122) or (48 <= c <= 57):  # a-z, 0-9
            pass
        elif c == 45:  # "-": not first in a label
            if prev == 46:
                return False
        elif c == 46:  # ".": after a letter or digit
            if prev == 46 or prev == 45:
                return False
        else:
            return False
        prev = c
    return prev != 45 and prev != 46  # (the last label ends with a letter or digit)


@cython.cfunc
def _pair(x, check_type: tuple, check_name: tuple, check_value: tuple):
    """(name, value) of an Exact header or query-parameter match."""
    if type(x) is not dict:
        raise Bail
    typ, name, value = _EXACT, None, None
    for key, v in x.items():
        if key == "name":
            name = _text(v, check_name)
        elif key == "value":
            value = _text(v, check_value)
        elif key == "type":
            typ = _text(v, check_type)
        else:
            raise Bail
    if typ != _EXACT or name is None or value is None:
        raise Bail
    return name, value


@cython.cfunc
def _headers(items, memo: dict) -> tuple:
    """Header matches: names distinct as written (list-map key), the first per name in any case
    kept, lower-cased (kinds._first_per_header); equal ones shared under the declaration's key (not
    their tuples: a key of their ids cost more instructions than the 48 bytes it saves)."""
    _list(items, _HEADERS_N)
    out, written, seen = [], set(), set()
    for x in items:
        name, value = _pair(x, _H_TYPE, _H_NAME, _H_VALUE)
        if name in written:
            raise Bail
        written.add(name)
        lower = name.lower()
        if lower not in seen:
            seen.add(lower)
            out.append(_shared_match(memo, "HeaderMatch", _F_HEADER, _HeaderMatch, lower, value))
    return tuple(out)


@cython.cfunc
def _shared_match(memo: dict, kind: str, filler, cls, name, value):
    """The Exact header or query match ``kind`` of name and value: one object per load for
    equal ones (memo)."""
    key = (kind, _EXACT, name, value)
    o = memo.get(key)
    if o is None:
        o = filler()
        o.type, o.name, o.value = _EXACT, name, value
        o.__class__ = cls
        memo[key] = o
    return o


@cython.cfunc
def _query(items, memo: dict) -> tuple:
    """Query-parameter matches: names distinct as written (list-map key); equal ones shared as
    header matches are."""
    _list(items, _QUERY_N)
    out, written = [], set()
    for x in items:
        name, value = _pair(x, _Q_TYPE, _Q_NAME, _Q_VALUE)
        if name in written:
            raise Bail
        written.add(name)
        out.append(_shared_match(memo, "QueryParamMatch", _F_QUERY, _QueryParamMatch, name, value))
    return tuple(out)


@cython.cfunc
def _backend(b, ns, memo: dict) -> m.BackendRef:
    if type(b) is not dict:
        raise Bail
    group, kind, weight = _B_DEFAULTS
    bns = name = port = None
    for key, v in b.items():
        if key == "name":
            name = _text(v, _B_NAME)
        elif key == "port":
            port = _int(v, _B_PORT)
        elif key == "weight":
            weight = _int(v, _B_WEIGHT)
        elif key == "namespace":
            bns = _text(v, _B_NS)
        elif key == "group":
            group = _text(v, _B_GROUP)
        elif key == "kind":
            kind = _text(v, _B_KIND)
        else:
            raise Bail  # (filters: the general path)
    if name is None or (port is None and group == "" and kind == "Service"):  # (cel.check_backend_port)
        raise Bail
    bns = bns or ns
    key = ("BackendRef", group, kind, bns, name, port, weight)
    o = memo.get(key)
    if o is None:
        o = _F_BACKEND()
        o.group, o.kind, o.namespace, o.name, o.port, o.weight, o.filters = group, kind, bns, name, port, weight, ()
        o.__class__ = _BackendRef
        memo[key] = o
    return o
