"""Impact diff: replay recorded requests through two configurations and report what changes.

``read_requests`` parses JSON lines (routecore serve's JSON access log among them), common/combined
access-log lines, routecore serve's access-log lines and Envoy's default access-log lines (the
format is detected per line; lines that parse as none are counted, never fatal). ``diff_requests`` decides every
request under both views and groups the requests whose outcome changed by their transition.

Weighted backends: a Decision is one draw, so comparing two draws would report noise. For each
request the *distribution* of outcomes is compared instead: the rule's every weighted choice is
decided (with its probability), under both configurations. This needs the view's compiled
``spec`` (a TableSpec, public on both twins): the request is replayed on the pure-Python twin
(``_match_py.Table``, the oracle whose decisions equal the native core's by ``to_dict``) with its
weighted pick overridden to walk each choice in turn. Everything compared is then read from the
public ``Decision``: route, rule, listener, backend, status, location, upstream path and host,
``apply_request_headers(request headers)`` and ``apply_response_headers([])``. Mirrors, timeouts,
retry and session persistence are not compared. A view without ``spec`` is decided once per
request through its public ``route`` (one draw; weighted rules are then not enumerated).
"""
from __future__ import annotations

import json
import os
import re
import sys
from fractions import Fraction
from typing import Iterable, Iterator, List, Optional, Tuple

from attrs import field, frozen

from .args import UsageError, add_view_arguments, load_config, view_selector
from .._errors import ConfigError
from .._match_py import Table as _PyTable

# --- requests ------------------------------------------------------------------------------------


@frozen
class Request:
    """One replayed request; ``line`` is its 1-based line number in the source (0 if unknown)."""

    method: str
    target: str
    headers: Tuple[Tuple[str, str], ...] = ()
    host: Optional[str] = None
    scheme: Optional[str] = None
    line: int = 0

    @property
    def key(self):
        return (self.method, self.target, self.headers, self.host, self.scheme)

    def to_dict(self) -> dict:
        return {"line": self.line, "method": self.method, "target": self.target,
                "host": self.host, "headers": [list(p) for p in self.headers]}

    def __str__(self) -> str:
        host = f" (host {self.host})" if self.host else ""
        return f"{self.method} {self.target}{host}"


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_ACCESS = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]+\] ' + _QUOTED + r' (?:\d{3}|-) (?:\d+|-)'
    r'(?: ' + _QUOTED + ' ' + _QUOTED + r')?(?: (\S+))?\s*$')
_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|.)')


def _unescape(text: str) -> str:
    """Undo the access log's escaping of the quoted fields (\\" \\\\ \\xNN)."""
    def one(m):
        s = m.group(1)
        if s[0] == "x" and len(s) == 3:
            return chr(int(s[1:], 16))
        return {"n": "\n", "t": "\t"}.get(s, s)
    return _ESCAPE.sub(one, text) if "\\" in text else text


# routecore serve: `<client> "<request line>" <status> host=<h|-> route=... rule=... backend=...
# bytes=<n> upstream_ms=<x|-> duration_ms=<x>[ error="..."]`, after any logging prefix
_SERVE = re.compile(
    r'(?:^|\s)\S+ ' + _QUOTED + r' \d{3} host=(\S+) route=\S+ rule=\S+ backend=\S+ '
    r'bytes=(?:\d+|-) upstream_ms=\S+ duration_ms=\S+(?: error=' + _QUOTED + r')?\s*$')
# Envoy's default format: [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%
# %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
# %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
# "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
_ENVOY = re.compile(
    r'^\[[^\]]+\] "([^"]*)" \d+ \S+ (?:\d+|-) (?:\d+|-) (?:\d+|-) (?:\d+|-) '
    r'"[^"]*" "([^"]*)" "[^"]*" "([^"]*)" "[^"]*"\s*$')


def _request(request_line: str, headers, host: Optional[str], default_host: Optional[str],
             number: int) -> Optional[Request]:
    """A Request from a logged request line `METHOD TARGET [HTTP/x]` (None if it is not one);
    a host of None or "-" is ``default_host``."""
    parts = request_line.split()
    if len(parts) not in (2, 3) or not _TOKEN.match(parts[0]):
        return None
    if len(parts) == 3 and not parts[2].upper().startswith("HTTP/"):
        return None
    host = host if host not in (None, "", "-") else default_host
    return Request(parts[0], parts[1], tuple(headers), host, None, number)


def _parse_access(line: str, default_host: Optional[str], number: int) -> Optional[Request]:
    m = _ACCESS.match(line)
    if m is None:
        return None
    request_line, referer, agent, vhost = m.groups()
    headers = []
    if referer not in (None, "", "-"):
        headers.append(("referer", _unescape(referer)))
    if agent not in (None, "", "-"):
        headers.append(("user-agent", _unescape(agent)))
    return _request(_unescape(request_line), headers, vhost, default_host, number)


def _parse_serve(line: str, default_host: Optional[str], number: int) -> Optional[Request]:
    m = _SERVE.search(line)
    if m is None:
        return None
    return _request(_unescape(m.group(1)), (), _unescape(m.group(2)), default_host, number)


def _parse_envoy(line: str, default_host: Optional[str], number: int) -> Optional[Request]:
    m = _ENVOY.match(line)
    if m is None:
        return None
    request_line, agent, authority = m.groups()
    headers = [("user-agent", agent)] if agent not in ("", "-") else []
    return _request(request_line, headers, authority, default_host, number)


def _parse_json(line: str, default_host: Optional[str], number: int) -> Optional[Request]:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    target = obj.get("path", obj.get("target"))
    method = obj.get("method", "GET")
    if not isinstance(target, str) or not target or not isinstance(method, str) \
            or not _TOKEN.match(method):
        return None
    raw = obj.get("headers") or ()
    headers = []
    if isinstance(raw, dict):
        for name, value in raw.items():
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                return None
            headers.extend((name, v) for v in values)
    elif isinstance(raw, (list, tuple)):
        for pair in raw:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2
                    and all(isinstance(x, str) for x in pair)):
                return None
            headers.append((pair[0], pair[1]))
    else:
        return None
    host = obj.get("host")
    if host == "-":  # routecore serve's JSON access log: no Host
        host = None
    scheme = obj.get("scheme")
    if (host is not None and not isinstance(host, str)) or scheme not in (None, "http", "https"):
        return None
    if host is None and not any(n.lower() in ("host", ":authority") for n, _ in headers):
        host = default_host
    return Request(method, target, tuple(headers), host, scheme, number)


def parse_line(line: str, default_host: Optional[str] = None, number: int = 0) -> Optional[Request]:
    """One request from a JSON line or an access-log line, or None when it is neither."""
    text = line.strip()
    if text.startswith("{"):
        return _parse_json(text, default_host, number)
    for parse in (_parse_access, _parse_envoy, _parse_serve):
        req = parse(text, default_host, number)
        if req is not None:
            return req
    return None


class RequestReader:
    """Iterates the requests of a file or of lines; blank lines are skipped, and lines that parse
    as neither format are counted in ``unparseable`` (their numbers, the first 20, in
    ``unparseable_lines``) as the iteration goes."""

    def __init__(self, source, default_host: Optional[str] = None):
        self.source = source
        self.default_host = default_host
        self.lines = 0
        self.unparseable = 0
        self.unparseable_lines: List[int] = []

    def _lines(self) -> Iterator[str]:
        if isinstance(self.source, (str, os.PathLike)):
            with open(self.source, encoding="utf-8", errors="replace") as f:
                yield from f
        else:
            for line in self.source:
                yield line.decode("utf-8", "replace") if isinstance(line, bytes) else line

    def __iter__(self) -> Iterator[Request]:
        for number, line in enumerate(self._lines(), 1):
            self.lines = number
            if not line.strip():
                continue
            req = parse_line(line, self.default_host, number)
            if req is None:
                self.unparseable += 1
                if len(self.unparseable_lines) < 20:
                    self.unparseable_lines.append(number)
                continue
            yield req


def read_requests(path_or_lines, *, default_host: Optional[str] = None) -> RequestReader:
    """The requests of a file path or of an iterable of lines (str or bytes); iterate it, then
    read ``.unparseable``. ``default_host`` is the Host of access-log lines without a vhost
    field and of JSON lines with neither ``host`` nor a Host header."""
    return RequestReader(path_or_lines, default_host)


# --- outcomes ------------------------------------------------------------------------------------


@frozen
class Outcome:
    """What one decision does, reduced to what the diff compares (hashable)."""

    route: Optional[str]
    rule: Optional[int]
    listener: Optional[str]
    backend: Optional[Tuple]  # (namespace, name, port, group, kind); weight is the probability
    status: Optional[int]
    location: Optional[str]
    upstream_path: Optional[str]
    upstream_host: Optional[str]
    request_headers: Optional[Tuple[Tuple[str, str], ...]]
    response_headers: Tuple[Tuple[str, str], ...]

    @classmethod
    def of(cls, decision, headers) -> "Outcome":
        forward = decision.status is None
        b = decision.backend
        return cls(
            route=decision.route, rule=decision.rule, listener=decision.listener,
            backend=None if b is None else (b.namespace, b.name, b.port, b.group, b.kind),
            status=decision.status, location=decision.location,
            # what goes upstream only matters when the request is forwarded
            upstream_path=decision.upstream_path if forward else None,
            upstream_host=decision.upstream_host if forward else None,
            request_headers=tuple(map(tuple, decision.apply_request_headers(list(headers))))
            if forward else None,
            response_headers=tuple(map(tuple, decision.apply_response_headers([]))))

    def to_dict(self) -> dict:
        b = self.backend
        return {"route": self.route, "rule": self.rule, "listener": self.listener,
                "backend": None if b is None else {"namespace": b[0], "name": b[1], "port": b[2]},
                "status": self.status, "location": self.location,
                "upstream_path": self.upstream_path, "upstream_host": self.upstream_host,
                "request_headers": None if self.request_headers is None
                else [list(p) for p in self.request_headers],
                "response_headers": [list(p) for p in self.response_headers]}


# (probability, Outcome) pairs, equal outcomes merged, in a canonical order
Distribution = Tuple[Tuple[Fraction, Outcome], ...]
_ONE = Fraction(1)


class _Enumerator:
    """The pure twin on a view's spec, whose weighted pick (its ``pick`` hook) takes choice
    ``forced`` of the request's outcome and records that outcome's cumulative weights."""

    def __init__(self, spec):
        self.forced = 0
        self.cum: Tuple[int, ...] = (1,)
        self.route = _PyTable(spec, pick=self._pick).route

    def _pick(self, cum: Tuple[int, ...]) -> int:
        self.cum = cum
        return self.forced if self.forced < len(cum) else 0


class _Decider:
    """The outcome distribution of each request under one view, cached per distinct request.

    The view's own ``route`` decides the request; when the decision comes from a rule with
    several weighted choices, the rule's every choice is decided on the pure twin instead."""

    def __init__(self, view):
        spec = getattr(view, "spec", None)
        self.view = view
        self.table = _Enumerator(spec) if spec is not None else None
        self.weighted = set() if spec is None else {
            (c.listener, c.route, c.rule) for c in
            (spec.choices[start] for start, cum in spec.outcomes if len(cum) > 1)}
        self.cache: dict = {}

    @staticmethod
    def _route(route, req: Request):
        return route(req.method, req.target, list(req.headers), host=req.host, scheme=req.scheme)

    def __call__(self, req: Request) -> Distribution:
        key = req.key
        dist = self.cache.get(key)
        if dist is not None:
            return dist
        d = self._route(self.view.route, req)
        if (d.listener, d.route, d.rule) not in self.weighted:
            dist = ((_ONE, Outcome.of(d, req.headers)),)
        else:
            t = self.table
            merged: dict = {}
            t.forced, t.cum, i = 0, (1,), 0
            while True:
                out = Outcome.of(self._route(t.route, req), req.headers)
                cum = t.cum
                share = Fraction(cum[i] - (cum[i - 1] if i else 0), cum[-1])
                merged[out] = merged.get(out, 0) + share
                i += 1
                if i >= len(cum):
                    break
                t.forced = i
            t.forced = 0
            dist = tuple((p, o) for o, p in merged.items())
        if len(self.cache) < 200_000:
            self.cache[key] = dist
        return dist


def _same(old: Distribution, new: Distribution) -> bool:
    """Equal distributions, whatever the order of the choices."""
    if len(old) == 1 or len(new) == 1:
        return old == new
    return dict((o, p) for p, o in old) == dict((o, p) for p, o in new)


# --- grouping ------------------------------------------------------------------------------------

ASPECTS = (("listener", "listener"), ("location", "location"),
           ("upstream path", "upstream_path"), ("upstream host", "upstream_host"),
           ("request headers", "request_headers"), ("response headers", "response_headers"))


def _target(o: Outcome):
    """What the request becomes: a backend, or the status it is answered with."""
    return ("backend", o.backend) if o.status is None else ("status", o.status)


def _targets(dist: Distribution) -> dict:
    out: dict = {}
    for p, o in dist:
        t = _target(o)
        out[t] = out.get(t, 0) + p
    return out


def _pct(p: Fraction) -> str:
    return f"{float(p) * 100:.4g}%"


def _target_label(t, route_ns: Optional[str], full: bool) -> str:
    kind, value = t
    if kind == "status":
        return f"redirect {value}" if 300 <= value < 400 else f"status {value}"
    if value is None:
        return "none"
    ns, name, port = value[0], value[1], value[2]
    if full:
        return f"{ns}/{name}:{port}"
    return name if ns == route_ns else f"{ns}/{name}"


def _dist_label(targets: dict, route_ns, full: bool) -> str:
    items = sorted(targets.items(), key=lambda tp: (-tp[1], _target_label(tp[0], route_ns, full)))
    if len(items) == 1:
        return _target_label(items[0][0], route_ns, full)
    return " + ".join(f"{_target_label(t, route_ns, full)} {_pct(p)}" for t, p in items)


def _route_label(dist: Distribution) -> str:
    labels = sorted({"none" if o.route is None else f"{o.route} rule {o.rule}" for _, o in dist})
    return " | ".join(labels)


def _route_ns(dist: Distribution) -> Optional[str]:
    for _, o in dist:
        if o.route is not None:
            return o.route.partition("/")[0]
    return None


def _changed_aspects(old: Distribution, new: Distribution) -> Tuple[str, ...]:
    changed = []
    same_targets = set(_targets(old)) == set(_targets(new))
    for label, attr in ASPECTS:
        if {getattr(o, attr) for _, o in old} != {getattr(o, attr) for _, o in new}:
            changed.append(label)
        elif same_targets:  # same values, but tied to other backends (backendRef filters)
            def by_target(dist):
                m: dict = {}
                for _, o in dist:
                    m.setdefault(_target(o), set()).add(getattr(o, attr))
                return m
            if by_target(old) != by_target(new):
                changed.append(label)
    return tuple(changed)


def transition(old: Distribution, new: Distribution) -> Tuple[str, Tuple[str, ...]]:
    """(the group label of a changed request, the detail aspects that changed)."""
    old_route, new_route = _route_label(old), _route_label(new)
    parts = [f"route {old_route}" if old_route == new_route else f"route {old_route} → {new_route}"]
    t_old, t_new = _targets(old), _targets(new)
    if t_old != t_new:
        ns_old, ns_new = _route_ns(old), _route_ns(new)
        a, b = _dist_label(t_old, ns_old, False), _dist_label(t_new, ns_new, False)
        if a == b:  # short names hide the difference (namespace or port)
            a, b = _dist_label(t_old, ns_old, True), _dist_label(t_new, ns_new, True)
        forwards = all(k == "backend" for k, _ in list(t_old) + list(t_new))
        if set(t_old) == set(t_new) and len(t_old) > 1:
            parts.append(f"weights {a} → {b}")
        elif forwards:
            parts.append(f"backend {a} → {b}")
        else:
            parts.append(f"{a} → {b}")
    aspects = _changed_aspects(old, new)
    if aspects:
        parts.append("changed: " + ", ".join(aspects))
    return ", ".join(parts), aspects


# --- report --------------------------------------------------------------------------------------


def _dist_dict(dist: Distribution) -> list:
    return [{"probability": float(p), **o.to_dict()} for p, o in dist]


def _values(dist: Distribution, attr: str) -> list:
    seen = []
    for _, o in dist:
        v = getattr(o, attr)
        if v not in seen:
            seen.append(v)
    return seen


def _show(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return "[" + ", ".join(f"{n}: {x}" for n, x in v) + "]"
    return str(v)


@frozen
class Example:
    """One changed request and its outcome distributions before and after."""

    request: Request
    old: Distribution
    new: Distribution

    def to_dict(self) -> dict:
        return {"request": self.request.to_dict(), "old": _dist_dict(self.old),
                "new": _dist_dict(self.new)}

    def detail_lines(self, aspects: Tuple[str, ...]) -> List[str]:
        lines = []
        for label, attr in ASPECTS:
            if label not in aspects:
                continue
            before, after = _values(self.old, attr), _values(self.new, attr)
            if attr.endswith("headers") and len(before) == 1 and len(after) == 1:
                b, a = list(before[0] or ()), list(after[0] or ())
                gone = [p for p in b if p not in a]
                added = [p for p in a if p not in b]
                text = " ".join([f"-{n}: {v}" for n, v in gone] + [f"+{n}: {v}" for n, v in added])
                lines.append(f"{label}: {text or _show(before[0]) + ' → ' + _show(after[0])}")
            else:
                lines.append(f"{label}: {' | '.join(map(_show, before))} → "
                             f"{' | '.join(map(_show, after))}")
        return lines


@frozen
class Group:
    """The changed requests sharing one transition; ``count`` counts request lines."""

    transition: str
    count: int
    examples: Tuple[Example, ...]
    changes: Tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"transition": self.transition, "count": self.count, "changes": list(self.changes),
                "examples": [e.to_dict() for e in self.examples]}


@frozen
class DiffReport:
    total: int
    changed: int
    unparseable: int
    groups: Tuple[Group, ...] = field(factory=tuple)

    @property
    def unchanged(self) -> int:
        return self.total - self.changed

    def to_dict(self) -> dict:
        return {"total": self.total, "changed": self.changed, "unchanged": self.unchanged,
                "unparseable": self.unparseable, "groups": [g.to_dict() for g in self.groups]}

    def to_text(self) -> str:
        out = [f"{self.total} requests: {self.changed} changed, {self.unchanged} unchanged; "
               f"{self.unparseable} unparseable line(s)"]
        if not self.groups:
            out.append("no request changes outcome")
        width = max((len(str(g.count)) for g in self.groups), default=1)
        for g in self.groups:
            out.append("")
            out.append(f"{g.count:>{width}}  {g.transition}")
            for ex in g.examples:
                where = f"  [line {ex.request.line}]" if ex.request.line else ""
                out.append(f"{'':>{width}}    e.g. {ex.request}{where}")
                for detail in ex.detail_lines(g.changes):
                    out.append(f"{'':>{width}}         {detail}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()


def _as_request(item, number: int) -> Request:
    if isinstance(item, Request):
        return item
    if isinstance(item, str):
        req = parse_line(item, None, number)
        if req is None:
            raise ValueError(f"unparseable request line {number}: {item!r}")
        return req
    if isinstance(item, dict):
        req = _parse_json(json.dumps(item), None, number)
        if req is None:
            raise ValueError(f"not a request: {item!r}")
        return req
    raise TypeError(f"expected a Request, a line or a dict, got {type(item).__name__}")


def diff_requests(old_view, new_view, requests: Iterable, *, limit_examples: int = 3) -> DiffReport:
    """Decide every request under both views and group the ones whose outcome changed.

    ``requests``: what ``read_requests`` returns (its unparseable count goes into the report), or
    any iterable of Request, JSON-line/access-log strings, or dicts shaped as a JSON line.
    Groups come most frequent first; each keeps up to ``limit_examples`` distinct requests.
    """
    old_of, new_of = _Decider(old_view), _Decider(new_view)
    total = changed = 0
    groups: dict = {}  # transition -> [count, examples, seen request keys, aspects]
    verdicts: dict = {}  # request key -> (transition, aspects) or None when unchanged
    for number, item in enumerate(requests, 1):
        req = _as_request(item, number)
        total += 1
        key = req.key
        if key in verdicts:
            verdict = verdicts[key]
            old = new = None
        else:
            old, new = old_of(req), new_of(req)
            verdict = None if _same(old, new) else transition(old, new)
            if len(verdicts) < 200_000:
                verdicts[key] = verdict
        if verdict is None:
            continue
        changed += 1
        label, aspects = verdict
        g = groups.get(label)
        if g is None:
            g = groups[label] = [0, [], set(), aspects]
        g[0] += 1
        if len(g[1]) < limit_examples and key not in g[2]:
            g[2].add(key)
            if old is None:
                old, new = old_of(req), new_of(req)
            g[1].append(Example(req, old, new))
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return DiffReport(
        total=total, changed=changed, unparseable=getattr(requests, "unparseable", 0),
        groups=tuple(Group(label, g[0], tuple(g[1]), g[3]) for label, g in ordered))


# --- command line --------------------------------------------------------------------------------

PROGRESS_THRESHOLD = 10_000


def add_parser(sub) -> None:
    """Register `routecore diff` on the subparsers of the routecore command line."""
    d = sub.add_parser(
        "diff", help="replay requests through two configurations and report which change outcome "
                     "(exit 0: none, 1: some, 2: error)")
    d.add_argument("old", metavar="OLD", help="the current configuration (file or folder)")
    d.add_argument("new", metavar="NEW", help="the proposed configuration (file or folder)")
    d.add_argument("--requests", required=True, metavar="FILE",
                   help="JSON lines or common/combined access-log lines ('-': stdin)")
    add_view_arguments(d)
    d.add_argument("--host", help="Host of requests whose line gives none")
    d.add_argument("--format", choices=("text", "json"), default="text")
    d.add_argument("--seed", type=int, help="router seed; the report does not depend on it "
                                            "(every weighted choice is enumerated)")
    d.add_argument("--limit-examples", type=int, default=3, metavar="K",
                   help="example requests shown per group (default 3)")
    d.add_argument("--no-progress", action="store_true",
                   help="no progress bar (shown on a terminal for files over 10,000 lines; "
                        "it needs rich, the `diff` extra)")


def _views(args):
    """The OLD and NEW configurations' views for the --gateway/--service of ``args``."""
    select = view_selector(args)
    views = []
    for which, path in (("OLD", args.old), ("NEW", args.new)):
        try:
            router = load_config(path, seed=args.seed)
        except ConfigError:
            print(f"routecore: {which} configuration {path} is invalid:", file=sys.stderr)
            raise
        try:
            views.append(select(router))
        except LookupError as exc:
            raise LookupError(f"{which} {path}: {exc}") from None
    return views


def _count_lines(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


def run_cli(args) -> int:
    """`routecore diff`: 0 when no request changes, 1 when some do, 2 on errors."""

    if args.limit_examples < 0:
        print("routecore: --limit-examples must be >= 0", file=sys.stderr)
        return 2
    try:
        old_view, new_view = _views(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (LookupError, UsageError, OSError) as exc:
        print(f"routecore: {exc}", file=sys.stderr)
        return 2
    import contextlib

    progress = None
    stack = contextlib.ExitStack()
    try:
        if args.requests == "-":
            lines = sys.stdin
        else:
            total = _count_lines(args.requests)
            lines = stack.enter_context(open(args.requests, encoding="utf-8", errors="replace"))
            if total > PROGRESS_THRESHOLD and sys.stderr.isatty() and not args.no_progress:
                try:
                    from rich.console import Console
                    from rich.progress import Progress
                except ModuleNotFoundError as exc:
                    from .._extras import missing
                    return missing(exc, "diff", "the progress bar of routecore diff "
                                                "(or --no-progress)")

                progress = Progress(console=Console(stderr=True), transient=True)
                task = progress.add_task("replaying requests", total=total)

                def counted(f, advance=progress.advance):
                    for line in f:
                        advance(task)
                        yield line
                progress.start()
                lines = counted(lines)
        reader = read_requests(lines, default_host=args.host)
        report = diff_requests(old_view, new_view, reader, limit_examples=args.limit_examples)
    except OSError as exc:
        print(f"routecore: {exc}", file=sys.stderr)
        return 2
    finally:
        if progress is not None:
            progress.stop()
        stack.close()
    source = "stdin" if args.requests == "-" else args.requests
    if report.total == 0:  # nothing was compared: neither "no change" nor "changes"
        why = (f"none of its {report.unparseable} line(s) could be parsed as a request"
               if report.unparseable else "it holds no request")
        print(f"routecore: no request to replay in {source}: {why} (formats: README, "
              "`Impact diff`)", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_text())
    if report.unparseable:
        shown = ", ".join(map(str, reader.unparseable_lines[:5]))
        more = ", ..." if report.unparseable > 5 else ""
        print(f"routecore: {report.unparseable} unparseable line(s) skipped (lines {shown}{more})",
              file=sys.stderr)
    return 1 if report.changed else 0
