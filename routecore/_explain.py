"""Why a request went where it went: every candidate match of one view, in precedence order.

``view.explain(method, target, headers, host=...)`` returns an ``Explanation``: the request as
routing sees it, the listener chosen (gateway views) and why, then one ``Row`` per candidate
rule match of that listener, in the order routing ranks them (hostname group first, then
``Entry.sort_key``), each with whether it fits the request and, if not, the first reason.

Invariants:
- the decision shown is the one the view's own ``route`` returns for the same request (the
  twin's real code runs; note that a weighted choice advances the view's random stream, exactly
  as routing the request would);
- whether a row fits is decided by ``routecore._predicates.entry_matches`` and the reason by small
  pure functions built on the same helpers (``prefix_matches``, the conditions' own regexes), so
  a row has a reason exactly when it does not fit;
- the winner row is the first row that fits; every row after it is "not reached".
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Optional, Tuple

from attrs import asdict, field, frozen

from ._predicates import choose_listener, cond_ok, entry_matches, host_rank, listener_rank
from ._request import query_map, request_parts, text as _text
from ._paths import host_key, prefix_matches, split_target
from ._compile.table import EXACT, PREFIX, REGEX

PATH_TYPE_NAMES = {EXACT: "Exact", PREFIX: "PathPrefix", REGEX: "RegularExpression"}

WON = "won"
MISS = "no match"
NOT_REACHED = "not reached"
NOT_REACHED_REASON = "not reached (a higher-precedence match won)"


# --- reasons: pure functions of one Entry and the request ---------------------------------------


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def path_miss(entry, path: str) -> Optional[str]:
    """Why ``entry``'s path condition rejects ``path`` (normalised, without query), or None."""
    if entry.path_type == EXACT:
        return None if path == entry.path else f"path differs ({path} != {entry.path})"
    if entry.path_type == PREFIX:
        if prefix_matches(entry.path, path):
            return None
        if path.startswith(entry.path):
            return f"prefix {entry.path or '/'} not at a segment boundary of {path}"
        return f"path {path} does not start with {entry.path or '/'}"
    if entry.regex.fullmatch(path) is not None:
        return None
    return f"regex {entry.path} does not match {path}"


def method_miss(entry, method: str) -> Optional[str]:
    if entry.method is None or entry.method == method:
        return None
    return f"method {method} != {entry.method}"


def cond_miss(what: str, cond, value: Optional[str]) -> Optional[str]:
    """``what`` is "header" or "query"; ``value`` what the request has for ``cond.name``."""
    if cond_ok(cond, value):
        return None
    if value is None:
        return f"{what} {cond.name} missing"
    if cond.regex is not None:
        return f"{what} {cond.name}={_q(value)} does not match regex {_q(cond.value)}"
    return f"{what} {cond.name}={_q(value)} != {_q(cond.value)}"


def miss_reason(entry, method: str, path: str, headers: dict, query: dict) -> Optional[str]:
    """The first condition of ``entry`` the request fails, in the order matching checks them
    (path, method, headers, query parameters); None when the entry matches."""
    reason = path_miss(entry, path) or method_miss(entry, method)
    if reason:
        return reason
    for c in entry.headers:
        reason = cond_miss("header", c, headers.get(c.name))
        if reason:
            return reason
    for c in entry.queries:
        reason = cond_miss("query", c, query.get(c.name))
        if reason:
            return reason
    return None


def _cond_text(c) -> str:
    return f"{c.name}~={c.value}" if c.regex is not None else f"{c.name}={c.value}"


def match_text(entry) -> str:
    """The match in short: ``PathPrefix /api  GET  headers: x-canary=true  query: v=2``."""
    path = entry.path or "/" if entry.path_type == PREFIX else entry.path
    parts = [f"{PATH_TYPE_NAMES[entry.path_type]} {path}"]
    if entry.method:
        parts.append(entry.method)
    if entry.headers:
        parts.append("headers: " + ", ".join(_cond_text(c) for c in entry.headers))
    if entry.queries:
        parts.append("query: " + ", ".join(_cond_text(c) for c in entry.queries))
    return "  ".join(parts)


def listener_reason(hostname: Optional[str], hk: str) -> str:
    if hostname is None:
        return "catch-all listener (no hostname)"
    if hostname.startswith("*."):
        return f"wildcard hostname {hostname} matches {hk}"
    return f"exact hostname {hostname} matches {hk}"


# --- the explanation ----------------------------------------------------------------------------


@frozen
class Row:
    """One candidate rule match, in the order routing tries it."""

    position: int  # 1-based precedence position
    route: str  # "namespace/name"
    rule: int
    rule_name: Optional[str]
    match: int
    text: str  # the match in short
    hostname: Optional[str]  # the hostname group it was considered under (None: any host)
    matched: bool  # the match fits the request (known for every row, reached or not)
    state: str  # "won", "no match" or "not reached"
    reason: Optional[str]  # the first miss, or "not reached (...)"; None for the winner

    @property
    def won(self) -> bool:
        return self.state == WON

    @property
    def shadowed(self) -> bool:
        """Not reached although it fits the request: a higher-precedence match hides it."""
        return self.state == NOT_REACHED and self.matched

    def to_dict(self) -> dict:
        out = asdict(self)
        out["shadowed"] = self.shadowed
        return out


@frozen
class ListenerNote:
    """A listener of the gateway port and what the request host made of it."""

    name: Optional[str]
    hostname: Optional[str]
    verdict: str  # "chosen", "matches, less specific", "hostname does not match"


@frozen
class Explanation:
    method: str
    target: str  # the request-target as given
    path: str  # as matched (normalised when the router normalises)
    query: Optional[str]
    host: Optional[str]  # as given or taken from the headers
    host_key: str  # as compared ("" for mesh views, where the Host plays no part)
    mesh: bool
    listener: Optional[str]  # the listener name; None for mesh views and when none matches
    listener_hostname: Optional[str]
    listener_reason: str
    listeners: Tuple[ListenerNote, ...]
    skipped_hostnames: Tuple[Optional[str], ...]  # hostname groups the host does not match
    rows: Tuple[Row, ...]
    decision: object = field(eq=False)  # what the view's route() returned for this request

    @property
    def winner(self) -> Optional[Row]:
        return next((r for r in self.rows if r.won), None)

    @property
    def agrees(self) -> bool:
        """The winner row is the decision's route and rule (no winner: nothing matched)."""
        w, d = self.winner, self.decision
        if w is None:
            return not d.matched
        return bool(d.matched) and (w.route, w.rule) == (d.route, d.rule)

    # --- rendering ------------------------------------------------------------------------------

    def request_line(self) -> str:
        parts = [f"request: {self.method} {self.target}"]
        if self.path != self.target.split("?", 1)[0] or self.query:
            parts.append(f"(path {self.path}" + (f", query {self.query})" if self.query else ")"))
        if self.mesh:
            parts.append("| mesh Service view, the Host plays no part")
        else:
            parts.append(f"host {self.host_key or '(none)'}")
            if self.listener is not None:
                parts.append(f"| listener {self.listener}: {self.listener_reason}")
            else:
                parts.append(f"| listener: {self.listener_reason}")
        return " ".join(parts)

    def decision_line(self) -> str:
        d = self.decision
        if d.status is None:
            text = f"forward to {d.backend}"
            if d.upstream_path is not None:
                text += f" path {d.upstream_path}"
        elif d.location is not None:
            text = f"{d.status} redirect to {d.location}"
        else:
            text = str(d.status)
            if d.status == 421:
                text += " (misdirected: the SNI belongs to another listener)"
            elif not d.matched:
                text += " (no listener)" if not self.mesh and self.listener is None \
                    else " (no rule matched)"
        if d.matched:
            text += f"  [route {d.route} rule {d.rule}"
            text += f" ({d.rule_name})]" if d.rule_name else "]"
        elif d.backend is not None and d.status is None:
            text += "  [no route for this client: the Service itself]"
        if not self.agrees:
            text += "  !! the explanation disagrees with routing: please report"
        return f"decision: {text}"

    def table(self) -> str:
        """The candidate rows as a fixed-width text table."""
        if not self.rows:
            return "(no candidate rule matches)"
        head = ("#", "route", "rule", "match", "condition", "hostname", "result", "why not")
        body = []
        for r in self.rows:
            result = "WON" if r.won else ("shadowed" if r.shadowed else r.state)
            rule = f"{r.rule} ({r.rule_name})" if r.rule_name else str(r.rule)
            body.append((str(r.position), r.route, rule, str(r.match), r.text,
                         r.hostname or "(any)", result, r.reason or ""))
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
        lines = []
        for row in [head, tuple("-" * w for w in widths), *body]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if self.skipped_hostnames:
            lines.append("(route hostnames not matching the host: "
                         + ", ".join(h or "(any)" for h in self.skipped_hostnames) + ")")
        return "\n".join(lines)

    def __str__(self) -> str:
        return "\n".join([self.request_line(), self.table(), self.decision_line()])

    def to_dict(self) -> dict:
        w = self.winner
        return {
            "request": {"method": self.method, "target": self.target, "path": self.path,
                        "query": self.query, "host": self.host, "host_key": self.host_key},
            "mesh": self.mesh,
            "listener": self.listener, "listener_hostname": self.listener_hostname,
            "listener_reason": self.listener_reason,
            "listeners": [asdict(n) for n in self.listeners],
            "skipped_hostnames": list(self.skipped_hostnames),
            "rows": [r.to_dict() for r in self.rows],
            "winner": None if w is None else w.position,
            "decision": self.decision.to_dict(),
            "agrees": self.agrees,
        }


def _rule_name(spec, outcome: int) -> Optional[str]:
    return spec.choices[spec.outcomes[outcome][0]].rule_name


def explain(spec, route, method, path, headers=(), *, host=None, scheme=None,
            sni=None) -> Explanation:
    """Explain one request on the table ``spec``; ``route`` is the same view's route method."""
    if headers is not None and not isinstance(headers, Mapping) and not hasattr(headers, "items"):
        headers = list(headers)  # read twice: here and by route()
    decision = route(method, path, headers, host=host, scheme=scheme, sni=sni)
    target = _text(path)
    method, p, query, hmap, host, hk = request_parts(spec, method, path, headers, host)

    notes: list = []
    misdirected = False
    if p is None or hk is None:  # refused before matching: no listener, no candidate
        lis = None
        reason = ("none: the path is refused (a malformed escape, an escaped slash or backslash, "
                  "or `..;`) -> 400" if p is None else
                  f"none: the Host {host!r} is not a valid Host -> 400")
        p = p if p is not None else split_target(target)[0]  # as received
        hk = hk or ""
    elif spec.mesh:
        lis = choose_listener(spec, hk)
        reason = "mesh Service view: one rule table, the Host plays no part"
    else:
        lis = choose_listener(spec, hk)
        for other in spec.listeners:
            if other is lis:
                verdict = "chosen"
            elif listener_rank(other.hostname, hk) is not None:
                verdict = "matches, less specific"
            else:
                verdict = "hostname does not match"
            notes.append(ListenerNote(other.name, other.hostname, verdict))
        if lis is None:
            names = ", ".join(h or "(catch-all)" for h in (l.hostname for l in spec.listeners))
            reason = f"none: no listener hostname ({names}) matches {hk or '(no host)'} -> 404"
        else:
            reason = listener_reason(lis.hostname, hk)
            if sni is not None:
                sni_lis = choose_listener(spec, host_key(_text(sni)))
                if sni_lis is not lis:
                    reason += (f"; but SNI {_text(sni)} selects listener "
                               f"{sni_lis.name if sni_lis else '(none)'} -> 421 misdirected")
                    misdirected = True
    rows: list = []
    skipped: list = []
    if lis is not None and not misdirected:
        ranked = []
        for g in lis.groups:
            rank = (0, 0) if spec.mesh else host_rank(g.hostname, hk)
            if rank is None:
                skipped.append(g.hostname)
            else:
                ranked.append((rank, g))
        ranked.sort(key=lambda rg: rg[0])
        qmap = query_map(query)
        won = False
        for _, g in ranked:
            for e in g.entries:
                ok = entry_matches(e, method, p, hmap, qmap)
                if won:
                    state, why = NOT_REACHED, NOT_REACHED_REASON
                elif ok:
                    state, why, won = WON, None, True
                else:
                    state, why = MISS, miss_reason(e, method, p, hmap, qmap)
                rows.append(Row(position=len(rows) + 1, route=e.route, rule=e.rule,
                                rule_name=_rule_name(spec, e.outcome), match=e.match,
                                text=match_text(e), hostname=g.hostname, matched=ok,
                                state=state, reason=why))
    return Explanation(
        method=method, target=target, path=p, query=query, host=host, host_key=hk,
        mesh=spec.mesh, listener=None if spec.mesh or lis is None else lis.name,
        listener_hostname=None if lis is None else lis.hostname, listener_reason=reason,
        listeners=tuple(notes), skipped_hostnames=tuple(skipped), rows=tuple(rows),
        decision=decision)
